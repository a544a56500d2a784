"""SubRip (.srt) captions: numbered cues with `00:00:01,000 --> 00:00:03,000` timings. A
cue's speaker is its `Name:` (or `[Name]`) opening, as in a .vtt file without voices; the
transcript's text is one `Speaker: words` line per turn. A block that is not a cue is named
in a warning, or stops the run under --strict."""

from __future__ import annotations

import re

from copcode.errors import UnreadableFile
from copcode.ingest.text import decode
from copcode.ingest.vtt import captions_body, report_bad_cues


def read(raw: bytes, source: str, warnings: list[str], *, strict: bool = False):
    text = decode(raw, source, warnings)
    cues, bad = parse(text)
    if not cues:
        raise UnreadableFile("a SubRip (.srt) file with no cues", where=source,
                             fix="export the captions again as .srt, or save the transcript as .txt with "
                             "speaker labels.")
    report_bad_cues(bad, "block{s} that {are} not a cue",
                    "give each cue its number, then a line `00:01:02,500 --> 00:01:05,000`, then the words.",
                    source, warnings, strict)
    return captions_body([(None, cue) for cue in cues], "SubRip captions")


_TIMING = re.compile(r"^\s*\d+:\d{1,2}:\d{1,2}[,.]\d+\s*-->\s*\d+:\d{1,2}:\d{1,2}[,.]\d+")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|\{\\[^{}]*\}")  # <i>, <font ...>, {\an8}


def parse(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    """The cues' words (formatting tags taken out), and (line number, first line) of each
    block between empty lines that is not a cue: a number, a timing line, then words."""
    cues: list[str] = []
    bad: list[tuple[int, str]] = []
    block: list[str] = []
    start = 1
    for number, line in enumerate([*text.split("\n"), ""], 1):
        if line.strip():
            if not block:
                start = number
            block.append(line.rstrip("\r"))
            continue
        if block:
            timing = 1 if block[0].strip().isdigit() else 0  # the number is often left out
            if len(block) > timing and _TIMING.match(block[timing]):
                words = _TAG.sub("", "\n".join(block[timing + 1:])).strip()
                if words:
                    cues.append(words)
            else:
                bad.append((start, block[0]))
            block = []
    return cues, bad
