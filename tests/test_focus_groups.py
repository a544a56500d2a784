"""Focus groups (issue 11, parts 3 and 8): every speaker who is not the interviewer is a
participant of their own in every output, and the interviewer's question is shown as context."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.tables import asks

from conftest import store_as_of, write

FG1 = """\
    ---
    participant: FG1
    group: C
    ---
    Moderator: What did you learn from the group?

    P1: I learnt so much from the others. Carers know things nobody writes down.

    P2: My workload is huge, I had no time for any of it.

    Moderator: Anything else?

    P2: The training we get is poor, but I learnt to read about it myself.
    """


LATER = """
    P1: And I learnt who to ring.
    """


def cli(root, *args, input=None):
    return CliRunner().invoke(app, ["--project", str(root), *args], input=input, env={"COLUMNS": "200"})


def coded_focus_group(root):
    write(root / "transcripts" / "FG1.txt", FG1)
    result = cli(root, "code")
    assert result.exit_code == 0, result.output
    return root


def csv_rows(text):
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_segments_carry_each_speakers_participant_id(small_project):
    root = coded_focus_group(small_project)
    result = cli(root, "segments", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = [r for r in csv_rows(result.stdout) if r["transcript"] == "FG1"]
    assert [(r["participant"], r["speaker"], r["group"]) for r in rows] == [
        ("FG1-P1", "P1", "C"), ("FG1-P2", "P2", "C"), ("FG1-P2", "P2", "C")]
    # the store keeps them: each segment's and turn's participant, each participant's attributes
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    assert db.execute("SELECT participant FROM segments WHERE transcript = 'FG1' ORDER BY start").fetchall() == [
        ("FG1-P1",), ("FG1-P2",), ("FG1-P2",)]
    assert [(p, json.loads(a)["group"]) for p, a in db.execute(
        "SELECT id, attributes FROM participants WHERE transcript = 'FG1' ORDER BY id")] == [
        ("FG1-P1", "C"), ("FG1-P2", "C")]
    db.close()


def test_quotes_are_labelled_with_the_speakers_id(small_project):
    root = coded_focus_group(small_project)
    result = cli(root, "quotes", "--code", "time", "--format", "csv")
    rows = csv_rows(result.stdout)
    assert [(r["participant"], r["quote"]) for r in rows if r["transcript"] == "FG1"] == [
        ("FG1-P2", "My workload is huge, I had no time for any of it.")]
    result = cli(root, "quotes", "--code", "learn", "--limit", "0", "--per-participant", "0")
    assert result.exit_code == 0, result.output
    assert "FG1-P1" in result.stdout and "FG1-P2" in result.stdout


def test_matrix_has_a_row_per_speaker_and_counts_them(small_project):
    root = coded_focus_group(small_project)
    result = cli(root, "matrix", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [(r["participant"], r["group"], r["learn"], r["time"]) for r in rows] == [
        ("E01", "E", "1", "0"), ("FG1-P1", "C", "1", "0"), ("FG1-P2", "C", "1", "1"),
        ("P02", "P", "1", "1"),
        ("participants", "", "4 of 4 (C 2/2, E 1/1, P 1/1)", "2 of 4 (C 1/2, E 0/1, P 1/1)")]
    result = cli(root, "matrix", "--cells", "quotes", "--format", "csv")
    fg = {r["participant"]: r["time"] for r in csv_rows(result.stdout)}
    assert fg["FG1-P2"] == "“My workload is huge, I had no time for any of it.” (FG1-P2)"
    summary = (root / "out" / "coded_segments.csv").read_text(encoding="utf-8")
    assert "FG1-P1" in summary and "FG1-P2" in summary


def test_status_counts_each_speaker_as_a_participant(small_project):
    from copcode.coding import project_codebook
    from copcode.project import open_project
    from copcode.store import open_store
    from copcode.tables import ProjectView, coding_summary

    root = coded_focus_group(small_project)
    project = open_project(root)
    store = open_store(project.store_path, create=False, readonly=True)
    try:
        summary = coding_summary(ProjectView(store, project_codebook(project)), ["C"])
    finally:
        store.close()
    rows = {r["code"]: r for r in summary.to_dict()}
    # P2 speaks twice about learning, apart: still one participant
    assert rows["learn"]["participants"] == "4 of 4" and rows["learn"]["C"] == "2/2"
    assert rows["time"]["participants"] == "2 of 4" and rows["time"]["C"] == "1/2"


def test_with_question_gives_the_question_before_the_quote(small_project):
    root = coded_focus_group(small_project)
    result = cli(root, "quotes", "--limit", "0", "--per-participant", "0", "--with", "question", "--format", "csv")
    assert result.exit_code == 0, result.output
    asked = {(r["participant"], r["code"], r["quote"][:12]): r["question"] for r in csv_rows(result.stdout)}
    assert asked[("FG1-P1", "learn", "I learnt so ")] == "What did you learn from the group?"
    # P2's first answer follows P1's: the question is still the moderator's last one
    assert asked[("FG1-P2", "time", "My workload ")] == "What did you learn from the group?"
    assert asked[("FG1-P2", "learn", "The training")] == "Anything else?"
    assert asked[("P02", "time", "No. My workl")] == "Did you go to every meeting?"


def test_with_question_is_empty_when_nobody_asked(small_project):
    write(small_project / "transcripts" / "E01.txt", """\
        E01: I learnt so much from the others before anyone asked.

        Interviewer: What did you learn from the group?

        E01: Not much more.
        """)
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    result = cli(small_project, "quotes", "--code", "learn", "--with", "question", "--format", "csv")
    rows = {r["participant"]: r["question"] for r in csv_rows(result.stdout)}
    assert rows["E01"] == ""


def test_with_question_is_pseudonymised(small_project):
    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n', encoding="utf-8")
    write(small_project / "transcripts" / "E01.txt", """\
        Interviewer: What did you learn from Margaret Okafor?

        E01: I learnt so much from the others.
        """)
    assert cli(small_project, "code").exit_code == 0
    result = cli(small_project, "quotes", "--code", "learn", "--with", "question", "--format", "csv")
    rows = {r["participant"]: r["question"] for r in csv_rows(result.stdout)}
    assert rows["E01"] == "What did you learn from [name]?"
    assert "Okafor" not in result.stdout


def test_review_screen_shows_the_question_above_the_passage(small_project):
    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n', encoding="utf-8")
    write(small_project / "transcripts" / "FG1.txt", FG1.replace("Anything else?", "Anything else, Margaret Okafor?"))
    assert cli(small_project, "code").exit_code == 0
    result = cli(small_project, "review", "--coder", "ann", "--participant", "FG1-P2", input="sq")
    assert result.exit_code == 0, result.output
    screens = result.stdout.split(" of 2 ")
    assert "What did you learn from the group?" in screens[1]
    assert screens[1].index("What did you learn") < screens[1].index("My workload is huge")
    assert "Anything else, [name]?" in screens[2] and "Okafor" not in result.stdout


def test_a_listed_name_as_a_focus_group_speaker_is_refused(small_project):
    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n', encoding="utf-8")
    write(small_project / "transcripts" / "FG1.txt", (FG1 + LATER).replace("P1:", "Margaret Okafor:"))
    result = cli(small_project, "code")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: transcripts/FG1.txt: the participant id 'FG1-Margaret-Okafor' of the speaker "
        "'Margaret Okafor' is a listed identifier (Margaret Okafor)\n"
        "  How to fix: map the speaker to an id in the transcript's header, e.g. `speakers: "
        "{Margaret Okafor: FG1-P1}`; ids are shown unredacted in every output.\n")
    assert not (small_project / ".copcode" / "copcode.db").exists() or sqlite3.connect(
        small_project / ".copcode" / "copcode.db").execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
    assert not (small_project / "out").exists()


def test_mapping_the_listed_speaker_to_an_id_is_accepted(small_project):
    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n', encoding="utf-8")
    text = (FG1 + LATER).replace("P1:", "Margaret Okafor:").replace("group: C", "group: C\n    speakers: {Margaret Okafor: FG1-MO}")
    write(small_project / "transcripts" / "FG1.txt", text)
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    result = cli(small_project, "segments", "--participant", "FG1-MO", "--format", "csv")
    assert [r["participant"] for r in csv_rows(result.stdout)] == ["FG1-MO", "FG1-MO"]


def test_named_speakers_are_written_as_their_ids_in_the_qdpx_and_the_report(small_project, tmp_path):
    """A speaker label that is a listed name is written as the speaker's id, not as "[name]":
    with every speaker "[name]:", a pseudonymised .qdpx came back as one participant, and the
    report's transcripts did not say who spoke (new-user trial)."""
    import re
    import zipfile

    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n    "Dev Patel": "[name]"\n'
        '    "Sam Lee": "[name]"\n', encoding="utf-8")
    for other in ("E01.txt", "P02.txt"):
        (small_project / "transcripts" / other).unlink()
    header = "group: C\n    speakers: {Sam Lee: interviewer, Margaret Okafor: FG1-P1, Dev Patel: FG1-P2}"
    write(small_project / "transcripts" / "FG1.txt", FG1.replace("group: C", header).replace(
        "Moderator:", "Sam Lee:").replace("P1:", "Margaret Okafor:").replace("P2:", "Dev Patel:"))
    assert cli(small_project, "code").exit_code == 0
    result = cli(small_project, "tag", *segment_of(small_project, "workload"), "time", "--coder", "ana")
    assert result.exit_code == 0, result.output
    for out in ("fg.qdpx", "fg.html"):
        result = cli(small_project, "export", "--out", str(tmp_path / out))
        assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "fg.qdpx") as archive:
        [source] = [archive.read(n).decode() for n in archive.namelist() if n.startswith("sources/")]
        project = archive.read("project.qde").decode()
    assert source == (
        "Interviewer: What did you learn from the group?\n\n"
        "P1: I learnt so much from the others. Carers know things nobody writes down.\n\n"
        "P2: My workload is huge, I had no time for any of it.\n\n"
        "Interviewer: Anything else?\n\n"
        "P2: The training we get is poor, but I learnt to read about it myself.\n")
    # the selection moved with the shorter labels: its offsets still hold the tagged words
    start, end = map(int, re.search(r'startPosition="(\d+)" endPosition="(\d+)"', project).groups())
    assert source[start:end] == "My workload is huge, I had no time for any of it."
    report = (tmp_path / "fg.html").read_text(encoding="utf-8")
    assert re.findall(r'<span class="speaker">([^<]*)</span>', report) == [
        "Interviewer:", "FG1-P1:", "FG1-P2:", "Interviewer:", "FG1-P2:"]
    assert "Okafor" not in report and "Okafor" not in source and "Sam Lee" not in source
    back = tmp_path / "back"
    back.mkdir()
    result = cli(back, "import", str(tmp_path / "fg.qdpx"))
    assert result.exit_code == 0, result.output
    result = cli(back, "segments", "--format", "csv")
    assert [(r["participant"], r["codes"]) for r in csv_rows(result.stdout)] == [
        ("FG1-P1", ""), ("FG1-P2", "time: accepted"), ("FG1-P2", "")]


