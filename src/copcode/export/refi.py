"""REFI-QDA 1.0: `.qdpx` projects and `.qdc` codebooks that NVivo, ATLAS.ti, MAXQDA and
QualCoder open, and the import of such files written by those tools.

Export: themes are codes that hold the codebook's codes; each transcript is a text source
(`sources/<guid>.txt`, its plain text); each accepted coding is a plain-text selection of the
quote with one coding per coder who accepted it (suggestions only when asked, under their
own user); participants are cases with their attributes as text variables. Offsets are code
points, end-exclusive. GUIDs are derived from names, so exporting twice gives the same ids.

Import tolerates what other tools write: any namespace (ATLAS.ti and NVivo for Mac use
variants), a capitalised `Sources/` folder, text inline in `PlainTextContent`, and UTF-16
offsets (`utf16=True`, as NVivo writes them)."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from copcode.errors import CopcodeError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_GUIDS = uuid.UUID("8a3f0a52-6f1e-4f57-9b61-2f6c0de0c0de")
COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
SUGGESTIONS_USER = "copcode suggestions"
ID_LINE = re.compile(r"^copcode id: ([a-z0-9][a-z0-9_-]*)$", re.M)


def guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_GUIDS, f"{kind}:{name}"))


def _codes_xml(parent: ET.Element, codebook, ns: str) -> None:
    codes = ET.SubElement(parent, f"{{{ns}}}Codes")
    for index, theme in enumerate(codebook.themes):
        colour = COLOURS[index % len(COLOURS)]
        theme_el = ET.SubElement(codes, f"{{{ns}}}Code", guid=guid("theme", theme.id), name=theme.label,
                                 isCodable="false", color=colour)
        ET.SubElement(theme_el, f"{{{ns}}}Description").text = \
            f"{theme.description.strip()}\n\ncopcode id: {theme.id}".strip()
        for code in theme.codes:
            code_el = ET.SubElement(theme_el, f"{{{ns}}}Code", guid=guid("code", code.id),
                                    name=code.label, isCodable="true", color=colour)
            parts = [code.definition.strip(), f"Include: {code.include.strip()}" if code.include else "",
                     f"Exclude: {code.exclude.strip()}" if code.exclude else "", f"copcode id: {code.id}"]
            ET.SubElement(code_el, f"{{{ns}}}Description").text = "\n\n".join(p for p in parts if p)


def codebook_xml(codebook) -> bytes:
    """The codebook as a REFI-QDA `.qdc` document."""
    ET.register_namespace("", CODEBOOK_NS)
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", origin="copcode")
    _codes_xml(root, codebook, CODEBOOK_NS)
    return _serialise(root)


def project_qdpx(store, codebook, name: str, *, include_suggestions: bool = False,
                 redactor=None) -> bytes:
    """The project as a REFI-QDA `.qdpx` archive (project.qde and sources/). With a
    `redactor`, sources are pseudonymised and selections moved to match."""
    from copcode.tables import codings

    ns = PROJECT_NS
    ET.register_namespace("", ns)
    frame = codings(store, codebook)
    transcripts = store.db.execute("SELECT id, participant, source, text, attributes FROM transcripts ORDER BY id").fetchall()
    selections: dict[str, list] = {}
    users: dict[str, str] = {"copcode": guid("user", "copcode")}
    for row in frame.itertuples(index=False):
        coders = []
        if row.status.startswith("accepted by "):
            coders = row.status.removeprefix("accepted by ").split(", ")
        elif include_suggestions and row.status == "suggested":
            coders = [SUGGESTIONS_USER]
        if not coders:
            continue
        for coder in coders:
            users.setdefault(coder, guid("user", coder))
        selections.setdefault(row.transcript, []).append((row.quote_start, row.quote_end, row.code, coders))

    root = ET.Element(f"{{{ns}}}Project", name=name, origin="copcode",
                      creatingUserGUID=users["copcode"])
    users_el = ET.SubElement(root, f"{{{ns}}}Users")
    for user, user_guid in users.items():
        ET.SubElement(users_el, f"{{{ns}}}User", guid=user_guid, name=user)
    _codes_xml(ET.SubElement(root, f"{{{ns}}}CodeBook"), codebook, ns)

    import json

    attributes = {t["id"]: json.loads(t["attributes"]) for t in transcripts}
    variables = sorted({key for values in attributes.values() for key in values})
    if variables:
        variables_el = ET.SubElement(root, f"{{{ns}}}Variables")
        for variable in variables:
            ET.SubElement(variables_el, f"{{{ns}}}Variable", guid=guid("variable", variable),
                          name=variable, typeOfVariable="Text")
    cases_el = ET.SubElement(root, f"{{{ns}}}Cases")
    for t in transcripts:
        case = ET.SubElement(cases_el, f"{{{ns}}}Case", guid=guid("case", t["participant"]), name=t["participant"])
        for variable in variables:
            if variable in attributes[t["id"]]:
                value = ET.SubElement(case, f"{{{ns}}}VariableValue")
                ET.SubElement(value, f"{{{ns}}}VariableRef", targetGUID=guid("variable", variable))
                text_value = attributes[t["id"]][variable]
                ET.SubElement(value, f"{{{ns}}}TextValue").text = redactor.redact(text_value) if redactor else text_value
        ET.SubElement(case, f"{{{ns}}}SourceRef", targetGUID=guid("source", t["id"]))

    sources_el = ET.SubElement(root, f"{{{ns}}}Sources")
    files = {}
    for t in transcripts:
        source_guid = guid("source", t["id"])
        source = ET.SubElement(sources_el, f"{{{ns}}}TextSource", guid=source_guid, name=t["id"],
                               plainTextPath=f"internal://{source_guid}.txt")
        text, moved = redactor.redact_mapped(t["text"]) if redactor else (t["text"], lambda i: i)
        files[f"sources/{source_guid}.txt"] = text.encode("utf-8")
        for old_start, old_end, code, coders in sorted(selections.get(t["id"], [])):
            start, end = moved(old_start), moved(old_end)
            selection = ET.SubElement(source, f"{{{ns}}}PlainTextSelection",
                                      guid=guid("selection", f"{t['id']}:{start}:{end}:{code}"),
                                      name=text[start:end][:60], startPosition=str(start),
                                      endPosition=str(end))
            for coder in coders:
                coding = ET.SubElement(selection, f"{{{ns}}}Coding",
                                       guid=guid("coding", f"{t['id']}:{start}:{end}:{code}:{coder}"),
                                       creatingUser=users[coder])
                ET.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=guid("code", code))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", _serialise(root))
        for path, data in files.items():
            zf.writestr(path, data)
    return archive.getvalue()


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- import

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
