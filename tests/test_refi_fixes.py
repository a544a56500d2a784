"""REFI-QDA import and export, what a tester found (nu3): every coding in a file is recorded
or listed with its reason (whole-source codings, codings of unknown users, copcode's own
suggestions), each coder's exact span survives a round trip, GUIDs match in any case and in
braces, each cause of a source without text is named, and the fix for a re-imported
pseudonymised export never suggests removing the original."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import code_project, project_codebook
from copcode.decisions import record
from copcode.export.refi import project_qdpx
from copcode.importing import import_refi
from copcode.privacy import IDENTITY
from copcode.project import open_project, read_participants
from copcode.store import open_store
from copcode.tables import ProjectView

from conftest import SMALL_CODEBOOK, list_identifiers

SCHEMA = Path(__file__).parent / "refi-qda" / "Project.xsd"
NS = {"q": "urn:QDA-XML:project:1.0"}
LEARN, TRUST = "22222222-aaaa-2222-2222-222222222222", "22222222-bbbb-2222-2222-333333333333"
ANN, BOB = "11111111-aaaa-1111-1111-111111111111", "11111111-bbbb-1111-1111-111111111111"
CODES = (f'<Code guid="99999999-0000-0000-0000-000000000000" name="Community" isCodable="false">'
         f'<Code guid="{LEARN}" name="Learning" isCodable="true"/>'
         f'<Code guid="{TRUST}" name="Trust" isCodable="true"/></Code>')
USERS = f'<User guid="{ANN}" name="ann"/><User guid="{BOB}" name="bob"/>'
E01 = "Interviewer: What did you learn?\nE01: We learnt a lot from the carers.\n"
E02 = "Interviewer: Did you trust them?\nE02: I trust the group completely.\n"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def ok(root, *args):
    result = cli(root, *args)
    assert result.exit_code == 0, result.output
    return result


def project_xml(sources: str, *, users: str = USERS, codes: str = CODES, after: str = "", origin: str = "") -> str:
    """A project.qde; `after`: what follows <Sources> (<Notes>)."""
    origin = f' origin="{origin}"' if origin else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="x"{origin}>'
            f'<Users>{users}</Users><CodeBook><Codes>{codes}</Codes></CodeBook>'
            f'<Sources>{sources}</Sources>{after}</Project>')


def coding(code: str = LEARN, user: str | None = ANN, inner: str = "") -> str:
    creator = f' creatingUser="{user}"' if user is not None else ""
    return f'<Coding guid="c-{code}-{user}"{creator}><CodeRef targetGUID="{code}"/>{inner}</Coding>'


def selection(text: str, words: str, *codings: str, start: int | None = None, end: int | None = None) -> str:
    """A selection of `words` in `text` (or of start-end) holding `codings` (one by ann of
    Learning when none are given)."""
    start = text.index(words) if start is None else start
    end = start + len(words) if end is None else end
    return (f'<PlainTextSelection guid="s-{start}-{end}" startPosition="{start}" endPosition="{end}">'
            f'{"".join(codings or (coding(),))}</PlainTextSelection>')


def source(name: str, text: str | None, *inner: str, attributes: str = "") -> str:
    content = f"<PlainTextContent>{text}</PlainTextContent>" if text is not None else ""
    return f'<TextSource guid="source-{name}" name="{name}"{attributes}>{content}{"".join(inner)}</TextSource>'


def qdpx(folder: Path, xml: str, name: str = "study.qdpx", **files: bytes | str) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for member, data in files.items():
            zf.writestr(member, data)
    return path


def decisions(root: Path) -> list[tuple]:
    """(segment's words, code, coder, the exact span's words or None, note) of every decision."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        rows = db.execute("SELECT d.code, d.coder, d.span_start, d.span_end, d.note, s.text, s.start "
                          "FROM decisions d JOIN segments s ON s.id = d.segment ORDER BY d.id").fetchall()
    finally:
        db.close()
    return [(text, code, coder, None if a is None else text[a - start:b - start], note)
            for code, coder, a, b, note, text, start in rows]


def state(root: Path) -> dict:
    """Every file of the project (bytes) and every row of every table of the store."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and ".copcode" not in p.parts}
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in sorted(tables)}
    finally:
        db.close()
    return {"files": files, "store": rows}


@pytest.fixture
def fresh(tmp_path) -> Path:
    root = tmp_path / "fresh"
    root.mkdir()
    return root


P01 = ("Interviewer: What did you learn from the group?\n\n"
       "P01: We met every week at the hall. I learnt so much from the others there. Carers know things "
       "nobody writes down.\nThen we went home, write to jo@example.org.\n\n"
       "Interviewer: Anything else?\n\nP01: Mm-hmm. [laughs]\n")
SEGMENT = ("We met every week at the hall. I learnt so much from the others there. Carers know things "
           "nobody writes down.\nThen we went home, write to jo@example.org.")
ANNS, BOBS = "I learnt so much from the others there.", "Carers know things nobody writes down."


@pytest.fixture
def small(tmp_path) -> Path:
    """A coded project of one transcript, one segment of which copcode suggests `learn` on."""
    return coded_p01(tmp_path / "small", P01)


def coded_p01(root: Path, text: str) -> Path:
    """A project at `root` of the small codebook and one transcript, P01.txt holding `text`, coded."""
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    (root / "transcripts" / "P01.txt").write_text(text, encoding="utf-8")
    code_project(open_project(root))
    return root


def segment_of(root: Path, start: str) -> str:
    """The id of the one segment whose text starts with `start`."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        [(found,)] = db.execute("SELECT id FROM segments WHERE text LIKE ? || '%'", (start,)).fetchall()
        return found
    finally:
        db.close()


