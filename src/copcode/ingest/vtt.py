"""WebVTT captions as Teams and Zoom export them: `<v Speaker>` voices, or `Speaker: ` text.
Consecutive cues of one speaker become one turn, joined with a space; the transcript's text is
one line per turn, `Speaker: words`."""

from __future__ import annotations

import io

from copcode.errors import UnreadableFile
from copcode.ingest.text import decode


def read(raw: bytes, source: str, warnings: list[str]) -> tuple[str, dict]:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        captions = webvtt.from_buffer(io.StringIO(decode(raw, source, warnings)))
    except MalformedFileError as exc:
        raise UnreadableFile(
            f"not a valid WebVTT file ({exc})",
            where=source,
            fix="export the transcript again as .vtt, or save it as .txt with speaker labels.",
        ) from None
    if not len(captions):
        raise UnreadableFile("a WebVTT file with no cues", where=source,
                             fix="export the transcript again; the file holds no captions.")
    turns: list[list[str]] = []  # [speaker, words...]
    for caption in captions:
        words = " ".join(line.strip() for line in caption.text.splitlines() if line.strip())
        speaker = caption.voice
        if not speaker and ":" in words:
            head, rest = words.split(":", 1)
            if head and len(head) <= 40:
                speaker, words = head.strip(), rest.strip()
        if not words:
            continue
        if turns and speaker and turns[-1][0] == speaker:
            turns[-1].append(words)
        else:
            turns.append([speaker or "", words])
    lines = [f"{t[0]}: {' '.join(t[1:])}" if t[0] else " ".join(t[1:]) for t in turns]
    speakers = sorted({t[0] for t in turns if t[0]})
    return "\n".join(lines) + ("\n" if lines else ""), {"speakers": speakers}
