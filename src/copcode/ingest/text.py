"""Plain-text and Markdown transcripts, with an optional YAML header between `---` lines."""

from __future__ import annotations

import codecs
import re

import yaml

from copcode.errors import TranscriptError, UnreadableFile

_HEADER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def decode(raw: bytes, source: str, warnings: list[str]) -> str:
    """The file's text with Windows line ends made plain: UTF-8 (a BOM is dropped), UTF-16
    with a BOM, or else Windows-1252, which is said in `warnings`. A binary file is refused."""
    fix = "save it as UTF-8 text (in Word: Save As > Plain Text > Unicode (UTF-8))."
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile("not valid UTF-16 text", where=source, fix=fix) from None
        warnings.append(f"{source}: decoded as UTF-16.")
    elif b"\x00" in raw[:4096]:
        raise UnreadableFile("looks like a binary file, not text", where=source,
                             fix="check that it is the transcript; " + fix)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise UnreadableFile("not UTF-8 or Windows-1252 text", where=source, fix=fix) from None
            warnings.append(f"{source}: not UTF-8; decoded as Windows-1252. Check its accents and quotes.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(raw: bytes, source: str, warnings: list[str]) -> tuple[str, dict]:
    """The text after the header, and the header's fields."""
    text = decode(raw, source, warnings)
    match = _HEADER.match(text)
    if not match:
        return text, {}
    try:
        # libyaml's safe loader when PyYAML has it: the same result, many times faster
        header = yaml.load(match.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError:
        exc = _python_yaml_error(match.group(1))  # its message and line are the clearer ones
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


def _python_yaml_error(text: str) -> yaml.YAMLError:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return exc
    return yaml.YAMLError("not valid YAML")