def segment_of(root, words):
    """The id of the segment that holds `words`."""
    rows = csv_rows(cli(root, "segments", "--format", "csv").stdout)
    return [next(r["segment"] for r in rows if words in r["text"])]


def test_a_store_coded_before_participants_were_kept_reads_as_before(small_project):
    """A store of schema 3 (no participant per segment) is read as it is by read commands,
    and after the migration (a write command) falls back to the transcript's participant."""
    from copcode.store import PARTICIPANTS_KEPT, SCHEMA

    assert cli(small_project, "code").exit_code == 0
    commands = [["quotes", "--format", "csv", "--with", "question"], ["matrix", "--format", "csv"],
                ["segments", "--format", "csv"], ["status"]]
    before = [cli(small_project, *c).stdout for c in commands]
    store_as_of(small_project, PARTICIPANTS_KEPT - 1)
    assert [cli(small_project, *c).stdout for c in commands] == before
    segment = csv_rows(before[2])[0]["segment"]
    assert cli(small_project, "tag", segment, "time").exit_code == 0  # migrates the store
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
    assert db.execute("SELECT DISTINCT participant FROM segments").fetchall() == [("",)]
    db.close()
    after = [cli(small_project, *c).stdout for c in commands[1:3]]
    assert csv_rows(after[1]) != csv_rows(before[2])  # the tag shows
    assert [r["participant"] for r in csv_rows(after[1])] == [r["participant"] for r in csv_rows(before[2])]
    assert [r["participant"] for r in csv_rows(after[0])] == [r["participant"] for r in csv_rows(before[1])]


