"""Reading REFI-QDA files (.qdpx, .qde, .qdc) written by NVivo, ATLAS.ti, MAXQDA, QualCoder or
copcode: codes, text sources, codings (with the notes that refer to them) and cases, for
`copcode import`.

It tolerates what other tools write: any namespace (ATLAS.ti and NVivo for Mac use variants),
a capitalised `Sources/` folder, text inline in `PlainTextContent`, GUIDs in either case and in
braces, and offsets in UTF-16 code units (as NVivo writes them), detected from the selections'
text where the file gives it, else from the exporting software, or as `utf16` says.

Every coding is recorded or said: codings of a whole source (copcode codes passages), codings
by "copcode suggestions" (copcode's own suggestions, exported with --suggestions) and codings
in what cannot be read are left out and counted with the reason; codings of no known user come
in as the coder "imported", and are counted.

It trusts nothing else: the XML is parsed by defusedxml (no entity expansion, no external
entities), the archive's members are size-checked before they are decompressed and read with
a cap, code trees are walked without recursion, and an element that would make the import
ambiguous (two sources with one name, two codes with one guid, a nameless source, case,
variable or user) stops it with a message that names the element."""

from __future__ import annotations

import re
import zipfile
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from copcode.errors import CopcodeError
from copcode.export.refi import ID_LINE, SUGGESTIONS_USER
from copcode.ingest.zipsafe import MAX_RATIO, RATIO_FROM, UnsafeArchive, read_member
from copcode.project import NotAFile, read_regular_file, special_kind

MiB = 1024 * 1024
# What one import may read. A REFI-QDA project's XML and its text sources are small beside
# these; the media files an archive may also hold (audio, video, PDF) are never read.
MAX_XML = 64 * MiB  # project.qde, or a bare .qde / .qdc
MAX_SOURCE = 16 * MiB  # one text source (a transcript of 16 MiB is about 2.5 million words)
MAX_TOTAL = 256 * MiB  # everything read from one archive
# Characters of notes one import carries onto codings. Each decision keeps its own copy, so a
# file whose thousands of codings refer to one long note must not multiply it into the store.
MAX_NOTES = 16 * MiB
READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
METHODS = {9: "Deflate64", 10: "PKWARE DCL Implode", 93: "Zstandard", 95: "XZ", 98: "PPMd",
           99: "WinZip AES encryption"}
EXPORT_AGAIN = "export it again from the other program as .qdpx or .qdc."
IMPORTABLE = ("give a REFI-QDA project (.qdpx) or codebook (.qdc), a Taguette project (.sqlite3), or a table of "
              "codings (.csv, .xlsx).")


@dataclass
class ImportedCode:
    id: str
    label: str
    description: str
    children: list[ImportedCode] = field(default_factory=list)
    guid: str = ""
    codable: bool = True


@dataclass
class ImportedProject:
    codes: list[ImportedCode]
    sources: dict[str, str]  # name -> plain text
    codings: list[tuple[str, int, int, str, str, str]]  # source name, start, end, code guid, user name, note ("": none)
    cases: dict[str, dict[str, str]]  # case name -> variable values
    problems: list[str]
    source_guids: dict[str, str] = field(default_factory=dict)  # source name -> its guid
    source_kind: str = "TextSource"  # how messages name a source: "TextSource", "Document" (Taguette)
    notes: list[str] = field(default_factory=list)  # how the file was read (its offsets' unit)
    origin: str = ""  # the software that wrote the file, as its root element says ("copcode")


def walk(codes: list[ImportedCode]):
    """Every code of the tree, parents before their children, in document order; iterative,
    so a tree of any depth is fine."""
    stack = list(reversed(codes))
    while stack:
        code = stack.pop()
        yield code
        stack.extend(reversed(code.children))


def describe(code: ImportedCode) -> str:
    """How a message names an imported code: "Code 'Trust' (guid 2222...)"."""
    return f"Code {code.label!r}" + (f" (guid {code.guid})" if code.guid else "")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _local(child.tag) == name] if element is not None else []


def _child(element, name):
    found = _children(element, name)
    return found[0] if found else None


def guid_of(value: str | None) -> str:
    """A GUID as copcode compares it: REFI-QDA programs write them in either case and some
    in braces ("{2222...}"), so every GUID read from a file goes through here."""
    return (value or "").strip().strip("{}").strip().lower()