def segment_id(root: Path) -> str:
    return segment_of(root, "We met")


def suggested_quote(root: Path) -> tuple[int, int]:
    """Where the one suggestion's quote is: narrower than its segment."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        [quote] = db.execute("SELECT quote_start, quote_end FROM suggestions").fetchall()
    finally:
        db.close()
    start = P01.index(SEGMENT)
    assert start <= quote[0] < quote[1] < start + len(SEGMENT)
    return quote


def selections(path: Path) -> list[tuple[int, int, str, list[str]]]:
    """(start, end, name, the users of its codings) of every selection of the export."""
    root = ET.fromstring(zipfile.ZipFile(path).read("project.qde"))
    users = {u.get("guid"): u.get("name") for u in root.findall("q:Users/q:User", NS)}
    return [(int(s.get("startPosition")), int(s.get("endPosition")), s.get("name"),
             [users[c.get("creatingUser")] for c in s.findall("q:Coding", NS)])
            for s in root.iter(f"{{{NS['q']}}}PlainTextSelection")]


def validate(path: Path) -> None:
    xmlschema.XMLSchema(SCHEMA).validate(zipfile.ZipFile(path).read("project.qde").decode("utf-8"))


# ---------------------------------------------------------------- 1. whole-source codings

def test_codings_of_whole_sources_are_counted_and_listed(fresh, tmp_path):
    xml = project_xml(source("E01", E01, coding(LEARN), coding(TRUST, BOB), selection(E01, "We learnt a lot")) +
                      source("E02", E02, coding(TRUST)))
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout == (
        "Wrote codebooks/study.yaml and copcode.yaml\nAdded 2 transcripts and 1 coding.\n"
        "Not imported: 3 coding(s) of whole sources (no selection), in 'E01' and 'E02': copcode codes passages; "
        "left out. Code the passages in the other program, or record what is true of a whole interview in "
        "participants.csv\n")
    assert decisions(fresh) == [("We learnt a lot from the carers.", "learning", "ann", "We learnt a lot", "imported")]


def test_the_sources_of_whole_source_codings_are_named_up_to_five(fresh, tmp_path):
    texts = {f"E0{n}": E01.replace("E01", f"E0{n}") for n in range(1, 8)}
    xml = project_xml("".join(source(name, text, coding()) for name, text in texts.items()))
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout.splitlines()[2] == (
        "Not imported: 7 coding(s) of whole sources (no selection), in 'E01', 'E02', 'E03', 'E04' and 3 more: "
        "copcode codes passages; left out. Code the passages in the other program, or record what is true of "
        "a whole interview in participants.csv")


# ---------------------------------------------------------------- 2. each coder's own span

def test_each_coder_keeps_their_own_span_through_a_round_trip(small, fresh, tmp_path):
    segment = segment_id(small)
    ok(small, "tag", segment, "learn", "--coder", "ann", "--quote", ANNS)
    ok(small, "tag", segment, "learn", "--coder", "bob", "--quote", BOBS)
    ok(small, "tag", segment, "learn", "--coder", "dan", "--quote", BOBS, "--note", "same words as bob")
    project = open_project(small)
    store = open_store(project.store_path, create=False)
    try:  # cara accepts the suggestion: her words are its quote
        record(store, project_codebook(project), segment, "learn", "accept", "cara")
    finally:
        store.close()
    exported = tmp_path / "study.qdpx"
    ok(small, "--no-redact", "export", "--format", "qdpx", "--out", str(exported))
    validate(exported)
    quote = suggested_quote(small)
    ann, bob = P01.index(ANNS), P01.index(BOBS)
    assert selections(exported) == [
        (*quote, P01[quote[0]:quote[1]][:60], ["cara"]),
        (ann, ann + len(ANNS), ANNS, ["ann"]),
        (bob, bob + len(BOBS), BOBS, ["bob", "dan"]),
    ]
    again = tmp_path / "again.qdpx"
    ok(small, "--no-redact", "export", "--format", "qdpx", "--out", str(again))
    assert zipfile.ZipFile(again).read("project.qde") == zipfile.ZipFile(exported).read("project.qde")

    result = ok(fresh, "import", str(exported))
    assert result.stdout == "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 4 codings.\n"
    assert sorted(decisions(fresh)) == [
        (SEGMENT, "learn", "ann", ANNS, "imported"),
        (SEGMENT, "learn", "bob", BOBS, "imported"),
        (SEGMENT, "learn", "cara", P01[quote[0]:quote[1]], "imported"),
        (SEGMENT, "learn", "dan", BOBS, "same words as bob"),
    ]


def test_coders_of_a_tag_without_spans_share_the_whole_segment(small, fresh, tmp_path):
    segment = segment_id(small)
    ok(small, "tag", segment, "time", "--coder", "ann")
    ok(small, "tag", segment, "time", "--coder", "bob")
    ok(small, "tag", segment, "time", "--coder", "cara", "--quote", BOBS)
    exported = tmp_path / "study.qdpx"
    ok(small, "--no-redact", "export", "--format", "qdpx", "--out", str(exported))
    start, bob = P01.index(SEGMENT), P01.index(BOBS)
    assert [(s, e, users) for s, e, _, users in selections(exported)] == [
        (start, start + len(SEGMENT), ["ann", "bob"]), (bob, bob + len(BOBS), ["cara"])]
    ok(fresh, "import", str(exported))
    assert sorted(decisions(fresh)) == [
        (SEGMENT, "time", "ann", None, "imported"), (SEGMENT, "time", "bob", None, "imported"),
        (SEGMENT, "time", "cara", BOBS, "imported")]


# ---------------------------------------------------------------- 3. GUIDs in any case, in braces

def test_guids_match_in_any_case_and_in_braces(fresh, tmp_path):
    note = "33333333-aaaa-3333-3333-333333333333"
    variable = "44444444-aaaa-4444-4444-444444444444"
    codes = CODES.replace(f'guid="{LEARN}"', f'guid="{{{LEARN.upper()}}}"')
    users = f'<User guid="{{{ANN}}}" name="ann"/><User guid="{BOB.upper()}" name="bob"/>'
    xml = project_xml(
        source("E01", E01, selection(E01, "We learnt a lot",
                                     coding(LEARN.upper(), ANN.upper(), f'<NoteRef targetGUID="{note.upper()}"/>'),
                                     coding(f"{{{LEARN}}}", f"{{{BOB}}}"))),
        users=users, codes=codes,
        after=(f'<Notes><Note guid="{{{note}}}"><PlainTextContent>why ann coded it</PlainTextContent></Note></Notes>'))
    xml = xml.replace("<Sources>", f'<Variables><Variable guid="{{{variable.upper()}}}" name="role" '
                      'typeOfVariable="Text"/></Variables><Cases><Case guid="case-1" name="E01"><VariableValue>'
                      f'<VariableRef targetGUID="{variable}"/><TextValue>carer</TextValue></VariableValue>'
                      '</Case></Cases><Sources>')
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout == "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 2 codings.\n"
    assert decisions(fresh) == [
        ("We learnt a lot from the carers.", "learning", "ann", "We learnt a lot", "why ann coded it"),
        ("We learnt a lot from the carers.", "learning", "bob", "We learnt a lot", "imported"),
    ]
    assert read_participants(open_project(fresh))["e01"]["role"] == "carer"


def test_two_codes_whose_guids_differ_only_in_case_and_braces_are_one_guid(fresh, tmp_path):
    codes = f'<Code guid="{LEARN.upper()}" name="Learning" isCodable="true"/>' \
            f'<Code guid="{{{LEARN}}}" name="Trust" isCodable="true"/>'
    result = cli(fresh, "import", str(qdpx(tmp_path, project_xml(source("E01", E01), codes=codes))))
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", (
        f"Error: {tmp_path / 'study.qdpx'}: two Codes have the guid {LEARN} ('Learning' and 'Trust')\n"
        "  How to fix: export the project again; each code needs its own guid.\n"))
    assert list(fresh.iterdir()) == []


# ---------------------------------------------------------------- 4. codings of no known user

def test_codings_of_no_known_user_are_recorded_as_imported_and_said(fresh, tmp_path):
    users = f'<User guid="{ANN}" name="ann"/><User guid="{BOB}"/>'  # bob's User has no name
    nobody = "11111111-ffff-1111-1111-111111111111"
    xml = project_xml(source("E01", E01, selection(E01, "We learnt a lot", coding(LEARN, None), coding(TRUST, nobody)),
                             selection(E01, "from the carers", coding(LEARN, BOB), coding(TRUST, ANN))), users=users)
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout == (
        "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 3 codings.\n"
        "3 coding(s) have no known user (1 without a creatingUser, 1 whose creatingUser is not in <Users>, "
        "1 by a User without a name): they count as the coder 'imported'. To keep who coded them, name their "
        "user in the other program and export again.\n"
        # two codings of 'imported' on one segment and code are one decision
        f"Merged: source 'E01': 2 codings of 'learning' by imported fall on one segment, {segment_of(fresh, 'We')} "
        "(characters 38-70), at 38-53 and 54-69: recorded once.\n")
    assert sorted((code, coder) for _, code, coder, _, _ in decisions(fresh)) == [
        ("learning", "imported"), ("trust", "ann"), ("trust", "imported")]


def test_a_user_named_by_id_only_is_that_coder_and_not_said(fresh, tmp_path):
    users = f'<User guid="{ANN}" id="ann-1"/>'
    result = ok(fresh, "import", str(qdpx(tmp_path, project_xml(source("E01", E01, selection(E01, "We learnt")),
                                                                 users=users))))
    assert result.stdout == "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 1 coding.\n"
    assert [coder for _, _, coder, _, _ in decisions(fresh)] == ["ann-1"]


# ---------------------------------------------------------------- 5. copcode's suggestions

def test_exported_suggestions_do_not_come_back_as_a_coders_tags(small, fresh, tmp_path):
    segment = segment_id(small)
    ok(small, "tag", segment, "time", "--coder", "ann")
    exported = tmp_path / "study.qdpx"
    ok(small, "export", "--format", "qdpx", "--suggestions", "--out", str(exported))
    validate(exported)
    assert sorted(users for _, _, _, users in selections(exported)) == [["ann"], ["copcode suggestions"]]
    result = ok(fresh, "import", str(exported))
    assert result.stdout == (
        "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 1 coding.\n"
        "Not imported: 1 coding(s) by 'copcode suggestions' are copcode's suggestions, not a coder's decisions; "
        "left out\n")
    assert [(code, coder) for _, code, coder, _, _ in decisions(fresh)] == [("time", "ann")]


# ---------------------------------------------------------------- 6. a non-codable code with no codes

def test_a_non_codable_code_without_codes_is_said(fresh, tmp_path):
    empty = "77777777-0000-0000-0000-000000000000"
    codes = CODES.replace("</Code>", f'<Code guid="{empty}-1" name="Folder" isCodable="false"/></Code>') + \
        f'<Code guid="{empty}" name="Later" isCodable="false"/>'
    result = ok(fresh, "import", str(qdpx(tmp_path, project_xml(source("E01", E01, selection(E01, "We learnt")),
                                                                 codes=codes))))
    assert result.stdout == (
        "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 1 coding.\n"
        f"Not imported: Code 'Folder' (guid {empty}-1): cannot be coded and holds no codes; left out of the codebook\n"
        f"Not imported: Code 'Later' (guid {empty}): cannot be coded and holds no codes; left out of the codebook\n")


# ---------------------------------------------------------------- 7. a pseudonymised export imported back

def test_reimporting_a_pseudonymised_export_into_its_project_is_refused_with_safe_advice(small, tmp_path):
    (small / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "Jo": "[name]"\n', encoding="utf-8")
    exported = tmp_path / "study.qdpx"
    ok(small, "export", "--format", "qdpx", "--out", str(exported))
    assert b"write to [email]." in zipfile.ZipFile(exported).read(zipfile.ZipFile(exported).namelist()[-1])
    before = state(small)
    result = cli(small, "import", str(exported))
    assert (result.exit_code, result.stdout, " ".join(result.stderr.split())) == (1, "", (
        f"Error: {exported}: TextSource 'P01' differs from the transcript already here, transcripts/P01.txt "
        "How to fix: the transcript here was edited since the export, or the export's text is pseudonymised "
        "(unless exported with --no-redact); import it into a new, empty folder instead, e.g. `copcode --project "
        "compare import study.qdpx`; the transcript here stays as it is."))
    assert state(small) == before


def test_another_programs_text_that_differs_is_refused_without_advice_to_remove(small, tmp_path):
    text = P01.replace("jo@example.org", "Jo")
    path = qdpx(tmp_path, project_xml(source("P01", text), origin="NVivo 14"), "nvivo.qdpx")
    before = state(small)
    result = cli(small, "import", str(path))
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", (
        f"Error: {path}: TextSource 'P01' differs from the transcript already here, transcripts/P01.txt\n"
        "  How to fix: import it into a new, empty folder instead, e.g. "
        "`copcode --project compare import nvivo.qdpx`; the transcript here stays as it is.\n"))
    assert state(small) == before


# ---------------------------------------------------------------- 8. why a source has no text

def test_each_reason_a_source_has_no_text_is_named(fresh, tmp_path):
    one = selection(E01, "We learnt a lot")
    xml = project_xml(
        source("E01", E01, one) +
        source("Rich", None, one, attributes=' richTextPath="internal://rich.docx"') +
        source("Nothing", None, one) +
        source("Relative", None, one, attributes=' plainTextPath="relative://a.txt"') +
        source("Absolute", None, one, attributes=' plainTextPath="absolute:///etc/passwd"') +
        source("Climb", None, one, attributes=' plainTextPath="internal://../../a.txt"') +
        source("Gone", None, one, attributes=' plainTextPath="internal://gone.txt"') +
        source("Latin", None, one, attributes=' plainTextPath="internal://latin.txt"'))
    path = qdpx(tmp_path, xml, **{"sources/rich.docx": b"PK", "sources/latin.txt": E01.replace("learnt", "apprécié")
                                  .encode("latin-1"), "a.txt": E01})
    result = ok(fresh, "import", str(path))
    assert result.stdout.splitlines() == [
        "Wrote codebooks/study.yaml and copcode.yaml", "Added 1 transcript and 1 coding.",
        "Not imported: source 'Rich': it has only rich text ('internal://rich.docx'), no plain text copcode can "
        "read; left out with its 1 coding",
        "Not imported: source 'Nothing': it has no text (no PlainTextContent and no plainTextPath); left out "
        "with its 1 coding",
        "Not imported: source 'Relative': its text is outside the archive (plainTextPath 'relative://a.txt'); "
        "copcode reads only the text a .qdpx holds; left out with its 1 coding",
        "Not imported: source 'Absolute': its text is outside the archive (plainTextPath "
        "'absolute:///etc/passwd'); copcode reads only the text a .qdpx holds; left out with its 1 coding",
        "Not imported: source 'Climb': its plainTextPath 'internal://../../a.txt' points outside the archive's "
        "sources/ folder; left out with its 1 coding",
        "Not imported: source 'Gone': its text, sources/gone.txt, is missing from the archive; left out with "
        "its 1 coding",
        "Not imported: source 'Latin': its text, sources/latin.txt, is not UTF-8; left out with its 1 coding",
    ]


def test_a_bare_project_file_says_its_text_is_in_the_qdpx(fresh, tmp_path):
    path = tmp_path / "project.qde"
    path.write_text(project_xml(source("E01", None, selection(E01, "We learnt"),
                                       attributes=' plainTextPath="internal://e01.txt"')), encoding="utf-8")
    result = ok(fresh, "import", str(path))
    assert result.stdout.splitlines()[1:] == [
        "Added 0 transcripts and 0 codings.",
        "Not imported: source 'E01': its text (plainTextPath 'internal://e01.txt') is in the .qdpx, not in this "
        "bare project file; left out with its 1 coding"]


# ---------------------------------------------------------------- 9. the wording of what is left out

def test_an_audio_source_is_an_audiosource(fresh, tmp_path):
    xml = project_xml(source("E01", E01, selection(E01, "We learnt")) +
                      f'<AudioSource guid="a-1" name="Rec" path="internal://rec.mp3">{coding()}</AudioSource>'
                      '<PDFSource guid="p-1" name="Report" path="internal://r.pdf"/>')
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout.splitlines()[2:] == [
        "Not imported: source 'Rec': an AudioSource is not text; left out with its 1 coding",
        "Not imported: source 'Report': a PDFSource is not text; left out"]


def test_a_reversed_selection_is_called_so(fresh, tmp_path):
    xml = project_xml(source("E01", E01, selection(E01, "", start=60, end=40),
                             selection(E01, "", start=40, end=40), selection(E01, "We learnt")))
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout.splitlines()[2:] == [
        "Not imported: source 'E01' 60-40: a selection whose end is before its start; left out with its 1 coding",
        "Not imported: source 'E01' 40-40: an empty selection; left out with its 1 coding"]


def test_codings_in_no_participants_turn_are_counted(fresh, tmp_path):
    question = selection(E01, "What did you learn?", coding(LEARN, ANN), coding(TRUST, BOB))
    other = selection(E01, "Interviewer")
    xml = project_xml(source("E01", E01, question, other, selection(E01, "We learnt")))
    result = ok(fresh, "import", str(qdpx(tmp_path, xml)))
    assert result.stdout.splitlines()[2:] == [
        "Not imported: source 'E01' 13-32: not in a participant's turn; left out with its 2 codings",
        "Not imported: source 'E01' 0-11: not in a participant's turn; left out with its 1 coding"]


# ---------------------------------------------------------------- UTF-16 offsets on export

EMOJI = ("Interviewer: What did you learn? \U0001F600\n\n"
         "P01: We learnt \U0001F44D a lot from the carers \U0001F60A and the nurses.\n")


def test_export_with_utf16_offsets_comes_back_with_the_same_spans(tmp_path):
    root = coded_p01(tmp_path / "emoji", EMOJI)
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    [(segment,)] = db.execute("SELECT id FROM segments").fetchall()
    db.close()
    ok(root, "tag", segment, "learn", "--coder", "ann", "--quote", "from the carers \U0001F60A and the nurses.")
    project = open_project(root)
    store = open_store(project.store_path, create=False)
    try:
        view = ProjectView(store, project_codebook(project))
        units = project_qdpx(view, "emoji", redactor=IDENTITY, utf16=True)
        characters = project_qdpx(view, "emoji", redactor=IDENTITY)
    finally:
        store.close()
    (tmp_path / "u.qdpx").write_bytes(units)
    (tmp_path / "c.qdpx").write_bytes(characters)
    validate(tmp_path / "u.qdpx")
    start = EMOJI.index("from the carers")
    end = len(EMOJI.rstrip("\n"))
    in_units = len(EMOJI[:start].encode("utf-16-le")) // 2
    assert [(s, e) for s, e, _, _ in selections(tmp_path / "c.qdpx")] == [(start, end)]
    assert [(s, e) for s, e, _, _ in selections(tmp_path / "u.qdpx")] == [(in_units, in_units + (end - start) + 1)]
    assert in_units == start + 2  # the two emoji before it count two units each
    for name, utf16 in (("u.qdpx", True), ("c.qdpx", None)):
        fresh = tmp_path / f"fresh-{name}"
        fresh.mkdir()
        result = import_refi(open_project(fresh), tmp_path / name, utf16=utf16)
        assert result.codings == 1
        assert decisions(fresh) == [(EMOJI[EMOJI.index("We learnt"):end], "learn", "ann",
                                     "from the carers \U0001F60A and the nurses.", "imported")]


def test_export_utf16_option_counts_an_emoji_as_two(small, tmp_path):
    (small / "transcripts" / "E09.txt").write_text("Interviewer: Hello?\nE09: 🦽 I learnt so much there.\n",
                                                   encoding="utf-8")
    ok(small, "code")
    segment = segment_of(small, "🦽")
    ok(small, "tag", segment, "learn", "--quote", "I learnt so much", "--coder", "ann")
    plain, wide = tmp_path / "plain.qdpx", tmp_path / "wide.qdpx"
    ok(small, "export", "--format", "qdpx", "--out", str(plain))
    ok(small, "export", "--format", "qdpx", "--out", str(wide), "--utf16")
    validate(wide)
    [(start, end, words, _)] = [s for s in selections(plain) if s[2] == "I learnt so much"]
    assert [s[:2] for s in selections(wide) if s[2] == "I learnt so much"] == [(start + 1, end + 1)]
    refused = cli(small, "export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--utf16")
    assert refused.exit_code == 1
    assert " ".join(refused.output.split()) == ("Error: --utf16 is for --format qdpx How to fix: leave out --utf16, "
                                                "or export as qdpx.")
    assert not (tmp_path / "x.csv").exists()


def test_export_suggestions_is_for_qdpx_and_says_when_it_adds_none(small, tmp_path):
    """`--suggestions` exports the suggestions nobody decided; where there are none, the file
    was the same as without it, and nothing said so (new-user trial)."""
    ok(small, "code")
    refused = cli(small, "export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--suggestions")
    assert refused.exit_code == 1 and not (tmp_path / "x.csv").exists()
    assert " ".join(refused.output.split()) == ("Error: --suggestions is for --format qdpx How to fix: leave out "
                                                "--suggestions, or export as qdpx.")
    with_some = ok(small, "export", "--out", str(tmp_path / "some.qdpx"), "--suggestions")
    assert with_some.stderr == "" and any(users == ["copcode suggestions"] for *_, users in selections(
        tmp_path / "some.qdpx"))
    for segment, code in {(s, c) for s, c in suggested(small)}:
        ok(small, "reject", segment, code, "--coder", "ann")
    result = ok(small, "export", "--out", str(tmp_path / "none.qdpx"), "--suggestions")
    assert " ".join(result.stderr.split()) == (
        "Warning: --suggestions added none: no suggestion is left undecided (only those nobody accepted or "
        "rejected are exported as suggestions)")
    assert result.stdout == f"Wrote {tmp_path / 'none.qdpx'}\n"


def suggested(root) -> list[tuple[str, str]]:
    """(segment, code) of every suggestion in the store."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return db.execute("SELECT segment, code FROM suggestions").fetchall()
    finally:
        db.close()


