"""REFI-QDA 1.0: `.qdpx` projects and `.qdc` codebooks that NVivo, ATLAS.ti, MAXQDA and
QualCoder open.

Export: themes are codes that hold the codebook's code tree; each transcript is a text source
(`sources/<guid>.txt`, its plain text); each accepted coding is a plain-text selection of each
coder's own words (their exact span, else the suggestion's quote or the whole segment), with
one coding per coder who chose those words (suggestions only when asked, under their own
user); a coder's note on their accept or tag is a `<Note>` that their coding refers to
(`<NoteRef>`); participants are cases with their attributes as text variables. Offsets are code
points, end-exclusive (UTF-16 code units when asked, as NVivo counts). GUIDs are derived from
names, so exporting twice gives the same ids.

Reading such files written by other tools is `copcode.ingest.refi`."""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile

from copcode.safetext import visible

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_GUIDS = uuid.UUID("8a3f0a52-6f1e-4f57-9b61-2f6c0de0c0de")
COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
SUGGESTIONS_USER = "copcode suggestions"
ID_LINE = re.compile(r"^copcode id: ([a-z0-9][a-z0-9_-]*)$", re.MULTILINE)
IMPORTED_NOTE = "imported"  # the note `copcode import` gives a coding that had none: not the coder's


def guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_GUIDS, f"{kind}:{name}"))


def _codes_xml(parent: ET.Element, codebook, ns: str) -> None:
    """The themes as codes that cannot be coded, holding the codebook's code tree as nested
    codes (built without recursion). A theme that holds a code of its own id and label (what
    `copcode import` makes of a codable code with codes inside) is written as that one codable
    code, as the other program had it, so that a round trip gives the same ids."""
    codes = ET.SubElement(parent, f"{{{ns}}}Codes")
    for index, theme in enumerate(codebook.themes):
        colour = COLOURS[index % len(COLOURS)]
        own = next((c for c in theme.codes if c.id == theme.id and c.label == theme.label and not c.codes
                    and theme.description.strip() in ("", _description(c))), None)
        if own is not None and not theme.description.strip() and _description(own) != own.label:
            own = None  # the theme has no description of its own and the code has one: keep both
        theme_el = ET.SubElement(codes, f"{{{ns}}}Code", guid=guid("code", own.id) if own else guid("theme", theme.id),
                                 name=theme.label, isCodable="true" if own else "false", color=colour)
        ET.SubElement(theme_el, f"{{{ns}}}Description").text = \
            f"{theme.description.strip()}\n\ncopcode id: {theme.id}".strip()
        stack = [(theme_el, code) for code in reversed(theme.codes) if code is not own]
        while stack:
            holder, code = stack.pop()
            code_el = ET.SubElement(holder, f"{{{ns}}}Code", guid=guid("code", code.id),
                                    name=code.label, isCodable="true", color=colour)
            ET.SubElement(code_el, f"{{{ns}}}Description").text = \
                "\n\n".join(p for p in (_description(code), f"copcode id: {code.id}") if p)
            stack.extend((code_el, child) for child in reversed(code.codes))


def _description(code) -> str:
    """A code's definition with its include and exclude notes, as a Description says them."""
    parts = [code.definition.strip(), f"Include: {code.include.strip()}" if code.include else "",
             f"Exclude: {code.exclude.strip()}" if code.exclude else ""]
    return "\n\n".join(p for p in parts if p)


def codebook_xml(codebook, redactor) -> bytes:
    """The codebook as a REFI-QDA `.qdc` document, its labels and descriptions through
    `redactor` (privacy.Redactor; `privacy.IDENTITY` to change nothing)."""
    ET.register_namespace("", CODEBOOK_NS)
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", origin="copcode")
    _codes_xml(root, redactor.redact_codebook(codebook), CODEBOOK_NS)
    return _serialise(root)


