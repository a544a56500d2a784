"""Issue 9, parts 3 and 7: survey input streamed (case 36), a user with no login name (case 30),
workers that die with a killed parent (case 31). Hostile cases are in shared/hostile-cases.md."""

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app

MAIN = Path(__file__).resolve().parent.parent


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def snapshot(root):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    tables = ["transcripts", "turns", "segments", "suggestions", "decisions", "runs", "cache"]
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        db.close()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def write_answers(path: Path, rows, header=("id", "text", "site")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ANSWERS = ["We learnt a lot from the carers and the training.", "My workload is too high. No time for anything.",
           "Fine, thanks.", "The training helped me learn how the wards work, and I learnt from the nurses too."]


def survey_rows(count: int):
    return [(f"S{n:05d}", f"{ANSWERS[n % len(ANSWERS)]} Answer {n}.", ["Deal", "Dover"][n % 2])
            for n in range(count)]


# ---------------------------------------------------------------- case 36: a survey, streamed

def test_case_36_a_5000_row_survey_is_coded_in_batches_with_the_same_tables(small_project, monkeypatch):
    """More rows than one batch: every row stored, and out/*.csv exactly the tables that
    copcode's views give for the store (written here in chunks of 700 rows)."""
    from copcode import coding
    from copcode.export import render_table
    from copcode.project import open_project
    from copcode.store import open_store
    from copcode.tables import ProjectView, coded_segments, exemplar_quotes

    assert coding.BATCH_SEGMENTS < 5000
    monkeypatch.setattr(coding, "CHUNK_ROWS", 700)
    answers = write_answers(small_project / "answers.csv", survey_rows(5000))
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Coded 5000 answers: 5000 segments, ")
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    assert db.execute("SELECT count(*) FROM transcripts").fetchone()[0] == 5000
    assert db.execute("SELECT source FROM transcripts WHERE id = 'S04999'").fetchone()[0] == "answers.csv#row5001"
    db.close()
    project = open_project(small_project)
    codebook = coding.project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        view = ProjectView(store, codebook)
        tables = {"coded_segments.csv": coded_segments(view)}
        for theme in codebook.themes:
            tables[f"quotes_{theme.id}.csv"] = exemplar_quotes(view, theme.id, limit=0, per_participant=0)
    finally:
        store.close()
    assert len(tables["coded_segments.csv"]) > 2 * 700
    for name, table in tables.items():
        assert (small_project / "out" / name).read_text(encoding="utf-8") == render_table(table, "csv"), name


def test_case_36_the_rows_are_read_lazily(small_project):
    """read_survey checks the columns and returns at once; rows are read as they are used."""
    from copcode.ingest.survey import read_survey
    from copcode.project import open_project

    answers = write_answers(small_project / "answers.csv", survey_rows(3) + [("S9", "x" * 10_000_001, "Deal")])
    corpus = read_survey(open_project(small_project), answers, id_column="id", text_column="text")
    rows = iter(corpus.transcripts)
    assert [next(rows).id for _ in range(3)] == ["S00000", "S00001", "S00002"]
    with pytest.raises(Exception, match="row 5 has a field longer than 10,000,000 characters"):
        next(rows)


def test_case_36_a_field_of_200000_characters_is_read(small_project):
    long_answer = " ".join(["We learnt a lot from the carers."] * 6061)[:200_000].rstrip()
    assert len(long_answer) > 131_072
    answers = write_answers(small_project / "answers.csv", [("S1", "Fine.", "Deal"), ("S2", long_answer, "Dover")])
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    assert db.execute("SELECT text FROM transcripts WHERE id = 'S2'").fetchone()[0] == long_answer
    assert db.execute("SELECT count(*) FROM segments WHERE transcript = 'S2'").fetchone()[0] > 100
    db.close()


def test_case_36_a_field_beyond_the_limit_names_its_row_and_changes_nothing(small_project):
    assert cli(small_project, "code").exit_code == 0
    before, out_before = snapshot(small_project), files(small_project / "out")
    answers = write_answers(small_project / "answers.csv",
                            [("S1", "Fine.", "Deal"), ("S2", "y " * 5_000_001, "Dover"), ("S3", "Ok.", "Deal")])
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {answers}: row 3 has a field longer than 10,000,000 characters\n"
                             "  How to fix: shorten that answer or split it over several rows.\n")
    assert snapshot(small_project) == before
    assert files(small_project / "out") == out_before


@pytest.mark.parametrize("last, row", [('S3,"I felt equal\nS4,jargon,Deal\n', 4), ('S3,"I felt equal,Deal\n', 4),
                                       # a quotation ended early in an earlier row kept a strict reader from the end
                                       ('S3,"They said "yes" and left",Deal\nS4,"never closed\nS5,x,Deal\n', 5)])