def _refuse(path: Path, what: str, fix: str) -> CopcodeError:
    return CopcodeError(what, where=str(path), fix=fix)


def read_qdpx(path: Path, *, utf16: bool | None = None) -> ImportedProject:
    """Codes, sources and codings of a .qdpx (or a bare .qde / .qdc), every offset as an index
    into the source's text with line ends made "\\n"; CopcodeError for a file that cannot be
    read safely or whose elements are ambiguous. `utf16` None: detect whether offsets count
    UTF-16 code units (see `_offset_reading`); True or False: as told."""
    path = Path(path)
    archive = None
    budget = [MAX_TOTAL]  # what is left to read from the archive, in bytes
    try:
        kind = special_kind(path)
        if kind or not path.exists():
            raise _refuse(path, f"is {kind}, not a REFI-QDA file" if kind else "no such file",
                          IMPORTABLE)
        if path.suffix.lower() in (".qde", ".qdc"):
            try:
                xml = read_regular_file(path, limit=MAX_XML)
            except NotAFile as exc:
                raise _refuse(path, f"the file is {exc}, too large to import",
                              "check that it is the REFI-QDA file; " + EXPORT_AGAIN) from None
        else:
            archive = zipfile.ZipFile(path)
            members = _members(archive)
            qde = next((i for n, i in members.items() if n.endswith(".qde") and "/" not in n), None) \
                or next((i for n, i in members.items() if n.endswith(".qde")), None)
            if qde is None:
                raise _refuse(path, "the archive has no project.qde",
                              "export the project again as REFI-QDA (.qdpx).")
            xml = _read(archive, qde, MAX_XML, budget, path)
        root = SafeET.fromstring(xml)
        return _project(path, root, archive, utf16, budget)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ParseError) as exc:
        raise _refuse(path, f"not a readable REFI-QDA file ({type(exc).__name__})", EXPORT_AGAIN) from None
    except DefusedXmlException as exc:
        raise _refuse(path, f"project XML declares entities or external references ({type(exc).__name__}), "
                      "which copcode does not expand", EXPORT_AGAIN) from None
    finally:
        if archive is not None:
            archive.close()


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by lower-cased name (REFI-QDA names are case-insensitive)."""
    return {info.filename.lower(): info for info in archive.infolist() if not info.is_dir()}


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: list[int], path: Path) -> bytes:
    """A member's bytes, checked before anything is decompressed (encryption, method, declared
    size, ratio, what is left of the archive's budget) and read with a cap."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise _refuse(path, f"{name} in the archive is encrypted",
                      "export the project again without a password.")
    if info.compress_type not in READABLE:
        method = METHODS.get(info.compress_type, f"compression method {info.compress_type}")
        raise _refuse(path, f"{name} in the archive is compressed with {method}, which copcode cannot read",
                      "export the project again; or unzip it and zip it again with ordinary (Deflate) "
                      "compression, keeping the .qdpx ending.")
    bomb = "check where the file came from; a REFI-QDA project's text is far smaller. " \
           "If it is genuine, import its parts separately."
    if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise _refuse(path, f"{name} in the archive expands {ratio:.0f} times (at most {MAX_RATIO} times): "
                      "refused as a zip bomb", bomb)
    if info.file_size > budget[0]:
        raise _refuse(path, f"the archive's XML and text expand to more than {MAX_TOTAL // MiB} MiB, "
                      "too large to import", bomb)
    try:
        data = read_member(archive, info, limit=min(limit, budget[0]))
    except UnsafeArchive as exc:
        raise _refuse(path, f"{exc}: too large to import", bomb) from None
    except (NotImplementedError, RuntimeError) as exc:  # a method or module this Python lacks
        raise _refuse(path, f"{name} in the archive cannot be decompressed ({exc})",
                      "export the project again.") from None
    budget[0] -= len(data)
    return data


@dataclass
class _Selection:
    start: int  # as the file writes them
    end: int
    name: str  # the selection's name: NVivo and copcode write its text (or the start of it) there
    codings: list[tuple[str, str, str]]  # (code guid, user name, note: the text of its NoteRefs, "" for none)