def project_qdpx(view, name: str, *, redactor, include_suggestions: bool = False, utf16: bool = False) -> bytes:
    """The project (a tables.ProjectView) as a REFI-QDA `.qdpx` archive (project.qde and
    sources/). Each coder who accepted a coding is one user, whatever their name holds (the
    coders are a list, never split from a text). Coders who chose different words of one
    coding (`tag --quote`) get a selection each, so that each comes back with their own.
    Every text goes through `redactor` (privacy.Redactor; `privacy.IDENTITY` to change
    nothing): sources are pseudonymised with selections moved to match; codebook, names,
    variables, values and notes too. A coder's note on their current accept or tag of a
    coding becomes a `<Note>` by that user, which their `<Coding>` refers to. `utf16`:
    offsets count UTF-16 code units (as NVivo reads them) instead of characters."""
    store, codebook = view.store, view.codebook
    decided_notes = view.state.notes  # (segment, code, coder) -> the note of their accept or tag
    ns = PROJECT_NS
    ET.register_namespace("", ns)
    transcripts = store.transcript_rows()
    selections: dict[str, list] = {}
    users: dict[str, str] = {"copcode": guid("user", "copcode")}
    for coding, spans in _coders_spans(view, include_suggestions):
        for (start, end), coders in spans.items():
            for coder in coders:
                users.setdefault(coder, guid("user", coder))
            notes = {coder: decided_notes.get((coding.segment, coding.code, coder), "") for coder in coders}
            selections.setdefault(coding.transcript, []).append((start, end, coding.code, coders, coding.segment, notes))

    root = ET.Element(f"{{{ns}}}Project", name=redactor.redact(name), origin="copcode",
                      creatingUserGUID=users["copcode"])
    users_el = ET.SubElement(root, f"{{{ns}}}Users")
    for user, user_guid in users.items():
        ET.SubElement(users_el, f"{{{ns}}}User", guid=user_guid, name=redactor.redact_names(user))
    _codes_xml(ET.SubElement(root, f"{{{ns}}}CodeBook"), redactor.redact_codebook(codebook), ns)

    import json

    attributes = {t["id"]: json.loads(t["attributes"]) for t in transcripts}
    variables = sorted({key for values in attributes.values() for key in values})
    if variables:
        variables_el = ET.SubElement(root, f"{{{ns}}}Variables")
        for variable in variables:
            ET.SubElement(variables_el, f"{{{ns}}}Variable", guid=guid("variable", variable),
                          name=redactor.redact(variable), typeOfVariable="Text")
    cases_el = ET.SubElement(root, f"{{{ns}}}Cases")
    for t in transcripts:
        case = ET.SubElement(cases_el, f"{{{ns}}}Case", guid=guid("case", t["participant"]),
                             name=redactor.redact_names(t["participant"]))
        for variable in variables:
            if variable in attributes[t["id"]]:
                value = ET.SubElement(case, f"{{{ns}}}VariableValue")
                ET.SubElement(value, f"{{{ns}}}VariableRef", targetGUID=guid("variable", variable))
                ET.SubElement(value, f"{{{ns}}}TextValue").text = redactor.redact(str(attributes[t["id"]][variable]))
        ET.SubElement(case, f"{{{ns}}}SourceRef", targetGUID=guid("source", t["id"]))

    sources_el = ET.SubElement(root, f"{{{ns}}}Sources")
    files = {}
    notes_el = ET.Element(f"{{{ns}}}Notes")  # after Sources, as the schema orders them
    for t in transcripts:
        source_guid = guid("source", t["id"])
        source = ET.SubElement(sources_el, f"{{{ns}}}TextSource", guid=source_guid,
                               name=redactor.redact_names(t["id"]), plainTextPath=f"internal://{source_guid}.txt")
        text, moved = _source_text(t, store.turns_of(t["id"]), redactor)
        files[f"sources/{source_guid}.txt"] = text.encode("utf-8")
        unit = _utf16_offsets(text) if utf16 else (lambda offset: offset)
        for old_start, old_end, code, coders, segment, notes in sorted(selections.get(t["id"], []),
                                                                        key=lambda s: s[:3]):
            start, end = moved(old_start), moved(old_end)
            # the ids stay those of character offsets: --utf16 or not, a coding keeps its guid
            selection = ET.SubElement(source, f"{{{ns}}}PlainTextSelection",
                                      guid=guid("selection", f"{t['id']}:{start}:{end}:{code}"),
                                      name=_xml_text(text[start:end][:60]), startPosition=str(unit(start)),
                                      endPosition=str(unit(end)))
            for coder in coders:
                coding_guid = guid("coding", f"{t['id']}:{start}:{end}:{code}:{coder}")
                coding = ET.SubElement(selection, f"{{{ns}}}Coding", guid=coding_guid,
                                       creatingUser=users[coder])
                ET.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=guid("code", code))
                note = notes[coder]
                if note.strip() and note != IMPORTED_NOTE:
                    note_guid = guid("note", coding_guid)
                    ET.SubElement(coding, f"{{{ns}}}NoteRef", targetGUID=note_guid)
                    note_el = ET.SubElement(notes_el, f"{{{ns}}}Note", guid=note_guid, creatingUser=users[coder],
                                            name=f"Note by {redactor.redact_names(coder)} on "
                                                 f"{redactor.redact_names(segment)} / {code}")
                    ET.SubElement(note_el, f"{{{ns}}}PlainTextContent").text = _xml_text(redactor.redact(note))
    if len(notes_el):
        root.append(notes_el)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", _serialise(root))
        for path, data in files.items():
            zf.writestr(path, data)
    return archive.getvalue()


def _coders_spans(view, include_suggestions: bool):
    """(coding, {(start, end): the coders whose words those are}) for each coding exported:
    a coder's exact span where they chose one, else the suggestion's quote (a suggestion
    accepted) or the whole segment (a tag); a suggestion nobody decided (when asked for) under
    SUGGESTIONS_USER, with its quote."""
    chosen = view.state.spans  # (segment, code, coder) -> the exact span they chose
    wanted = []
    for coding in view.codings:
        if coding.status == "accepted":
            wanted.append(coding)
        elif include_suggestions and coding.status == "suggested":
            yield coding, {(coding.quote_start, coding.quote_end): [SUGGESTIONS_USER]}
    # a coding's quote runs from its coders' first span to their last: the words of a coder who
    # chose none are the suggestion's quote, read from the store when some coder chose a span
    mixed = {c.code for c in wanted if c.origin != "tagged"
             and len({(c.segment, c.code, coder) in chosen for coder in c.coders}) > 1}
    quotes = view.store.suggestions_of_codes(mixed) if mixed else {}
    for coding in wanted:
        default = (coding.start, coding.end) if coding.origin == "tagged" else (coding.quote_start, coding.quote_end)
        if (coding.segment, coding.code) in quotes:
            row = quotes[(coding.segment, coding.code)]
            default = (row["quote_start"], row["quote_end"])
        spans: dict[tuple[int, int], list[str]] = {}
        for coder in coding.coders:
            spans.setdefault(chosen.get((coding.segment, coding.code, coder), default), []).append(coder)
        yield coding, spans


