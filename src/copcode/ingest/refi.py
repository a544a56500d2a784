"""Reading REFI-QDA files (.qdpx, .qde, .qdc) written by NVivo, ATLAS.ti, MAXQDA, QualCoder or
copcode: codes, text sources, codings and cases, for `copcode import`.

It tolerates what other tools write: any namespace (ATLAS.ti and NVivo for Mac use variants),
a capitalised `Sources/` folder, text inline in `PlainTextContent`, and UTF-16 offsets
(`utf16=True`, as NVivo writes them)."""

from __future__ import annotations

import re
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from copcode.errors import CopcodeError
from copcode.export.refi import ID_LINE

@dataclass
class ImportedCode:
    id: str
    label: str
    description: str
    children: list["ImportedCode"] = field(default_factory=list)
    guid: str = ""
    codable: bool = True


@dataclass
class ImportedProject:
    codes: list[ImportedCode]
    sources: dict[str, str]  # name -> plain text
    codings: list[tuple[str, int, int, str, str]]  # source name, start, end, code guid, user name
    cases: dict[str, dict[str, str]]  # case name -> variable values
    problems: list[str]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _child(element, name):
    found = _children(element, name)
    return found[0] if found else None


def read_qdpx(path: Path, *, utf16: bool = False) -> ImportedProject:
    """Codes, sources and codings of a .qdpx (or a bare .qde / .qdc)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".qde", ".qdc"):
            archive, xml = None, path.read_bytes()
        else:
            archive = zipfile.ZipFile(path)
            qde = next((n for n in archive.namelist() if n.lower().endswith(".qde")), None)
            if qde is None:
                raise CopcodeError("the archive has no project.qde", where=str(path),
                                   fix="export the project again as REFI-QDA (.qdpx).")
            xml = archive.read(qde)
        root = ET.fromstring(xml)
    except (zipfile.BadZipFile, OSError, ET.ParseError) as exc:
        raise CopcodeError(f"not a readable REFI-QDA file ({type(exc).__name__})", where=str(path),
                           fix="export it again from the other program as .qdpx or .qdc.") from None
    problems: list[str] = []
    codebook_el = root if _local(root.tag) == "CodeBook" else _child(root, "CodeBook")
    codes_el = _child(codebook_el, "Codes") if codebook_el is not None else None
    codes = [_read_code(c) for c in _children(codes_el, "Code")] if codes_el is not None else []
    _unique_ids(codes, set())
    users = {u.get("guid"): u.get("name") or u.get("id") or "imported" for u in
             _children(_child(root, "Users"), "User")} if _child(root, "Users") is not None else {}
    sources, codings = {}, []
    sources_el = _child(root, "Sources")
    for source in (list(sources_el) if sources_el is not None else []):
        name = source.get("name") or source.get("guid")
        if _local(source.tag) != "TextSource":
            problems.append(f"source {name!r}: a {_local(source.tag)} is not text; left out")
            continue
        raw = _source_text(source, archive)
        if raw is None:
            problems.append(f"source {name!r}: its text is missing from the archive or not UTF-8; left out")
            continue
        # copcode reads line ends as "\n": offsets into the raw text move back by each "\r\n"
        sources[name] = raw.replace("\r\n", "\n").replace("\r", "\n")
        for selection in _children(source, "PlainTextSelection"):
            try:
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            except (TypeError, ValueError):
                problems.append(f"source {name!r}: a selection without valid positions; left out")
                continue
            if utf16:
                start, end = _from_utf16(raw, start), _from_utf16(raw, end)
            start, end = start - raw.count("\r\n", 0, start), end - raw.count("\r\n", 0, end)
            for coding in _children(selection, "Coding"):
                ref = _child(coding, "CodeRef")
                if ref is None:
                    problems.append(f"source {name!r} {start}-{end}: a coding without a code; left out")
                    continue
                user = users.get(coding.get("creatingUser"), "imported")
                codings.append((name, start, end, ref.get("targetGUID"), user))
    variables = {v.get("guid"): v.get("name") for v in _children(_child(root, "Variables"), "Variable")} \
        if _child(root, "Variables") is not None else {}
    cases = {}
    for case in (_children(_child(root, "Cases"), "Case") if _child(root, "Cases") is not None else []):
        values = {}
        for value in _children(case, "VariableValue"):
            ref, text = _child(value, "VariableRef"), _child(value, "TextValue")
            if ref is not None and text is not None and ref.get("targetGUID") in variables:
                values[variables[ref.get("targetGUID")]] = text.text or ""
        cases[case.get("name") or case.get("guid")] = values
    return ImportedProject(codes, sources, codings, cases, problems)


def _read_code(element) -> ImportedCode:
    description = _child(element, "Description")
    text = (description.text or "") if description is not None else ""
    found = ID_LINE.search(text)
    name = element.get("name", "")
    code_id = found.group(1) if found else (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "code")
    body = ID_LINE.sub("", text).strip()
    return ImportedCode(code_id, name, body, [_read_code(c) for c in _children(element, "Code")],
                        element.get("guid", ""), element.get("isCodable", "true") == "true")


def _unique_ids(codes: list[ImportedCode], seen: set[str]) -> None:
    """Two codes whose names make the same id ("Shared language", "Shared  Language") get
    "-2", "-3"."""
    for code in codes:
        base, n = code.id, 1
        while code.id in seen:
            n += 1
            code.id = f"{base}-{n}"
        seen.add(code.id)
        _unique_ids(code.children, seen)


def _source_text(source, archive) -> str | None:
    """The source's plain text as stored (line ends untouched: offsets count them)."""
    inline = _child(source, "PlainTextContent")
    if inline is not None and inline.text:
        return inline.text
    path = source.get("plainTextPath") or ""
    if not path.startswith("internal://") or archive is None:
        return None
    wanted = path.removeprefix("internal://").lower()
    for member in archive.namelist():
        folder, _, file = member.rpartition("/")
        if folder.lower() == "sources" and file.lower() == wanted:
            try:
                return archive.read(member).decode("utf-8-sig")
            except UnicodeDecodeError:
                return None
    return None


def _from_utf16(text: str, offset: int) -> int:
    """A UTF-16 code-unit offset into `text` as a code-point index."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)
