"""Plain-text and Markdown transcripts, with an optional YAML header between `---` lines."""

from __future__ import annotations

import codecs
import re

from copcode import yamlsafe
from copcode.errors import TranscriptError, UnreadableFile

_HEADER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def decode(raw: bytes, source: str, warnings: list[str]) -> str:
    """The file's text with Windows line ends made plain: UTF-8 (a BOM is dropped), UTF-16
    with a BOM, or else Windows-1252, which is said in `warnings`. In a UTF-8 file with a few
    bytes that are not (one pasted from an older program), only those bytes are read as
    Windows-1252, and the warning names their lines. A binary file is refused."""
    fix = "save it as UTF-8 text (in Word: Save As > Plain Text > Unicode (UTF-8))."
    binary = UnreadableFile("looks like a binary file, not text", where=source,
                            fix="check that it is the transcript; " + fix)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile("not valid UTF-16 text", where=source, fix=fix) from None
        warnings.append(f"{source}: decoded as UTF-16.")
        return _plain_line_ends(text)
    if b"\x00" in raw:
        raise binary
    # the bytes that are not UTF-8 come back as lone surrogates U+DC80..U+DCFF, one per byte
    text = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    if _looks_binary(text):
        raise binary
    strays = list(_STRAY.finditer(text))
    if not strays:
        return _plain_line_ends(text)
    try:
        fixed = _STRAY.sub(lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode("cp1252"), text)
    except UnicodeDecodeError:
        raise UnreadableFile("not UTF-8 or Windows-1252 text", where=source, fix=fix) from None
    if any(ord(c) > 127 for c in _STRAY.sub("", text)):
        # some of it is UTF-8 (accents read right), so the rest is what went wrong
        lines: list[int] = []
        line, at = 1, 0
        for match in strays:
            line += text.count("\n", at, match.start())
            at = match.start()
            if not lines or lines[-1] != line:
                lines.append(line)
        shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        warnings.append(f"{source}: not all UTF-8; the bytes that are not, on line{'s' * (len(lines) > 1)} "
                        f"{shown}, decoded as Windows-1252. Check the accents and quotes there.")
    else:
        warnings.append(f"{source}: not UTF-8; decoded as Windows-1252. Check its accents and quotes.")
    return _plain_line_ends(fixed)


_STRAY = re.compile("[\udc80-\udcff]+")
# C0 controls other than tab, line ends, vertical tab (Word's manual line break) and form
# feed, and DEL: text has few, a binary file many
_CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    """Whether text decoded with surrogateescape reads like binary data (random bytes, say):
    more than 1 character in 5 not UTF-8 and more than 1 in 100 a control character. Text
    that is all UTF-8 is text whatever it holds; a Windows-1252 file has few stray bytes and
    next to no control characters."""
    if not text:
        return False
    strays = sum(len(m.group()) for m in _STRAY.finditer(text)) / len(text)
    return strays > 0.2 and sum(1 for _ in _CONTROL.finditer(text)) / len(text) > 0.01


def _plain_line_ends(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(raw: bytes, source: str, warnings: list[str]):
    """The text after the header, and the header's fields (see `split_header`)."""
    from copcode.ingest.speakers import Body

    text, header = split_header(decode(raw, source, warnings), source)
    return Body(text, header, "Markdown" if source.lower().endswith(".md") else "text")


def split_header(text: str, source: str) -> tuple[str, dict]:
    """The text after its YAML header between `---` lines, and the header's fields: each a
    text value (numbers, dates and true/false are written as text; an empty value or `null` is
    left out), except `speakers`: a list of names, a mapping of names to roles or ids, or
    "none"."""
    match = _HEADER.match(text)
    if not match:
        return text, {}
    fix = "correct the header between the two `---` lines, or remove it."
    try:
        header = yamlsafe.load(match.group(1), as_text=True) or {}
    except yamlsafe.YamlProblem as exc:
        where = f"{source}:{exc.line + 1}" if exc.line else source  # the header starts on line 2
        if exc.syntax:
            raise TranscriptError(f"the header is not valid YAML ({exc.problem})", where=where, fix=fix) from None
        raise TranscriptError(f"the header: {exc.problem}", where=where, fix=fix) from None
    if not isinstance(header, dict):
        raise TranscriptError(
            "the header must be `key: value` lines",
            where=source,
            fix="write the header as e.g. `participant: E05`.",
        )
    return text[match.end():], _checked(header, match.group(1), source)


def _checked(header: dict, header_text: str, source: str) -> dict:
    """The header with every value as text (and `speakers` as a list of texts)."""
    lines = header_text.split("\n")

    def where(key) -> str:
        found = next((n for n, line in enumerate(lines, 2) if re.match(rf"[ \t]*['\"]?{re.escape(str(key))}\b", line)), None)
        return f"{source}:{found}" if found else source

    out: dict = {}
    for key, value in header.items():
        if not isinstance(key, str):
            raise TranscriptError(f"the header key {key!r} is not a name", where=where(key),
                                  fix="write the header as `name: value` lines, e.g. `group: E`.")
        if value is None or (isinstance(value, str) and value.strip() in ("", "~", "null", "Null", "NULL")):
            continue
        if key == "speakers":
            out[key] = _speakers(value, where(key))
        elif isinstance(value, (list, dict)):
            kind = "a list" if isinstance(value, list) else "a mapping"
            raise TranscriptError(f"`{key}:` is {kind}; expected a text value", where=where(key),
                                  fix=f"write one value, e.g. `{key}: E05`." if key == "participant"
                                  else f"write one value, e.g. `{key}: some text`.")
        elif key == "synthetic":
            out[key] = value
        else:
            out[key] = str(value).strip()
    return out


SPEAKERS_FIX = ("write e.g. `speakers: {Tom: interviewer, Sarah: participant}` (a role or a participant id "
                "for each name), `speakers: [Anna, Ben]` or `speakers: none`.")


def _speakers(value, where: str):
    """The header's `speakers:`: "none" (a document without speakers), a mapping of names to
    `interviewer`, `participant` or a participant id, or a list of names that are speakers."""
    if isinstance(value, str) and value.strip().casefold() == "none":
        return "none"
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in value.items()):
            return {k.strip(): v.strip() for k, v in value.items()}
    elif isinstance(value, list) and all(isinstance(n, str) and n.strip() for n in value):
        return [n.strip() for n in value]
    raise TranscriptError("`speakers:` must be a list of speaker names, a mapping of names to roles, or none",
                          where=where, fix=SPEAKERS_FIX)