def _project(path: Path, root, archive, utf16: bool | None, budget: list[int]) -> ImportedProject:
    problems: list[str] = []
    codebook_el = root if _local(root.tag) == "CodeBook" else _child(root, "CodeBook")
    codes = _read_codes(_child(codebook_el, "Codes"))
    check_codes(path, codes)
    unique_ids(codes)
    users, nameless = _users(path, root)
    members = _members(archive) if archive is not None else {}
    notes, note_elements = _notes(root, archive, members, budget, path)
    used: set[str] = set()  # the guids of the notes that codings refer to
    unknown_notes = 0  # NoteRefs of codings to no Note in the file
    raw_texts: dict[str, str] = {}  # source name -> its text as stored (offsets count its "\r\n")
    selections: dict[str, list[_Selection]] = {}
    guids: dict[str, str] = {}  # source name -> its guid
    whole: dict[str, int] = {}  # source name -> its codings of the whole source (no selection)
    # why codings are recorded as by the coder "imported": reason -> how many codings
    no_user = {"without a creatingUser": 0, "whose creatingUser is not in <Users>": 0,
               "by a User without a name": 0}
    suggestions = 0  # codings by SUGGESTIONS_USER: copcode's suggestions, exported with --suggestions
    sources_el = _child(root, "Sources")
    for number, source in enumerate(list(sources_el) if sources_el is not None else [], start=1):
        kind, source_guid = _local(source.tag), guid_of(source.get("guid"))
        name = (source.get("name") or "").strip()
        if kind == "TextSource" and not name:
            raise _refuse(path, f"the TextSource {_which(source_guid, number, 'Sources')} has no name",
                          "name the source in the other program (its name becomes the participant id) "
                          "and export again.")
        if kind != "TextSource":
            problems.append(f"source {name or source_guid!r}: {_a(kind)} is not text; left out{_with(source)}")
            continue
        if name in guids:
            raise _refuse(path, f"two TextSources are named {name!r} (guids {guids[name]} and {source_guid})",
                          "give each source its own name in the other program and export again.")
        guids[name] = source_guid
        raw, why = _source_text_or_why(source, archive, members, budget, path)
        if raw is None:
            problems.append(f"source {name!r}: {why}; left out{_with(source)}")
            continue
        raw_texts[name] = raw
        if count := len(_children(source, "Coding")):
            whole[name] = count
        found = selections[name] = []
        for selection in _children(source, "PlainTextSelection"):
            try:
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            except (TypeError, ValueError):
                problems.append(f"source {name!r}: a selection without valid positions; left out{_with(selection)}")
                continue
            codings = []
            for coding in _children(selection, "Coding"):
                ref = _child(coding, "CodeRef")
                if ref is None:
                    problems.append(f"source {name!r} {start}-{end}: a coding without a code; left out")
                    continue
                creator = guid_of(coding.get("creatingUser"))
                user = users.get(creator)
                if user == SUGGESTIONS_USER:
                    suggestions += 1
                    continue
                if user is None or creator in nameless:
                    reason = "by a User without a name" if user is not None else \
                        "whose creatingUser is not in <Users>" if creator else "without a creatingUser"
                    no_user[reason] += 1
                    user = "imported"
                refs = [guid_of(note_ref.get("targetGUID")) for note_ref in _children(coding, "NoteRef")]
                used.update(refs)
                unknown_notes += sum(1 for r in refs if r not in notes)
                note = "\n\n".join(text for r in dict.fromkeys(refs) if (text := notes.get(r)) and text.strip())
                codings.append((guid_of(ref.get("targetGUID")), user, note))
            found.append(_Selection(start, end, selection.get("name") or "", codings))
    if whole:
        problems.append(f"{sum(whole.values())} coding(s) of whole sources (no selection), in {_names(whole)}: "
                        "copcode codes passages; left out. Code the passages in the other program, or record "
                        "what is true of a whole interview in participants.csv")
    if suggestions:
        problems.append(f"{suggestions} coding(s) by {SUGGESTIONS_USER!r} are copcode's suggestions, not a "
                        "coder's decisions; left out")
    file_notes = []
    if sum(no_user.values()):
        reasons = ", ".join(f"{n} {reason}" for reason, n in no_user.items() if n)
        file_notes.append(f"{sum(no_user.values())} coding(s) have no known user ({reasons}): they count as the "
                          "coder 'imported'. To keep who coded them, name their user in the other program and "
                          "export again")
    utf16, offsets = _offset_reading(raw_texts, selections, utf16, root.get("origin") or "")
    sources: dict[str, str] = {}
    codings_out = []
    carried, too_much = 0, 0  # characters of notes carried; codings whose notes are past MAX_NOTES
    for name, raw in raw_texts.items():
        # copcode reads line ends as "\n": offsets into the raw text move back by each "\r\n"
        sources[name] = raw.replace("\r\n", "\n").replace("\r", "\n")
        # where the "\r\n" and the characters outside the BMP are, found once: a source may
        # carry thousands of selections, and counting from the start for each is quadratic
        crlf = [m.start() for m in re.finditer("\r\n", raw)]
        astral = astral_indices(raw) if utf16 else []
        for selection in selections[name]:
            start, end = selection.start, selection.end
            units = len(raw) + len(astral)  # the text's length as the file counts it
            if not 0 <= start < end <= units:
                what = "an empty selection" if 0 <= end == start <= units else \
                    "a selection whose end is before its start" if 0 <= end < start <= units else \
                    f"a selection outside its text ({units} {_unit(utf16)})"
                problems.append(f"source {name!r} {start}-{end}: {what}; left out{_counted(len(selection.codings))}")
                continue
            if utf16:
                start, end = _from_utf16(raw, start, astral), _from_utf16(raw, end, astral)
            start, end = start - bisect_left(crlf, start - 1), end - bisect_left(crlf, end - 1)
            for code, user, note in selection.codings:
                if note and carried + len(note) > MAX_NOTES:
                    too_much, note = too_much + 1, ""
                carried += len(note)
                codings_out.append((name, start, end, code, user, note))
    if unknown_notes:
        problems.append(f"{unknown_notes} note reference(s) of codings name no Note in the file; "
                        "those notes are left out")
    unreadable = sum(1 for note_guid in used if note_guid in notes and notes[note_guid] is None)
    if unreadable:
        problems.append(f"{unreadable} note(s) on codings have no plain text (inline or in sources/) "
                        "that copcode can read; left out")
    if too_much:
        problems.append(f"the notes of {too_much} coding(s): together the notes of the file's codings are "
                        f"more than {MAX_NOTES // MiB} MiB; those codings are recorded without them")
    seen: set[str] = set()
    memos = 0  # Notes no coding refers to (memos on sources, codes, the project), and repeated guids
    for note_guid in note_elements:
        memos += note_guid not in used or note_guid in seen
        seen.add(note_guid)
    if memos:
        problems.append(f"{memos} memo{'s' * (memos != 1)} on sources/codes {'are' if memos != 1 else 'is'} "
                        "not carried over")
    cases = _cases(path, root)
    return ImportedProject(codes, sources, codings_out, cases, problems, guids,
                           notes=([offsets] if offsets else []) + file_notes, origin=(root.get("origin") or "").strip())


