"""WebVTT captions as Teams and Zoom export them: `<v Speaker>` voices, or `Speaker: ` text.
Consecutive cues of one speaker become one turn, joined with a space; the transcript's text is
one line per turn, `Speaker: words`. A cue whose timing line is not valid is never dropped
silently: it is named in a warning, or stops the run under --strict."""

from __future__ import annotations

import io
import re

from copcode.errors import TranscriptError, UnreadableFile
from copcode.ingest.text import decode

_OTHER_BLOCKS = ("NOTE", "STYLE", "REGION")


def read(raw: bytes, source: str, warnings: list[str], *, strict: bool = False):
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    text = decode(raw, source, warnings)
    try:
        captions = webvtt.from_buffer(io.StringIO(text))
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise UnreadableFile(
            f"not a valid WebVTT file ({exc})",
            where=source,
            fix="export the transcript again as .vtt, or save it as .txt with speaker labels.",
        ) from None
    if not len(captions):
        raise UnreadableFile("a WebVTT file with no cues", where=source,
                             fix="export the transcript again; the file holds no captions.")
    bad = malformed_cues(text)
    report_bad_cues(bad, "cue{s} without a valid timing line",
                    "write each timing line as `00:01:02.500 --> 00:01:05.000`, or export the transcript again.",
                    source, warnings, strict)
    # webvtt's WebVTT is iterable through __getitem__, which its type hints do not say
    cues = [(caption.voice, caption.text) for caption in captions]  # type: ignore[attr-defined]
    return captions_body(cues, "WebVTT captions")


def report_bad_cues(bad: list[tuple[int, str]], kind: str, fix: str, source: str, warnings: list[str],
                    strict: bool) -> None:
    """Name the blocks of a caption file that are not cues, (line, first line) each: an error
    under --strict, else a warning (the good cues are read). `kind` says what they are, with
    {s} for the plural and {are} for is/are."""
    if not bad:
        return
    many = len(bad) > 1
    lines = ", ".join(str(n) for n, _ in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    what = (f"{len(bad)} {kind.format(s='s' * many, are='are' if many else 'is')} "
            f"(line{'s' * many} {lines}; first: {bad[0][1][:60]!r})")
    if strict:
        raise TranscriptError(what, where=f"{source}:{bad[0][0]}", fix=fix)
    warnings.append(f"{source}:{bad[0][0]}: {what}; left out. {fix[:1].upper()}{fix[1:]}")


def captions_body(cues: list[tuple[str | None, str]], kind: str):
    """The transcript of caption cues (voice or None, text): consecutive cues of one speaker
    joined with a space, one `Speaker: words` line per turn, and the turns. A cue without a
    voice that opens with `Name:` (or `[Name]`, or `>> Name:`) is that speaker's when the name
    opens two cues or more, is a known label, or when the file names speakers so (half its cues
    or more open with a name: then a person who speaks once is a speaker too); otherwise it
    goes on with the turn before."""
    from copcode.ingest.speakers import Body, _name_like, fold, is_known

    parsed = []
    for voice, text in cues:
        words = " ".join(line.strip() for line in text.splitlines() if line.strip())
        prefix = None
        if not voice:
            match = _PREFIX.match(words)
            if match and len((match["b"] or match["c"]).split()) <= 4:
                prefix, rest = (match["b"] or match["c"]).strip(), words[match.end():]
        parsed.append((voice, prefix, words, rest if prefix else ""))
    counts: dict[str, int] = {}
    for _, prefix, _, _ in parsed:
        if prefix:
            counts[fold(prefix)] = counts.get(fold(prefix), 0) + 1
    named = sum(1 for _, prefix, _, _ in parsed if prefix and _name_like(prefix))
    convention = named >= max(2, len(parsed) / 2)
    turns: list[list[str]] = []  # [speaker, words...]
    for voice, prefix, words, rest in parsed:
        speaker = voice
        if prefix and (is_known(prefix, "") or (counts[fold(prefix)] >= 2 or convention) and _name_like(prefix)):
            speaker, words = prefix, rest.strip()
        if not words:
            continue
        if turns and (not speaker or turns[-1][0] == speaker):
            turns[-1].append(words)
        else:
            turns.append([speaker or "", words])
    lines, spans, at = [], [], 0
    for speaker, *texts in turns:
        line = f"{speaker}: {' '.join(texts)}" if speaker else " ".join(texts)
        if speaker:
            spans.append((speaker, at + len(speaker) + 2, at + len(line)))
        lines.append(line)
        at += len(line) + 1
    return Body("\n".join(lines) + ("\n" if lines else ""), {}, kind, spans)


_PREFIX = re.compile(r"^(?:>>[ \t]*)?(?:\[(?P<b>[^\]\n]{1,40})\]|(?P<c>[^:\n]{1,40}):)[ \t]*")


def malformed_cues(text: str) -> list[tuple[int, str]]:
    """(line number, the line) for each block that is neither a cue with a valid timing line
    nor a NOTE, STYLE or REGION block: the blocks webvtt-py leaves out without a word. Blocks
    are split as webvtt-py splits them."""
    from webvtt.vtt import WebVTTCueBlock

    bad = []
    for start, block in _blocks(text.split("\n")):
        if block[0].startswith(_OTHER_BLOCKS) or WebVTTCueBlock.is_valid(block):
            continue
        # the timing line: the one with an arrow, else the digits after an identifier
        at = next((i for i, line in enumerate(block[:2]) if "-->" in line),
                  1 if len(block) > 1 and block[1][:1].isdigit() else 0)
        bad.append((start + at, block[at]))
    return bad


def _blocks(lines: list[str]):
    """(first line's number, lines) of each block after the file's header: a block ends at an
    empty line, or before a line with "-->" that cannot be its timing line."""
    block: list[str] = []
    start, in_header = 1, True
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line.strip() or (block and "-->" in line and (in_header or len(block) > 1 or "-->" in block[0])):
            if block and not in_header:
                yield start, block
            if block:
                in_header = False
            block = []
        if line.strip():
            if not block:
                start = number
            block.append(line)
    if block and not in_header:
        yield start, block
