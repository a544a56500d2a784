"""Review: the queue, a session's keys, resuming, and the spreadsheet round trip."""

import csv
import shutil
import subprocess
import sys
import time

import openpyxl
import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.decisions import coding_state, record_many
from copcode.errors import CopcodeError
from copcode.review import ReviewSession, review_queue


def cli(root, *args, input=None):
    return CliRunner().invoke(app, ["--project", str(root), *args], input=input, env={"COLUMNS": "200"})


def test_review_session_accept_reject_recode_skip_undo(coded_small):
    project, store, codebook = coded_small
    items = review_queue(store, codebook, "ann")
    assert [(i.participant, i.code) for i in items] == [("E01", "learn"), ("P02", "learn"), ("P02", "time")]
    session = ReviewSession(store, codebook, "ann", items)
    session.accept("clear case")
    session.recode("time")  # "training" in P02's answer is not about learning together
    # the suggestion of `time` on that passage, decided by the re-coding, is not asked next
    assert session.current is None
    session.undo()
    assert (session.current.participant, session.current.code) == ("P02", "learn")
    session.reject()
    session.skip()
    assert session.current is None
    assert coding_state(store, codebook).states == {
        (items[0].segment, "learn", "ann"): "accepted", (items[1].segment, "learn", "ann"): "rejected"}
    notes = [r[0] for r in store.db.execute("SELECT note FROM decisions ORDER BY id")]
    assert notes[0] == "clear case" and notes[3:5] == ["undoes decision 3 (tag)", "undoes decision 2 (reject)"]
    # choosing the very code suggested is an accept, not a reject and a tag
    bob = ReviewSession(store, codebook, "bob", review_queue(store, codebook, "bob")[:1])
    bob.recode("learn")
    assert [r[0] for r in store.db.execute("SELECT verdict FROM decisions WHERE coder = 'bob'")] == ["accept"]
    bob.undo()
    # coming back: only the skipped suggestion is left for ann, all three for bob
    assert [(i.participant, i.code) for i in review_queue(store, codebook, "ann")] == [("P02", "time")]
    assert len(review_queue(store, codebook, "bob")) == 3


@pytest.mark.parametrize("coder", ["suggestions", "Copcode Suggestions", " "])
def test_review_refuses_a_name_no_coder_can_have_before_the_screen_opens(coded_small, coder):
    project, store, codebook = coded_small
    result = cli(project.root, "review", "--coder", coder, input="a")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: the coder's name is empty" if not coder.strip() else
                                    f"Error: {coder.strip()!r} is not a coder's name")
    assert store.count("decisions") == 0


def test_review_keys_through_the_command_line(coded_small):
    project, store, codebook = coded_small
    result = cli(project.root, "review", "--coder", "ann", input="ar")
    assert result.exit_code == 0, result.output
    assert "1 of 3" in result.stdout and "Learning: Members say what they learned." in result.stdout
    assert "ann: 2 decided this time; 1 left. Run the same command to carry on." in result.stdout
    result = cli(project.root, "review", "--coder", "ann", "--participant", "P02", input="q")
    assert "1 of 1" in result.stdout and "ann: 0 decided this time; 1 left." in result.stdout
    result = cli(project.root, "review", "--coder", "ann", input="a")
    assert result.stdout.endswith("ann: 1 decided this time; 0 left.\n")  # nothing to carry on with


def test_review_counts_a_skipped_suggestion_as_left(coded_small):
    project, store, codebook = coded_small
    result = cli(project.root, "review", "--coder", "ann", input="sq")
    assert "ann: 0 decided this time; 3 left." in result.stdout
    result = cli(project.root, "review", "--coder", "ann", input="saa")
    assert "ann: 2 decided this time; 1 left." in result.stdout  # the end of the queue: the skipped one is left


