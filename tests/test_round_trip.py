"""copcode -> .qdpx -> copcode (issue 13, part 7): a coder's note on their accept or tag, and
the coder, come back; the export validates against the official REFI-QDA schema; notes that
are not on codings (memos on sources, codes, the project) are said, never dropped silently."""

from __future__ import annotations

import shutil
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import code_project, project_codebook
from copcode.decisions import coding_state, record
from copcode.ingest import refi
from copcode.project import open_project
from copcode.store import open_store

from conftest import copy_demo

SCHEMA = Path(__file__).parent / "refi-qda" / "Project.xsd"
NS = {"q": "urn:QDA-XML:project:1.0"}

# segments of the demo and codes the decisions below are made on
JANE_SEGMENT = "E01-e7f6b7"  # tagged inclusive-learning by "Smith, Jane", with a note
SUGGESTED = "P01-a0d9c9"  # suggested shared-language: accepted by ann with a note, tagged by bob without
CARA_SEGMENT = "P04-cbb7d1"  # tagged building-relationships by cara twice: the second note is current
DAN_SEGMENT = "R02-46f747"  # tagged by dan with a note, then untagged: nothing exported


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def ok(root, *args):
    result = cli(root, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> Path:
    """A copy of the demo, coded, with decisions and notes made as a coder makes them."""
    root = copy_demo(tmp_path_factory.mktemp("decided"))
    project = open_project(root)
    code_project(project)
    ok(root, "tag", JANE_SEGMENT, "inclusive-learning", "--coder", "Smith, Jane", "--note", "clear case")
    ok(root, "tag", SUGGESTED, "shared-language", "--coder", "bob")
    ok(root, "tag", CARA_SEGMENT, "building-relationships", "--coder", "cara", "--note", "first thought")
    ok(root, "tag", CARA_SEGMENT, "building-relationships", "--coder", "cara",
       "--note", "second thought: \x1b[31mwarm\nmeetings")
    ok(root, "tag", DAN_SEGMENT, "research-collaboration", "--coder", "dan", "--note", "not sure")
    ok(root, "untag", DAN_SEGMENT, "research-collaboration", "--coder", "dan")
    store = open_store(project.store_path, create=False)
    try:  # the review screen's accept (no command line verb): the same decision log
        record(store, project_codebook(project), SUGGESTED, "shared-language", "accept", "ann", "fits the definition")
    finally:
        store.close()
    return root


@pytest.fixture(scope="module")
def exported(decided, tmp_path_factory) -> Path:
    qdpx = tmp_path_factory.mktemp("export") / "study.qdpx"
    ok(decided, "export", "--format", "qdpx", "--out", str(qdpx))
    return qdpx


@pytest.fixture(scope="module")
def reimported(exported, tmp_path_factory):
    """The export imported into an empty folder: (the folder, the import's output)."""
    fresh = tmp_path_factory.mktemp("fresh")
    result = ok(fresh, "import", str(exported))
    return fresh, result.stdout


def decisions(root: Path) -> list[tuple]:
    """(segment, code, verdict, coder, note) of every decision in the store, in order."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return db.execute("SELECT segment, code, verdict, coder, note FROM decisions ORDER BY id").fetchall()
    finally:
        db.close()


def notes_by_words(root: Path) -> dict[tuple[str, str, str], str]:
    """(the segment's words, code, coder) -> the note of every accepted coding that has one."""
    project = open_project(root)
    store = open_store(project.store_path, create=False)
    try:
        state = coding_state(store, project_codebook(project))
        texts = dict(store.db.execute("SELECT id, text FROM segments"))
        return {(texts[s], c, coder): note for (s, c, coder), note in state.notes.items()}
    finally:
        store.close()


def notes_in(qdpx: Path) -> list[tuple[str, str, str]]:
    """(the Note's name, its user's name, its text) of every Note in the export."""
    root = ET.fromstring(zipfile.ZipFile(qdpx).read("project.qde"))
    users = {u.get("guid"): u.get("name") for u in root.findall("q:Users/q:User", NS)}
    return [(n.get("name"), users[n.get("creatingUser")], n.find("q:PlainTextContent", NS).text)
            for n in root.findall("q:Notes/q:Note", NS)]


def test_the_export_writes_each_decisions_note_and_validates(exported):
    xml = zipfile.ZipFile(exported).read("project.qde").decode("utf-8")
    xmlschema.XMLSchema(SCHEMA).validate(xml)
    assert notes_in(exported) == [
        (f"Note by Smith, Jane on {JANE_SEGMENT} / inclusive-learning", "Smith, Jane", "clear case"),
        (f"Note by ann on {SUGGESTED} / shared-language", "ann", "fits the definition"),
        (f"Note by cara on {CARA_SEGMENT} / building-relationships", "cara", "second thought: \u241b[31mwarm\nmeetings"),
    ]
    root = ET.fromstring(xml)
    assert [child.tag.split("}")[1] for child in root] == ["Users", "CodeBook", "Variables", "Cases", "Sources", "Notes"]
    users = {u.get("guid"): u.get("name") for u in root.findall("q:Users/q:User", NS)}
    notes = {n.get("guid"): n for n in root.findall("q:Notes/q:Note", NS)}
    coded = {}
    for coding in root.iter(f"{{{NS['q']}}}Coding"):
        refs = [ref.get("targetGUID") for ref in coding.findall("q:NoteRef", NS)]
        assert [child.tag.split("}")[1] for child in coding] == ["CodeRef"] + ["NoteRef"] * len(refs)
        for ref in refs:
            # each note is by the coder whose coding refers to it
            assert notes[ref].get("creatingUser") == coding.get("creatingUser")
        coded[users[coding.get("creatingUser")]] = coded.get(users[coding.get("creatingUser")], 0) + len(refs)
    assert coded == {"Smith, Jane": 1, "ann": 1, "bob": 0, "cara": 1}  # dan untagged his: no coding, no note


def test_the_export_is_the_same_twice(decided, exported, tmp_path):
    again = tmp_path / "again.qdpx"
    ok(decided, "export", "--format", "qdpx", "--out", str(again))
    assert zipfile.ZipFile(again).read("project.qde") == zipfile.ZipFile(exported).read("project.qde")


def test_round_trip_keeps_each_coders_note_and_name(reimported):
    fresh, stdout = reimported
    assert stdout == "Wrote codebooks/study.yaml and copcode.yaml\nAdded 21 transcripts and 4 codings.\n"
    # bob's coding had no note: it is recorded with the note every imported coding gets
    assert sorted(decisions(fresh)) == [
        (JANE_SEGMENT, "inclusive-learning", "tag", "Smith, Jane", "clear case"),
        (SUGGESTED, "shared-language", "tag", "ann", "fits the definition"),
        (SUGGESTED, "shared-language", "tag", "bob", "imported"),
        (CARA_SEGMENT, "building-relationships", "tag", "cara", "second thought: \u241b[31mwarm\nmeetings"),
    ]


def test_case_37_a_coder_with_a_comma_comes_back_as_one_coder(reimported):
    fresh, _ = reimported
    coded = cli(fresh, "quotes", "--code", "inclusive-learning", "--status", "accepted", "--format", "json")
    assert coded.exit_code == 0, coded.output
    import json

    rows = json.loads(coded.stdout)
    assert [(r["segment"], r["status"]) for r in rows] == [(JANE_SEGMENT, "accepted by Smith, Jane")]
    shared = json.loads(cli(fresh, "quotes", "--code", "shared-language", "--status", "accepted",
                            "--format", "json").stdout)
    assert [(r["segment"], r["status"]) for r in shared] == [(SUGGESTED, "accepted by ann, bob")]


def test_the_notes_are_the_same_after_the_round_trip(decided, reimported):
    fresh, _ = reimported
    # a control character, which XML cannot hold, comes back as the symbol that shows it
    before = {key: note.replace("\x1b", "\u241b") for key, note in notes_by_words(decided).items()}
    assert len(before) == 3
    after = notes_by_words(fresh)
    assert after == {**before, **{key: "imported" for key in after if key[2] == "bob"}}


def test_a_second_round_trip_writes_the_same_notes(reimported, exported, tmp_path):
    fresh, _ = reimported
    again = tmp_path / "again.qdpx"
    ok(fresh, "export", "--format", "qdpx", "--out", str(again))
    xmlschema.XMLSchema(SCHEMA).validate(zipfile.ZipFile(again).read("project.qde").decode("utf-8"))
    # the note "imported" is copcode's, not the coder's: it is not written as a Note
    assert notes_in(again) == notes_in(exported)


def test_importing_the_export_again_records_nothing_new(reimported, exported):
    fresh, _ = reimported
    before = decisions(fresh)
    result = ok(fresh, "import", str(exported))
    # the participants.csv the first import wrote is the file's own: not news
    assert result.stdout == "Added 0 transcripts and 0 codings.\nNothing new: 4 codings already recorded.\n"
    assert decisions(fresh) == before


def test_a_participants_csv_edited_since_is_kept_and_said(reimported, exported, tmp_path):
    root = tmp_path / "edited"
    shutil.copytree(reimported[0], root)
    written = (root / "participants.csv").read_text(encoding="utf-8")
    edited = written + "Z99" + "," * written.splitlines()[0].count(",") + "\n"  # a participant added by hand
    (root / "participants.csv").write_text(edited, encoding="utf-8")
    result = ok(root, "import", str(exported))
    assert result.stdout == ("Added 0 transcripts and 0 codings.\nNothing new: 4 codings already recorded.\n"
                             "Not imported: 21 cases and their variables: participants.csv is already here; left out\n")
    assert (root / "participants.csv").read_text(encoding="utf-8") == edited


def test_a_note_is_pseudonymised_like_every_other_text(decided, tmp_path):
    root = tmp_path / "private"
    shutil.copytree(decided, root)
    (root / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n',
                                       encoding="utf-8")
    ok(root, "tag", JANE_SEGMENT, "capturing-knowledge", "--coder", "Margaret Okafor",
       "--note", "as Margaret Okafor told me on 12/03/2024")
    qdpx = tmp_path / "private.qdpx"
    ok(root, "export", "--format", "qdpx", "--out", str(qdpx))
    assert (f"Note by [name] on {JANE_SEGMENT} / capturing-knowledge", "[name]", "as [name] told me on [date]") \
        in notes_in(qdpx)
    assert b"Okafor" not in zipfile.ZipFile(qdpx).read("project.qde")


# Files written by other programs: notes on codings, memos elsewhere

LEARN, TRUST = "22222222-2222-2222-2222-222222222222", "22222222-2222-2222-2222-333333333333"
ANN, BOB = "11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-222222222222"
E01_TEXT = "Interviewer: What did you learn?\nE01: We learnt a lot from the carers. And we trusted them.\n"
N = "77777777-7777-7777-7777-7777777777"  # + two digits: a Note's guid


def coding(number: int, user: str, code: str, *notes: str) -> str:
    refs = "".join(f'<NoteRef targetGUID="{N}{n}"/>' for n in notes)
    return (f'<Coding guid="55555555-5555-5555-5555-5555555555{number:02d}" creatingUser="{user}">'
            f'<CodeRef targetGUID="{code}"/>{refs}</Coding>')


def other_tools_project(selections: str, notes: str, source_notes: str = "", code_notes: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="x" origin="MAXQDA">'
            f'<Users><User guid="{ANN}" name="ann"/><User guid="{BOB}" name="Smith, Jane"/></Users>'
            f'<CodeBook><Codes><Code guid="99999999-0000-0000-0000-000000000000" name="Community" isCodable="false">'
            f'<Code guid="{LEARN}" name="Learning" isCodable="true">{code_notes}</Code>'
            f'<Code guid="{TRUST}" name="Trust" isCodable="true"/></Code></Codes></CodeBook>'
            f'<Sources><TextSource guid="33333333-3333-3333-3333-333333333333" name="E01">'
            f'<PlainTextContent>{E01_TEXT}</PlainTextContent>{selections}{source_notes}</TextSource></Sources>'
            f'<Notes>{notes}</Notes></Project>')


def selection(number: int, words: str, *codings: str) -> str:
    start = E01_TEXT.index(words)
    return (f'<PlainTextSelection guid="44444444-4444-4444-4444-4444444444{number:02d}" name="{words}" '
            f'startPosition="{start}" endPosition="{start + len(words)}">{"".join(codings)}</PlainTextSelection>')


def note(n: str, text: str | None = None, path: str | None = None) -> str:
    content = f"<PlainTextContent>{text}</PlainTextContent>" if text is not None else ""
    where = f' plainTextPath="internal://{path}"' if path else ""
    return f'<Note guid="{N}{n}" name="note {n}" creatingUser="{ANN}"{where}>{content}</Note>'


def write_qdpx(path: Path, xml: str, **members: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for name, text in members.items():
            zf.writestr(f"sources/{name}", text)
    return path


def test_notes_of_other_programs_codings_come_in_and_memos_are_said(tmp_path):
    xml = other_tools_project(
        selection(1, "We learnt a lot", coding(1, ANN, LEARN, "01", "02"), coding(2, BOB, LEARN)) +
        selection(2, "from the carers", coding(3, ANN, LEARN, "03")) +  # merged with coding 1: one segment
        selection(3, "we trusted them", coding(4, BOB, TRUST, "04", "99")),  # note 99 is not in the file
        notes=note("01", "learning from peers") + note("02", "see the memo") + note("03", "and from carers") +
        note("04", path="note04.txt") + note("05", "a memo on the source") + note("06", "a memo on the code") +
        note("07", "a free memo") + note("01", "the same guid again"),
        source_notes=f'<NoteRef targetGUID="{N}05"/>', code_notes=f'<NoteRef targetGUID="{N}06"/>')
    xmlschema.XMLSchema(SCHEMA).validate(xml)
    qdpx = write_qdpx(tmp_path / "maxqda.qdpx", xml, **{"note04.txt": "trust\r\ngrows slowly"})
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = ok(fresh, "import", str(qdpx))
    assert result.stdout.splitlines() == [
        "Wrote codebooks/maxqda.yaml and copcode.yaml", "Added 1 transcript and 3 codings.",
        "Merged: source 'E01': 2 codings of 'learning' by ann fall on one segment, "
        f"{decisions(fresh)[0][0]} (characters 38-91), at 38-53 and 54-69: recorded once.",
        "Not imported: 1 note reference(s) of codings name no Note in the file; those notes are left out",
        "Not imported: 4 memos on sources/codes are not carried over",
    ]
    assert [row[2:] for row in decisions(fresh)] == [
        ("tag", "ann", "learning from peers\n\nsee the memo\n\nand from carers"),
        ("tag", "Smith, Jane", "imported"),
        ("tag", "Smith, Jane", "trust\ngrows slowly"),
    ]


def test_a_note_whose_text_cannot_be_read_is_said(tmp_path):
    xml = other_tools_project(selection(1, "We learnt a lot", coding(1, ANN, LEARN, "01")),
                              notes=note("01", path="missing.txt"))
    imported = refi.read_qdpx(write_qdpx(tmp_path / "rich.qdpx", xml))
    assert [c[5] for c in imported.codings] == [""]
    assert imported.problems == [
        "1 note(s) on codings have no plain text (inline or in sources/) that copcode can read; left out"]


def test_one_memo_is_said_in_the_singular(tmp_path):
    xml = other_tools_project(selection(1, "We learnt a lot", coding(1, ANN, LEARN)), notes=note("01", "a memo"))
    imported = refi.read_qdpx(write_qdpx(tmp_path / "memo.qdpx", xml))
    assert imported.problems == ["1 memo on sources/codes is not carried over"]


def test_notes_are_bounded_when_many_codings_refer_to_one_long_note(tmp_path):
    """Each decision keeps its own copy of its note: one long note that every coding refers to
    must not be multiplied into the store without bound."""
    long = "x" * (refi.MAX_NOTES // 2 + 1)
    xml = other_tools_project(
        selection(1, "We learnt a lot", coding(1, ANN, LEARN, "01")) +
        selection(2, "from the carers", coding(2, ANN, TRUST, "01")) +
        selection(3, "we trusted them", coding(3, BOB, TRUST, "01"), coding(4, ANN, LEARN, "02")),
        notes=note("01", long) + note("02", "short"))
    qde = tmp_path / "long.qde"  # a bare .qde: zipped, the repeated letters would look like a zip bomb
    qde.write_text(xml, encoding="utf-8")
    imported = refi.read_qdpx(qde)
    assert [len(c[5]) for c in imported.codings] == [len(long), 0, 0, 5]
    assert imported.problems == [
        "the notes of 2 coding(s): together the notes of the file's codings are more than 16 MiB; "
        "those codings are recorded without them"]