def private_project(tmp_path, interviewer: str):
    """A project made by `copcode init`, its two speakers listed, Sam Lee as `interviewer`."""
    root = tmp_path / "private"
    ok(tmp_path, "init", str(root))
    list_identifiers(root, {"Jane Smith": "[name]", "Sam Lee": interviewer})
    (root / "transcripts" / "J01.txt").write_text(
        "Sam Lee: How was the service?\nJane Smith: The staff listened to me and I felt valued.\n"
        "Sam Lee: Anything else?\nJane Smith: The wait list was long.\n", encoding="utf-8")
    ok(root, "code")
    return root


def test_one_placeholder_for_every_speaker_comes_in_as_a_document_and_is_said(tmp_path):
    """"[name]:" on every turn (another tool's export, or copcode's before it wrote named
    speakers as their ids) cannot say who asks: not read as labels, so the import says the
    source comes in as a document rather than filing the questions as the participant's."""
    text = ("[name]: How was the service?\n[name]: The staff listened to me and I felt valued.\n"
            "[name]: Anything else?\n[name]: The wait list was long.\n")
    (tmp_path / "empty").mkdir()
    said = " ".join(ok(tmp_path / "empty", "import", str(qdpx(tmp_path, project_xml(source("J01", text))))).stdout.split())
    assert said.endswith("TextSource 'J01' has no speaker labels: it comes in as a document (transcripts/J01.txt, "
                         "`speakers: none`), the whole text one participant's, each paragraph a segment.")


