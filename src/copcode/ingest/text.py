"""Plain-text and Markdown transcripts, with an optional YAML header between `---` lines."""

from __future__ import annotations

import re

import yaml

from copcode.errors import TranscriptError

_HEADER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text (a BOM is dropped) with Windows line ends made plain."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded)",
            where=source,
            fix="save the file as UTF-8 (in Word: Save As > Plain Text > Unicode (UTF-8)).",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(raw: bytes, source: str) -> tuple[str, dict]:
    """The text after the header, and the header's fields."""
    text = decode(raw, source)
    match = _HEADER.match(text)
    if not match:
        return text, {}
    try:
        header = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 2}" if mark else ""
        raise TranscriptError(
            f"the header is not valid YAML ({getattr(exc, 'problem', exc)})",
            where=f"{source}{line}",
            fix="correct the header between the two `---` lines, or remove it.",
        ) from None
    if not isinstance(header, dict):
        raise TranscriptError(
            "the header must be `key: value` lines",
            where=source,
            fix="write the header as e.g. `participant: E05`.",
        )
    return text[match.end():], header