def _source_text(transcript, turns, redactor):
    """A transcript's text as its .qdpx source holds it, and the offset map
    (`Redactor.redact_mapped`). A speaker label that holds an identifier is written so that
    copcode reads the source back with the same speakers: the interviewer's as
    `Interviewer`; a participant's as their id ("P1" of focus group FG1's "FG1-P1", which
    reads back as FG1-P1, or "P05"), else the id whole, else the name's replacement ("[name]",
    read back as a placeholder label) unless another speaker has it, else "Speaker N", the
    first of these that reads back with that speaker's turns as theirs alone (an id that is
    no label to the reader, "07", or that it takes for an interviewer's, "I01", is passed
    over); chosen speaker by speaker, so one who reads back in no form leaves the others as
    they are. A label that an identifier runs into ("Ben" above "Carter and ...", "Ben
    Carter" listed) is kept as written, the identifier replaced around it. With "[name]:" for
    every named speaker, a pseudonymised focus group came back as one participant."""
    import bisect

    from copcode.ingest import find_turns
    from copcode.privacy import label_spans

    text = transcript["text"]
    spans = label_spans(text, turns)
    findings = redactor.findings(text)
    starts = [f.start for f in findings]

    def who(turn) -> str:
        return "" if turn["role"] == "interviewer" else turn["participant"] or transcript["participant"]

    fixed: dict[int, str] = {}  # turn -> its label as written
    named: dict[str, list[int]] = {}  # a speaker whose label holds an identifier -> their turns
    for i, (turn, span) in enumerate(zip(turns, spans)):
        if span is None:
            continue
        if redactor.redact(turn["speaker"]) != turn["speaker"]:
            if turn["role"] == "interviewer":
                fixed[i] = "Interviewer"
            else:
                named.setdefault(who(turn), []).append(i)
        else:
            at = bisect.bisect_left(starts, span[1]) - 1  # the one identifier that may overlap it
            if at >= 0 and findings[at].end > span[0]:
                fixed[i] = turn["speaker"]
    if not fixed and not named:
        return redactor.redact_mapped(text)

    def forms(speaker: str, n: int) -> list[str]:
        short = speaker[len(transcript["id"]) + 1:] if speaker.startswith(f"{transcript['id']}-") else speaker
        replaced = redactor.redact(turns[named[speaker][0]]["speaker"])
        return list(dict.fromkeys([redactor.redact_names(short), redactor.redact_names(speaker), replaced,
                                   f"Speaker {n}"]))

    options = {speaker: forms(speaker, n) for n, speaker in enumerate(named, 1)}
    chosen = {speaker: found[0] for speaker, found in options.items()}

    def write():
        labels = [(*spans[i], label) for i, label in fixed.items()]
        labels += [(*spans[i], chosen[speaker]) for speaker, at in named.items() for i in at]
        return redactor.redact_mapped(text, sorted(labels))

    def wrong(written: str) -> set[str]:
        """The named speakers whose turns do not read back as one speaker of their own."""
        read = find_turns(written, [], transcript["id"])
        if len(read) != len(turns):
            return set(named)
        read_as: dict[str, set[str]] = {}
        for turn, back in zip(turns, read):
            read_as.setdefault(who(turn), set()).add(back.participant if back.role == "participant" else "")
        return {speaker for speaker in named
                if len(read_as[speaker]) != 1 or "" in read_as[speaker] or
                any(read_as[speaker] & ids for other, ids in read_as.items() if other != speaker)}

    bad = wrong(write()[0])
    for speaker in named:
        for form in options[speaker][1:] if speaker in bad else ():
            if form in (label for other, label in chosen.items() if other != speaker):
                continue  # two speakers with one label would read back as one
            chosen[speaker] = form
            bad = wrong(write()[0])
            if speaker not in bad:
                break
    return write()


def _utf16_offsets(text: str):
    """A function from a character offset into `text` to the same place in UTF-16 code units:
    a character outside the BMP counts two."""
    from bisect import bisect_left

    from copcode.ingest.refi import astral_indices

    wide = astral_indices(text)
    return lambda offset: offset + bisect_left(wide, offset)


def _xml_text(text: str) -> str:
    """`text` with the control characters XML 1.0 cannot hold (ESC, NUL) and direction
    overrides shown as visible symbols (`safetext.visible`), so that the file stays readable."""
    return visible(text, keep="\t\n\r")


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