def test_one_replacement_for_both_speakers_still_exports_two_speakers(tmp_path):
    """Named speakers are written as their ids, whatever their names' replacement: an export
    whose interviewer and participant were both "[name]" used to come back as a document."""
    exported = tmp_path / "same.qdpx"
    ok(private_project(tmp_path, "[name]"), "export", "--format", "qdpx", "--out", str(exported))
    (tmp_path / "empty").mkdir()
    assert ok(tmp_path / "empty", "import", str(exported)).stdout == (
        "Wrote codebooks/same.yaml and copcode.yaml\nAdded 1 transcript and 0 codings.\n")
    files = json.loads(ok(tmp_path / "empty", "transcripts", "--format", "json").stdout)["files"]
    assert [(s["label"], s["role"], s["turns"]) for s in files[0]["speakers"]] == [
        ("Interviewer", "interviewer", 2), ("J01", "participant", 2)]


@pytest.mark.parametrize("name, text, written", [
    # an id that is no label to the reader (no letter first): the replacement, a placeholder label
    ("07", "Interviewer: How was it?\nJane Smith: Fine.\nInterviewer: And?\nJane Smith: Good.\n",
     "Interviewer: How was it?\n[name]: Fine.\nInterviewer: And?\n[name]: Good.\n"),
    # an id the reader takes for a numbered interviewer ("I" and digits)
    ("I01", "Interviewer: How was it?\nJane Smith: Fine.\nInterviewer: And?\nJane Smith: Good.\n",
     "Interviewer: How was it?\n[name]: Fine.\nInterviewer: And?\n[name]: Good.\n"),
    # focus-group speakers mapped to ids of their own: the ids, read back as FG2's speakers
    ("FG2", "---\nspeakers: {Jane Smith: E21, Sam Lee: E22, Tom Harris: interviewer}\n---\n"
            "Tom Harris: How was it?\nJane Smith: Fine.\nSam Lee: Slow.\nTom Harris: And?\nJane Smith: Good.\n",
     "Tom Harris: How was it?\nE21: Fine.\nE22: Slow.\nTom Harris: And?\nE21: Good.\n"),
    # one speaker who speaks once reads back only as "Speaker 1", the other as their id: each chosen alone
    ("FG3", "---\nspeakers: {Jane Smith: FG3-JS, Sam Lee: FG3-P1, Tom Harris: interviewer}\n---\n"
            "Tom Harris: How was it?\nAlex: Fine.\nJane Smith: The wait.\nSam Lee: Slow.\nTom Harris: And?\n"
            "Alex: Good.\nSam Lee: Same.\n",
     "Tom Harris: How was it?\nAlex: Fine.\nSpeaker 1: The wait.\nP1: Slow.\nTom Harris: And?\nAlex: Good.\n"
     "P1: Same.\n"),
    # a label that is no identifier, which a listed name runs into: kept, the rest of the name replaced
    ("P09", "Interviewer\nWho helped you?\n\nSam\nLee and the staff were helpful.\n\nInterviewer\n"
            "Anything else?\n\nSam\nThe wait list.\n",
     "Interviewer\nWho helped you?\n\nSam\n[name] and the staff were helpful.\n\nInterviewer\n"
     "Anything else?\n\nSam\nThe wait list.\n"),
    # a label line above words that go on with the listed name: "Carter" is replaced too
    ("P08", "Interviewer\nWho helped you?\n\nJane\nSmith and the staff were helpful.\n\nInterviewer\n"
            "Anything else?\n\nJane\nThe wait list.\n",
     "Interviewer\nWho helped you?\n\nP08\n[name] and the staff were helpful.\n\nInterviewer\n"
     "Anything else?\n\nP08\nThe wait list.\n"),
])
def test_named_speakers_are_written_so_that_they_read_back(tmp_path, name, text, written):
    """A named speaker's label is written as their id only where copcode reads it back as that
    speaker; else as the name's replacement (code review: "07:" and "I01:" came back as
    documents, and the part of "Jane Smith" after a label "Jane" was left in the source)."""
    root = tmp_path / "private"
    ok(tmp_path, "init", str(root))
    list_identifiers(root, {"Jane Smith": "[name]", "Jane": "[name]", "Sam Lee": "[name]"})
    (root / "transcripts" / f"{name}.txt").write_text(text, encoding="utf-8")
    ok(root, "code")
    exported = tmp_path / "x.qdpx"
    ok(root, "export", "--out", str(exported))
    archive = zipfile.ZipFile(exported)
    [source] = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/")]
    assert source == written
    (tmp_path / "empty").mkdir()
    ok(tmp_path / "empty", "import", str(exported))
    here, back = (json.loads(ok(folder, "transcripts", "--format", "json").stdout)["files"][0]["speakers"]
                  for folder in (root, tmp_path / "empty"))
    assert [(s["role"], s["turns"]) for s in back] == [(s["role"], s["turns"]) for s in here]