def test_review_sheet_round_trip(coded_small, tmp_path):
    project, store, codebook = coded_small
    sheet = tmp_path / "review.xlsx"
    assert cli(project.root, "review", "--export", str(sheet), "--coder", "ann").exit_code == 0
    book = openpyxl.load_workbook(sheet)
    rows = list(book.active.values)
    assert rows[0] == ("segment", "participant", "group", "theme", "code", "label", "score",
                       "quote", "text", "decision", "other_code", "note", "coder")
    assert [r[4] for r in rows[1:]] == ["learn", "learn", "time"]
    assert {r[-1] for r in rows[1:]} == {"ann"}
    decision, other, note = rows[0].index("decision") + 1, rows[0].index("other_code") + 1, rows[0].index("note") + 1
    book.active.cell(row=2, column=decision, value="Accept")
    book.active.cell(row=2, column=note, value="plain case, see p. 3")
    book.active.cell(row=3, column=other, value="time")
    book.save(sheet)
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ann: 1 accepted, 0 rejected, 1 re-coded, 1 left undecided.\n"
    segments = [r[0] for r in rows[1:]]
    assert coding_state(store, codebook).states == {
        (segments[0], "learn", "ann"): "accepted", (segments[1], "learn", "ann"): "rejected",
        (segments[1], "time", "ann"): "accepted"}
    assert store.db.execute("SELECT note FROM decisions WHERE id = 1").fetchone()[0] == "plain case, see p. 3"
    result = cli(project.root, "review", "--import", str(sheet))  # the same sheet again: its coder is ann
    assert result.stdout == "ann: 0 accepted, 0 rejected, 0 re-coded, 1 left undecided, 2 unchanged.\n"
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 3


def test_review_sheet_of_one_coder_is_not_recorded_as_anothers(coded_small, tmp_path):
    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"
    assert cli(project.root, "review", "--export", str(sheet), "--coder", "dan").exit_code == 0
    sheet.write_text(sheet.read_text(encoding="utf-8").replace(",,,,dan\n", ",accept,,,dan\n", 1), encoding="utf-8")
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: {sheet}: the sheet is dan's (its coder column), not ann's How to fix: import it with --coder dan, "
        "or, if ann filled it in, clear the coder column first.")
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    result = cli(project.root, "review", "--import", str(sheet))
    assert result.stdout == "dan: 1 accepted, 0 rejected, 0 re-coded, 2 left undecided.\n"


def exported_sheet(project, path, fill) -> list[dict]:
    """`copcode review --export` as a .csv sheet at `path`, its rows changed by `fill(rows)`
    as a reviewer fills them in, and written back; the rows."""
    cli(project.root, "review", "--export", str(path), "--coder", "ann")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fill(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_review_sheet_with_bad_rows_changes_nothing(coded_small, tmp_path):
    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"

    def fill(rows):
        for row, decision, other in zip(rows, ["maybe", "accept", "reject"], ["", "nope", ""]):
            row["decision"], row["other_code"] = decision, other
    exported_sheet(project, sheet, fill)
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {sheet}: 2 row(s) cannot be applied, so none were:\n"
        "  row 2: unknown decision 'maybe': write accept, reject, or leave it empty to skip\n"
        "  row 3: accept and other_code together: to re-code, write reject (or nothing) in "
        "decision and the new code in other_code\n"
        "  How to fix: correct those rows and import the sheet again.\n")
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    sheet.write_text("segment,code,verdict\n", encoding="utf-8")
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.stderr.startswith(f"Error: {sheet}: the sheet has no column 'decision'\n")


def test_a_sheet_whose_code_was_changed_to_accept_another_is_refused(coded_small, tmp_path):
    """The code column says what was suggested; accepting a code written over it would tag a
    code nobody suggested and leave the suggestion pending."""
    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"
    rows = exported_sheet(project, sheet, lambda rows: rows[0].update(code="time", decision="accept"))
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {sheet}: 1 row(s) cannot be applied, so none were:\n"
        f"  row 2: time is not (or no longer) suggested on {rows[0]['segment']}: the code column says what was "
        "suggested; to give another code, write reject and the code in other_code\n"
        "  How to fix: correct those rows and import the sheet again.\n")
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def test_a_sheet_that_gives_and_rejects_one_code_on_one_segment_is_refused(coded_small, tmp_path):
    """Applied in order, the reject would silently undo the re-code, and a second import of
    the same sheet would re-code again."""
    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"

    def fill(rows):
        rows[1]["decision"], rows[1]["other_code"] = "reject", "time"  # learn -> time on the second segment
        rows[2]["decision"] = "reject"  # the suggestion of time on that same segment
    rows = exported_sheet(project, sheet, fill)
    assert (rows[1]["segment"], rows[2]["segment"], rows[2]["code"]) == (rows[2]["segment"], rows[1]["segment"], "time")
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {sheet}: 1 row(s) cannot be applied, so none were:\n"
        f"  row 4: rejects time on {rows[2]['segment']}, but row 3 gives it; keep one of the two\n"
        "  How to fix: correct those rows and import the sheet again.\n")
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def test_a_sheet_row_that_contradicts_two_others_is_one_problem(coded_small, tmp_path):
    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"

    def fill(rows):  # learn -> time, then time -> learn, on one segment
        rows[1]["decision"], rows[1]["other_code"] = "reject", "time"
        rows[2]["decision"], rows[2]["other_code"] = "reject", "learn"
    rows = exported_sheet(project, sheet, fill)
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.stderr == (
        f"Error: {sheet}: 1 row(s) cannot be applied, so none were:\n"
        f"  row 4: rejects time on {rows[2]['segment']}, but row 3 gives it; keep one of the two\n"
        "  How to fix: correct those rows and import the sheet again.\n")