def test_with_question_in_the_terminal_and_in_word(small_project, tmp_path):
    import docx

    root = coded_focus_group(small_project)
    result = cli(root, "quotes", "--code", "time", "--with", "question")
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert shown.index("What did you learn from the group?") < shown.index("My workload is huge")
    assert "(FG1-P2)" in shown  # the question is not part of the label
    out = tmp_path / "quotes.docx"
    assert cli(root, "quotes", "--code", "time", "--with", "question", "--out", str(out)).exit_code == 0
    paragraphs = [p.text for p in docx.Document(str(out)).paragraphs]
    at = paragraphs.index("What did you learn from the group?")
    assert paragraphs[at + 1].startswith("“My workload is huge, I had no time for any of it.” (FG1-P2)")


def test_with_question_passes_over_a_backchannel_and_an_empty_turn(small_project):
    # "Mm-hmm." interrupts an answer: the rest of it still answers the question before
    write(small_project / "transcripts" / "E02.txt", """\
        Interviewer: What did you learn from the group?

        E02: I learnt so much from the others.

        Interviewer: Mm-hmm.

        E02: And I learnt who to ring.

        Interviewer: Tell me about the training

        E02: I learnt to read about it myself.

        Interviewer:

        E02: I learnt patience as well.
        """)
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    result = cli(small_project, "quotes", "--code", "learn", "--limit", "0", "--per-participant", "0",
                 "--with", "question", "--format", "csv")
    rows = sorted((r["quote"], r["question"]) for r in csv_rows(result.stdout) if r["participant"] == "E02")
    assert rows == [("And I learnt who to ring.", "What did you learn from the group?"),
                    ("I learnt patience as well.", "Tell me about the training"),
                    ("I learnt so much from the others.", "What did you learn from the group?"),
                    ("I learnt to read about it myself.", "Tell me about the training")]


@pytest.mark.parametrize("turn, asking", [
    ("What did you learn?", True), ("Why?", True), ("Tell me about your role.", True), ("Go on then, tell me", True),
    ("Mm-hmm.", False), ("Right, okay.", False), ("Yeah, yeah, yeah.", False), ("[laughs] Go on.", False),
    ("(pause) Right.", False), ("[inaudible]", False), ("", False), ("Mm-hmm?", True),
    ("¿Por qué?", True), ("Γιατί;", True), ("你为什么选择这份工作？", True), ("请告诉我你的工作", True), ("嗯嗯", False),
])
def test_an_interviewer_turn_asks_unless_it_is_empty_or_a_backchannel(turn, asking):
    assert asks(turn) is asking