def test_a_pseudonymised_export_imports_into_an_empty_folder(tmp_path):
    """The named speakers of a privacy-on export are written as their ids ("J01:"): read back
    as labels, so the participant's turns are not taken for the interviewer's."""
    root = private_project(tmp_path, "[interviewer]")
    segment = segment_of(root, "The staff")
    ok(root, "tag", segment, "positive", "--coder", "ann")
    exported = tmp_path / "private.qdpx"
    ok(root, "export", "--format", "qdpx", "--out", str(exported))
    source = zipfile.ZipFile(exported)
    text = next(source.read(n).decode("utf-8") for n in source.namelist() if n.startswith("sources/"))
    assert text.startswith("Interviewer: How was the service?\nJ01: The staff")
    (tmp_path / "empty").mkdir()
    assert ok(tmp_path / "empty", "import", str(exported)).stdout.startswith(
        "Wrote codebooks/private.yaml and copcode.yaml\nAdded 1 transcript and 1 coding.\n")
    quotes = ok(tmp_path / "empty", "quotes", "--format", "csv").stdout
    assert "The staff listened to me and I felt valued.,1.0,accepted by ann" in quotes


def test_a_project_made_by_an_import_has_privacy_on_from_the_start(tmp_path):
    """As `copcode init` makes it: an NVivo project's phone numbers and e-mail addresses are not
    written into out/ by the `copcode code` the import runs."""
    from copcode.starter import SETTINGS

    text = "Interviewer: How can we reach you?\nP01: Call me on 07700 900123 or write to jo@example.org.\n"
    path = qdpx(tmp_path, project_xml(source("P01", text, selection(text, "Call me", coding()))))
    (tmp_path / "empty" / "transcripts").mkdir(parents=True)
    (tmp_path / "empty" / "transcripts" / ".DS_Store").write_bytes(b"\0")  # no transcript
    assert ok(tmp_path / "empty", "import", str(path)).stdout == (
        "Wrote codebooks/study.yaml and copcode.yaml\nAdded 1 transcript and 1 coding.\n")
    assert (tmp_path / "empty" / "copcode.yaml").read_text(encoding="utf-8") == SETTINGS
    written = (tmp_path / "empty" / "out" / "coded_segments.csv").read_text(encoding="utf-8")
    assert "07700" not in written and "jo@example.org" not in written and "Call me on [phone]" in written
    # a project that has its settings keeps them
    assert ok(tmp_path / "empty", "import", str(path)).stdout.startswith("Added 0 transcripts")
    # so does a folder of transcripts without settings (the demo's groups apply to it)
    (tmp_path / "mine" / "transcripts").mkdir(parents=True)
    (tmp_path / "mine" / "transcripts" / "E01.txt").write_text("Interviewer: Hi?\nE01: Hello there.\n", encoding="utf-8")
    assert ok(tmp_path / "mine", "import", str(path)).stdout.startswith("Wrote codebooks/study.yaml\n")
    assert not (tmp_path / "mine" / "copcode.yaml").exists()