def test_a_sheet_written_before_its_transcript_was_edited_finds_its_rows_by_their_words(coded_small, tmp_path):
    """A typo fixed in E01 after the sheet was exported: the row's segment has a new id, and the
    row's decision goes to the segment that holds its words now. A row whose words are gone
    is refused, saying why."""
    from copcode.coding import code_project

    project, store, codebook = coded_small
    sheet = tmp_path / "review.csv"
    rows = exported_sheet(project, sheet, lambda rows: rows[0].update(decision="accept"))
    path = project.root / "transcripts" / "E01.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("nobody writes down", "nobody ever writes down"),
                    encoding="utf-8")
    code_project(project)
    [now] = [s["id"] for s in store.segments_of(["E01"]) if "learnt" in s["text"]]
    assert now != rows[0]["segment"]
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 0, result.output
    assert " ".join(result.stdout.split()) == ("ann: 1 accepted, 0 rejected, 0 re-coded, 2 left undecided; 1 row(s) "
                                               "found by their words, their transcript edited since the sheet was "
                                               "written.")
    assert coding_state(store, codebook).states == {(now, "learn", "ann"): "accepted"}
    path.write_text(path.read_text(encoding="utf-8").replace(
        "I learnt so much from the others. Carers know things nobody ever writes down.", "Not much."), encoding="utf-8")
    code_project(project)
    result = cli(project.root, "review", "--import", str(sheet), "--coder", "ann")
    assert result.exit_code == 1
    assert f"row 2: unknown segment {rows[0]['segment']!r}, and its words (the text column) are not found in the " \
           "project either: its transcript changed since the sheet was written" in " ".join(result.stderr.split())


def test_review_undo_of_an_action_another_command_took_back_records_nothing(coded_small):
    project, store, codebook = coded_small
    [item, *_] = review_queue(store, codebook, "ann")
    session = ReviewSession(store, codebook, "ann", [item])
    session.accept()
    with store.transaction():  # `copcode undo` in another terminal
        record_many(store, codebook, [(item.segment, item.code, "undo", "")], "ann")
    before = store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    with pytest.raises(CopcodeError) as raised:
        session.undo()
    assert raised.value.what == f"ann has no decision on {item.code} on {item.segment}: nothing to undo"
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == before
    assert session.undo() is False  # that action is out of the history


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")
def test_review_in_a_real_terminal_under_tmux(coded_small):
    """A person at a terminal: keys typed into tmux, the screen read back."""
    project, store, codebook = coded_small
    session = f"copcode-review-{time.time_ns()}"
    command = f"{sys.executable} -m copcode --project {project.root} review --coder tess"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)

    def screen():
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

    def wait_for(words):
        for _ in range(1200):  # a bound for a stuck machine (two minutes), not a measure of speed
            if words in screen():
                return
            time.sleep(0.1)
        raise AssertionError(f"{words!r} never appeared:\n{screen()}")

    try:
        wait_for("1 of 3")
        subprocess.run(["tmux", "send-keys", "-t", session, "a"], check=True)
        wait_for("2 of 3")
        subprocess.run(["tmux", "send-keys", "-t", session, "n"], check=True)
        wait_for("Note")
        subprocess.run(["tmux", "send-keys", "-t", session, "too short to say", "Enter"], check=True)
        wait_for("note: too short to say")
        subprocess.run(["tmux", "send-keys", "-t", session, "r"], check=True)
        wait_for("3 of 3")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        for _ in range(100):
            if subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode:
                break
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    states = coding_state(store, codebook).states
    assert sorted(v for (s, c, coder), v in states.items() if coder == "tess") == ["accepted", "rejected"]
    assert store.db.execute("SELECT note FROM decisions WHERE verdict = 'reject'").fetchone()[0] == "too short to say"