def _notes(root, archive, members, budget: list[int], path: Path) -> tuple[dict[str, str | None], list[str]]:
    """The project's Notes (memos): guid -> its plain text, inline or in the archive, line ends
    made "\n" (None: it has none that can be read, e.g. only rich text), the first Note of
    each guid; and every Note element's guid, in order."""
    notes: dict[str, str | None] = {}
    elements = []
    for note in _children(_child(root, "Notes"), "Note"):
        note_guid = guid_of(note.get("guid"))
        elements.append(note_guid)
        if note_guid not in notes:
            text, _ = _source_text_or_why(note, archive, members, budget, path)
            notes[note_guid] = None if text is None else text.replace("\r\n", "\n").replace("\r", "\n")
    return notes, elements


def _with(element) -> str:
    """ " with its 3 codings", for what is left out: the Coding elements inside `element`."""
    return _counted(sum(1 for child in element.iter() if _local(child.tag) == "Coding"))


def _counted(codings: int) -> str:
    return f" with its {codings} coding{'s' * (codings != 1)}" if codings else ""


def _a(word: str) -> str:
    """ "an AudioSource", "a PDFSource"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _names(counts: dict[str, int], shown: int = 5) -> str:
    """ "'E01' and 'E02'", "'E01', 'E02', ... and 4 more": the sources a message is about."""
    names = [repr(name) for name in counts]
    if len(names) > shown:
        names = names[:shown - 1] + [f"{len(names) - shown + 1} more"]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def astral_indices(text: str) -> list[int]:
    """The indices of the characters outside the BMP (two UTF-16 code units each)."""
    return [m.start() for m in re.finditer("[\U00010000-\U0010FFFF]", text)]


def _offset_reading(raw_texts: dict[str, str], selections: dict[str, list[_Selection]], utf16: bool | None,
                    origin: str) -> tuple[bool, str]:
    """Whether the offsets count UTF-16 code units (True) or characters, and what to tell the
    user about it ("" when the two readings give the same spans, so the question does not
    arise). As `utf16` says when it is given; else by the selections' names, where NVivo and
    copcode write the selected text: the reading under which more names match the text they
    select wins; else by the exporting software (NVivo counts UTF-16 units; the others
    characters)."""
    votes = {True: 0, False: 0}
    differ = False
    for name, raw in raw_texts.items():
        astral = astral_indices(raw)
        if not astral:
            continue  # no character outside the BMP: both readings are the same
        for selection in selections[name]:
            if not 0 <= selection.start < selection.end <= len(raw) + len(astral):
                continue  # said when the codings are read
            as_units = (_from_utf16(raw, selection.start, astral), _from_utf16(raw, selection.end, astral))
            as_characters = (selection.start, selection.end)
            if as_units == as_characters:
                continue
            differ = True
            told = _fold(selection.name).removesuffix("...").removesuffix("\u2026").strip()
            if told:
                for reading, (start, end) in ((True, as_units), (False, as_characters)):
                    # only as much of the text as the name can match: the work stays within the
                    # names' length, however many long selections the file holds
                    votes[reading] += _fold(raw[start:min(end, start + 4 * len(told) + 64)]).startswith(told)
    if utf16 is not None:
        return utf16, (f"offsets read as {_unit(utf16)} (--{'' if utf16 else 'no-'}utf16)" if differ else "")
    if votes[True] != votes[False]:
        utf16 = votes[True] > votes[False]
        return utf16, f"offsets read as {_unit(utf16)} (detected from the selection text)"
    utf16 = "nvivo" in origin.casefold()
    if not differ:
        return utf16, ""
    why = f"detected from the exporting software, {origin.strip()}" if utf16 else \
        "the REFI-QDA reading; nothing in the file says UTF-16"
    return utf16, f"offsets read as {_unit(utf16)} ({why})"


def _unit(utf16: bool) -> str:
    return "UTF-16 code units" if utf16 else "Unicode characters"


def _fold(text: str) -> str:
    """White space folded: a name in an XML attribute may have its line ends made spaces."""
    return " ".join(text.split())


def _which(element_guid: str, number: int, parent: str) -> str:
    return f"with guid {element_guid}" if element_guid else f"number {number} in <{parent}>"


def _read_codes(codes_el) -> list[ImportedCode]:
    """The code tree, read without recursion (a file may nest codes thousands deep)."""
    top: list[ImportedCode] = []
    stack = [(element, top) for element in reversed(_children(codes_el, "Code"))]
    while stack:
        element, siblings = stack.pop()
        code = _code(element)
        siblings.append(code)
        stack.extend((child, code.children) for child in reversed(_children(element, "Code")))
    return top


def _code(element) -> ImportedCode:
    description = _child(element, "Description")
    text = (description.text or "") if description is not None else ""
    found = ID_LINE.search(text)
    name = element.get("name", "")
    code_id = found.group(1) if found else id_from(name)
    body = ID_LINE.sub("", text).strip()
    return ImportedCode(code_id, name, body, [], guid_of(element.get("guid")),
                        element.get("isCodable", "true") == "true")


def id_from(name: str) -> str:
    """A code id from a code's name: "Shared language" -> "shared-language"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "code"