def test_a_pseudonymised_export_of_label_line_transcripts_imports_into_an_empty_folder(tmp_path):
    """Otter's "Sam Lee  0:02" and Word's bold name above the words come out of a privacy-on
    export as "Interviewer  0:02" and "Interviewer" on their lines, the participant as their
    id: read back as labels, with the turns, speakers and codings they had."""
    import docx

    root = tmp_path / "private"
    ok(tmp_path, "init", str(root))
    list_identifiers(root, {"Sam Lee": "[interviewer]", "Tom Harris": "[name]", "Priya Shah": "[name]"})
    (root / "transcripts" / "C03.txt").write_text(
        "Sam Lee  0:02\nHow was the service?\n\nTom Harris  0:08\nThe staff listened to me and I felt valued.\n\n"
        "Sam Lee  0:15\nAnything else?\n\nTom Harris  0:20\nThe wait list was long.\n", encoding="utf-8")
    document = docx.Document()
    for speaker, words in [("Sam Lee", "How was the service?"), ("Priya Shah", "They listened and it was helpful."),
                           ("Sam Lee", "Anything else?"), ("Priya Shah", "No time to see anyone, a real barrier.")]:
        document.add_paragraph().add_run(speaker).bold = True
        document.add_paragraph(words)
    document.save(root / "transcripts" / "C04.docx")
    ok(root, "code")
    ok(root, "tag", segment_of(root, "The staff"), "positive", "--quote", "listened to me", "--coder", "ann")
    ok(root, "tag", segment_of(root, "No time"), "barriers", "--coder", "ann")
    exported = tmp_path / "private.qdpx"
    ok(root, "export", "--format", "qdpx", "--out", str(exported))
    archive = zipfile.ZipFile(exported)
    texts = sorted(archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/"))
    assert texts == [
        "Interviewer\nHow was the service?\nC04\nThey listened and it was helpful.\nInterviewer\n"
        "Anything else?\nC04\nNo time to see anyone, a real barrier.",
        "Interviewer  0:02\nHow was the service?\n\nC03  0:08\nThe staff listened to me and I felt valued.\n\n"
        "Interviewer  0:15\nAnything else?\n\nC03  0:20\nThe wait list was long.\n"]
    fresh = tmp_path / "empty"
    fresh.mkdir()
    assert ok(fresh, "import", str(exported)).stdout.startswith(
        "Wrote codebooks/private.yaml and copcode.yaml\nAdded 2 transcripts and 2 codings.\n")
    files = json.loads(ok(fresh, "transcripts", "--format", "json").stdout)["files"]
    assert [[(s["label"], s["role"], s["turns"]) for s in f["speakers"]] for f in files] == [
        [("Interviewer", "interviewer", 2), ("C03", "participant", 2)],
        [("Interviewer", "interviewer", 2), ("C04", "participant", 2)]]
    assert sorted(decisions(fresh)) == [
        ("No time to see anyone, a real barrier.", "barriers", "ann", None, "imported"),
        ("The staff listened to me and I felt valued.", "positive", "ann", "listened to me", "imported")]