def test_a_quotation_never_closed_names_its_row_and_changes_nothing(small_project, last, row):
    """A survey's CSV whose last quotation is not closed: every line after it was read as
    that answer, without a word (hostile-case re-check); an answer of several lines whose
    quotation is closed is read whole."""
    assert cli(small_project, "code").exit_code == 0
    before, out_before = snapshot(small_project), files(small_project / "out")
    answers = small_project / "answers.csv"
    answers.write_text('id,text,town\nS1,Fine.,Deal\nS2,"Two\nlines",Dover\n' + last, encoding="utf-8")
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {answers}: row {row} opens a quotation mark that is never closed, so every "
                             "line after it was read as part of that row's answer\n"
                             '  How to fix: close the quotation, or write a quotation mark inside an answer as '
                             'two (""), then save the file again.\n')
    assert snapshot(small_project) == before
    assert files(small_project / "out") == out_before
    answers.write_text('id,text,town\nS1,Fine.,Deal\nS2,"Two\nlines",Dover\n', encoding="utf-8")
    assert cli(small_project, "code", "--input", str(answers)).exit_code == 0


def test_case_36_a_repeated_id_in_a_later_batch_rolls_the_whole_run_back(small_project):
    """The id is checked against rows already written in earlier batches; the run stops and
    the store is as it was."""
    assert cli(small_project, "code").exit_code == 0
    before, out_before = snapshot(small_project), files(small_project / "out")
    rows = survey_rows(4500) + [("S00010", "I learnt a lot from the training.", "Deal")]
    answers = write_answers(small_project / "answers.csv", rows)
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {answers}: row 4502 repeats the id 'S00010' of row 12\n"
                             "  How to fix: give every row its own id.\n")
    assert snapshot(small_project) == before
    assert files(small_project / "out") == out_before


# ---------------------------------------------------------------- case 30: no login name

NO_PASSWD_UID = 54321


def _as_unknown_user() -> list[str]:
    """A command prefix that runs as a uid with no passwd entry: a user namespace mapping this
    user to NO_PASSWD_UID (so the files stay readable, which a plain setuid would not give for
    a Python installed under /root); [] when the system does not allow it."""
    prefix = ["unshare", "--user", f"--map-user={NO_PASSWD_UID}", f"--map-group={NO_PASSWD_UID}"]
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run([*prefix, "id", "-u"], capture_output=True, text=True)
    return prefix if probe.returncode == 0 and probe.stdout.strip() == str(NO_PASSWD_UID) else []


def test_case_30_a_user_with_no_login_name_is_asked_for_a_coder(small_project):
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(NO_PASSWD_UID)
    prefix = _as_unknown_user()
    if not prefix:
        pytest.skip("user namespaces are not available here")
    assert cli(small_project, "code").exit_code == 0
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    segment = db.execute("SELECT id FROM segments ORDER BY id").fetchone()[0]
    db.close()
    before = snapshot(small_project)
    env = {k: v for k, v in os.environ.items()
           if k not in ("USER", "LOGNAME", "LNAME", "USERNAME", "COPCODE_CODER")}
    env["COLUMNS"] = "250"
    command = [*prefix, sys.executable, "-m", "copcode", "--project", str(small_project), "tag", segment, "learn"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "Error: cannot tell who the coder is: $COPCODE_CODER is not set and this user has no login name\n"
        "  How to fix: set $COPCODE_CODER (e.g. export COPCODE_CODER=ann) or pass --coder NAME.\n")
    assert result.stdout == ""
    assert snapshot(small_project) == before
    given = subprocess.run([*command, "--coder", "ann"], env=env, capture_output=True, text=True, timeout=300)
    assert given.returncode == 0, given.stderr
    given = subprocess.run(command, env={**env, "COPCODE_CODER": "bob"}, capture_output=True, text=True, timeout=300)
    assert given.returncode == 0, given.stderr
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    assert db.execute("SELECT coder FROM decisions ORDER BY id").fetchall() == [("ann",), ("bob",)]
    db.close()


# ---------------------------------------------------------------- case 31: workers die with their parent

def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# A copcode process with a pool of two workers that have parsed a batch, which prints the
# workers' process ids and then waits for ever: the test decides when it dies, so nothing
# depends on how fast the machine is.
_POOL_THEN_WAIT = """
import multiprocessing, sys
from pathlib import Path
multiprocessing.set_start_method(sys.argv[2])
from copcode.codebook import load_codebook
from copcode.model import Segment
from copcode.suggest import Parser

codebook = load_codebook(Path(sys.argv[1]))
segments = [Segment(f"T{i}-a", f"T{i}", 0, 0, 20, "We learnt so much.", ((0, 18),)) for i in range(8)]
with Parser(codebook, 0.35, workers=2) as parse:
    parse(segments)
    print(" ".join(map(str, parse._pool._processes)), flush=True)
    sys.stdin.read()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_case_31_workers_die_when_the_parent_is_killed(small_project, start_method):
    process = subprocess.Popen([sys.executable, "-c", _POOL_THEN_WAIT,
                                str(small_project / "codebooks" / "small.yaml"), start_method],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 120  # a bound for a stuck machine, not a measure of speed
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers), "workers outlived their killed parent"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in workers:  # never leave a stray process behind, whatever the verdict
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