def check_codes(path: Path, codes: list[ImportedCode]) -> None:
    """Two codes with one guid would file one's codings under the other."""
    seen: dict[str, ImportedCode] = {}
    for code in walk(codes):
        if code.guid and code.guid in seen:
            raise _refuse(path, f"two Codes have the guid {code.guid} ({seen[code.guid].label!r} and "
                          f"{code.label!r})", "export the project again; each code needs its own guid.")
        seen.setdefault(code.guid, code)


def unique_ids(codes: list[ImportedCode]) -> None:
    """Two codes whose names make the same id ("Shared language", "Shared  Language") get
    "-2", "-3"."""
    seen: set[str] = set()
    for code in walk(codes):
        base, n = code.id, 1
        while code.id in seen:
            n += 1
            code.id = f"{base}-{n}"
        seen.add(code.id)


def _users(path: Path, root) -> tuple[dict[str, str], set[str]]:
    """User guid -> the name their codings are recorded under (a coder's name; "imported" for a
    user with neither name nor id), and the guids of those nameless users."""
    users, nameless = {}, set()
    for number, user in enumerate(_children(_child(root, "Users"), "User"), start=1):
        name, user_guid = user.get("name"), guid_of(user.get("guid"))
        if name is not None and not name.strip():
            raise _refuse(path, f"the User {_which(user_guid, number, 'Users')} has a blank name "
                          f"({name!r}); their codings would have no coder",
                          "give the user a name in the other program (it becomes the coder's name) "
                          "and export again.")
        users[user_guid] = (name or user.get("id") or "").strip() or "imported"
        if not (name or user.get("id") or "").strip():
            nameless.add(user_guid)
    return users, nameless


def _cases(path: Path, root) -> dict[str, dict[str, str]]:
    """Case name -> {variable name: value}."""
    variables: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, variable in enumerate(_children(_child(root, "Variables"), "Variable"), start=1):
        variable_guid, name = guid_of(variable.get("guid")), (variable.get("name") or "").strip()
        if not name:
            raise _refuse(path, f"the Variable {_which(variable_guid, number, 'Variables')} has no name",
                          "name the variable in the other program and export again.")
        if name in names:
            raise _refuse(path, f"two Variables are named {name!r} (guids {names[name]} and {variable_guid})",
                          "give each variable its own name in the other program and export again.")
        names[name] = variable_guid
        variables[variable_guid] = name
    cases: dict[str, dict[str, str]] = {}
    guids: dict[str, str] = {}
    for number, case in enumerate(_children(_child(root, "Cases"), "Case"), start=1):
        case_guid, name = guid_of(case.get("guid")), (case.get("name") or "").strip()
        if not name:
            raise _refuse(path, f"the Case {_which(case_guid, number, 'Cases')} has no name",
                          "name the case in the other program (its name is the participant id) "
                          "and export again.")
        if name in cases:
            raise _refuse(path, f"two Cases are named {name!r} (guids {guids[name]} and {case_guid})",
                          "give each case its own name in the other program and export again.")
        guids[name] = case_guid
        values = {}
        for value in _children(case, "VariableValue"):
            ref = _child(value, "VariableRef")
            # TextValue, BooleanValue, IntegerValue, FloatValue, DateValue, DateTimeValue
            typed = next((c for c in value if _local(c.tag).endswith("Value")), None)
            if ref is not None and typed is not None and guid_of(ref.get("targetGUID")) in variables:
                values[variables[guid_of(ref.get("targetGUID"))]] = (typed.text or "").strip()
        cases[name] = values
    return cases


def _source_text_or_why(source, archive, members, budget: list[int], path: Path) -> tuple[str | None, str]:
    """The source's (or note's) plain text as stored (line ends untouched: offsets count them),
    and ""; or None and why there is none that copcode reads. Only text inside the archive is
    read: a path elsewhere on the computer that made the file is never followed."""
    inline = _child(source, "PlainTextContent")
    if inline is not None and inline.text:
        return inline.text, ""
    where = (source.get("plainTextPath") or "").strip()
    rich = (source.get("richTextPath") or "").strip()
    if not where:
        if rich:
            return None, f"it has only rich text ({rich!r}), no plain text copcode can read"
        return None, "it has no text (no PlainTextContent and no plainTextPath)"
    if not where.lower().startswith("internal://"):
        return None, (f"its text is outside the archive (plainTextPath {where!r}); copcode reads only the "
                      "text a .qdpx holds")
    inside = where[len("internal://"):].replace("\\", "/")
    if not inside or inside.startswith("/") or ".." in inside.split("/"):
        return None, f"its plainTextPath {where!r} points outside the archive's sources/ folder"
    if archive is None:
        return None, f"its text (plainTextPath {where!r}) is in the .qdpx, not in this bare project file"
    info = members.get("sources/" + inside.lower())
    if info is None:
        return None, f"its text, sources/{inside}, is missing from the archive"
    try:
        return _read(archive, info, MAX_SOURCE, budget, path).decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return None, f"its text, sources/{inside}, is not UTF-8"


def _from_utf16(text: str, offset: int, astral: list[int]) -> int:
    """A UTF-16 code-unit offset into `text` as a code-point index; `astral` holds the indices
    of the characters outside the BMP (two code units each)."""
    # the smallest index whose unit offset (index + astral characters before it) reaches `offset`
    low, high = 0, len(text)
    while low < high:
        middle = (low + high) // 2
        if middle + bisect_left(astral, middle) >= offset:
            high = middle
        else:
            low = middle + 1
    return low
