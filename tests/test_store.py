"""The store: migrations by user_version, read-only opens, one snapshot per command, one
message per kind of failure (hostile cases 32, 33), and `copcode code` all or nothing (34)."""

import contextlib
import hashlib
import importlib.util
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.errors import StoreLocked, StoreReadOnly
from copcode.store import MIGRATIONS, SCHEMA, open_store

ROOT = Path(__file__).resolve().parent.parent
FILES = ("copcode.db", "copcode.db-journal", "copcode.db-wal", "copcode.db-shm")

LOCKED_FIX = ("close the program that has it open (another copcode command still running, a database "
              "browser, a sync tool), or wait and run the command again.")
READ_ONLY_FIX = ("make the project's .copcode folder and the store writable (e.g. chmod u+w), or run a "
                 "command that only reads (quotes, matrix, status, export).")
FULL_FIX = ("free some space on the disk that holds the project and run the command again; the store "
            "is as it was before this command.")
DAMAGED_FIX = ("restore .copcode/copcode.db from a backup. Your decisions are in it: don't delete it "
               "(keep a copy; `sqlite3 copcode.db .recover` can save what is still readable).")


def cli(root, *args, env=None):
    return CliRunner().invoke(app, ["--project", str(root), *args],
                              env={"COLUMNS": "1000", "COPCODE_CODER": "ann", **(env or {})})


def rows(root):
    db = sqlite3.connect(f"{(root / '.copcode' / 'copcode.db').as_uri()}?mode=ro", uri=True)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("transcripts", "turns", "segments", "suggestions", "decisions", "runs", "cache")}
    finally:
        db.close()


def files(folder: Path) -> dict:
    """Every file under `folder` with its bytes and mtime (a read must change none of them)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def a_segment(root) -> str:
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return db.execute("SELECT id FROM segments ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def coded(small_project):
    """The small project coded, with one decision by ann."""
    assert cli(small_project, "code").exit_code == 0
    assert cli(small_project, "tag", a_segment(small_project), "learn").exit_code == 0
    return small_project


@contextlib.contextmanager
def immutable(*paths: Path):
    """The paths made immutable (chattr +i): even root cannot write them or create files in
    them, as a read-only folder is for a user."""
    done = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
                pytest.skip("chattr +i is not available here")
            done.append(path)
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                      capture_output=True, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> None:
    """Fill the disk that holds `path` to its last byte."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            for size in (65536, 4096, 512, 1):
                while os.write(handle, b"\0" * size):
                    pass
    finally:
        os.close(handle)


def old_store_module(folder: Path):
    """store.py as it was before user_version (issue 9), to write a store the old way."""
    source = subprocess.run(["git", "show", "2913f8d:src/copcode/store.py"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    if source.returncode:
        pytest.skip("the old store.py is not in this clone's history")
    (folder / "old_store.py").write_text(source.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_store", folder / "old_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- migrations

def test_store_a_new_store_is_at_the_newest_schema_in_rollback_journal_mode(coded):
    db = sqlite3.connect(coded / ".copcode" / "copcode.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'migrations'").fetchone()
    db.close()


def test_store_an_old_store_is_adopted_from_its_migrations_table(tmp_path):
    old = old_store_module(tmp_path)
    path = tmp_path / ".copcode" / "copcode.db"
    store = old.open_store(path, create=True)
    with store.transaction() as db:
        db.execute("INSERT INTO decisions (segment, code, verdict, coder, at, transcript, start, \"end\", text)"
                   " VALUES ('E01-aaaaaa', 'learn', 'tag', 'ann', 'then', 'E01', 0, 5, 'words')")
        db.execute("INSERT INTO runs (at, codebook, codebook_sha256, engine, transcripts, segments, suggestions)"
                   " VALUES ('then', 'cb.yaml', 'x', 'copcode-nlp-1', 1, 2, 3)")
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    store = open_store(path, create=False)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [tuple(d)[1:5] for d in store.decisions()] == [("E01-aaaaaa", "learn", "tag", "ann")]
    run = store.last_run()
    assert (run["engine"], run["spacy"], run["lookups"]) == ("copcode-nlp-1", "", "")
    store.close()
    before = files(tmp_path / ".copcode")
    open_store(path, create=False).close()  # up to date: nothing is applied again, nothing written
    assert files(tmp_path / ".copcode") == before


def test_case_33_a_store_from_a_newer_copcode_is_refused(coded):
    path = coded / ".copcode" / "copcode.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA + 2}")
    db.close()
    before, out = files(coded / ".copcode"), files(coded / "out")
    for command in (["status"], ["quotes"], ["code"], ["tag", a_segment(coded), "learn"]):
        result = cli(coded, *command)
        assert result.exit_code == 1, command
        assert result.stderr == (f"Error: {path}: the store was written by a newer copcode (schema {SCHEMA + 2}; "
                                 f"this copcode reads up to {SCHEMA})\n"
                                 "  How to fix: upgrade copcode (pip install -U copcode).\n"), command
        assert "Traceback" not in result.output
    assert files(coded / ".copcode") == before and files(coded / "out") == out


# ---------------------------------------------------------------- read-only opens

READ_COMMANDS = [
    ["status"],
    ["quotes", "--theme", "learning"],
    ["quotes", "--format", "csv"],
    ["matrix"],
    ["matrix", "--cooccurrence"],
    ["segments"],
    ["agreement", "--coders", "ann,suggestions"],
    ["privacy", "scan"],
]


def test_case_32_a_read_only_store_answers_every_read_command(coded, tmp_path):
    folder = coded / ".copcode"
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    before = files(folder)
    store_rows = rows(coded)
    with immutable(folder / "copcode.db", folder, coded):
        commands = READ_COMMANDS + [["export", "--format", fmt, "--out", str(elsewhere / f"study.{fmt}")]
                                    for fmt in ("csv", "xlsx", "qdpx", "html")]
        commands.append(["review", "--export", str(elsewhere / "sheet.xlsx")])
        for command in commands:
            result = cli(coded, *command)
            assert result.exit_code == 0, (command, result.output)
            assert files(folder) == before, command  # no -journal, -wal or -shm; bytes and mtime kept
        result = cli(coded, "tag", a_segment(coded), "time")
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {folder / 'copcode.db'}: this command writes to the store, "
                                        "but the store or its folder is read-only (")
        assert result.stderr.endswith(f")\n  How to fix: {READ_ONLY_FIX}\n")
        assert "move" not in result.stderr
    assert files(folder) == before and rows(coded) == store_rows


def test_store_read_only_open_writes_nothing(coded):
    path = coded / ".copcode" / "copcode.db"
    before = files(path.parent)
    store = open_store(path, create=False, readonly=True)
    with pytest.raises(StoreReadOnly), store.transaction():
        store.add_decision("x", "learn", "tag", "ann", "now", "", "E01", 0, 1, "x")
    store.close()
    assert files(path.parent) == before


def test_case_32_a_locked_store_says_so_and_changes_nothing(coded):
    path = coded / ".copcode" / "copcode.db"
    before, segment = rows(coded), a_segment(coded)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the lock
    try:
        for command in (["status"], ["quotes"], ["tag", segment, "time"], ["code"]):
            result = cli(coded, *command, env={"COPCODE_BUSY_TIMEOUT": "0"})
            assert result.exit_code == 1, command
            assert result.stderr == (f"Error: {path}: the store is locked by another program (database is locked)\n"
                                     f"  How to fix: {LOCKED_FIX}\n"), command
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rows(coded) == before


@pytest.mark.parametrize("given", ["abc", "-1", "nan", "3000000"])  # more than SQLite can count: no wait at all
def test_store_a_busy_timeout_that_is_no_number_of_seconds_is_refused(coded, given):
    """`COPCODE_BUSY_TIMEOUT=abc` showed a traceback (hostile-case re-check)."""
    result = cli(coded, "status", env={"COPCODE_BUSY_TIMEOUT": given})
    assert result.exit_code == 1
    assert result.stderr == (f"Error: COPCODE_BUSY_TIMEOUT is {given!r}, not a number of seconds up to 86400 (a day)\n"
                             "  How to fix: set it to a number of seconds to wait for another copcode (e.g. 60), "
                             "or unset it for 30.\n")


def test_store_a_read_command_reads_one_snapshot(coded):
    """While a read command's snapshot is open, no writer can commit: everything it reads is
    from one state of the store."""
    path = coded / ".copcode" / "copcode.db"
    segment = a_segment(coded)
    store = open_store(path, create=False, readonly=True)
    writer = open_store(path, create=False, timeout=0)
    try:
        with store.snapshot():
            decisions = store.count("decisions")
            with pytest.raises(StoreLocked), writer.transaction():
                writer.add_decision(segment, "time", "tag", "bob", "now", "", "E01", 0, 1, "x")
            assert store.count("decisions") == decisions
    finally:
        store.close()
        writer.close()


# ---------------------------------------------------------------- disk full, damaged file

def test_case_33_a_full_disk_says_so_and_changes_nothing(small_project, tmp_path):
    import shutil

    with mounted_tmpfs(tmp_path / "disk", "3m") as disk:
        root = Path(shutil.copytree(small_project, disk / "small"))
        assert cli(root, "code").exit_code == 0
        before = rows(root)
        filler = disk / "filler"
        fill(filler)
        path = root / ".copcode" / "copcode.db"
        result = cli(root, "tag", a_segment(root), "time")
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {path}: the disk is full: the store could not be written "
                                 f"(database or disk is full)\n  How to fix: {FULL_FIX}\n")
        filler.unlink()
        assert rows(root) == before
        assert cli(root, "tag", a_segment(root), "time").exit_code == 0  # space again: it works


def test_case_33_a_damaged_page_says_so_without_a_traceback(coded):
    path = coded / ".copcode" / "copcode.db"
    segment = a_segment(coded)
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root_page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'segments'").fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    start = (root_page - 1) * page_size
    data[start:start + page_size] = bytes([0xA5]) * page_size  # one page overwritten
    path.write_bytes(bytes(data))
    before = files(coded / ".copcode")
    for command in (["status"], ["quotes"], ["tag", segment, "learn"]):
        result = cli(coded, *command)
        assert result.exit_code == 1, command
        assert result.stderr == (f"Error: {path}: the store is damaged (database disk image is malformed)\n"
                                 f"  How to fix: {DAMAGED_FIX}\n"), (command, result.stderr)
        assert "Traceback" not in result.output and "move" not in result.stderr
    assert files(coded / ".copcode") == before


def test_case_33_a_file_that_is_not_a_database_is_damaged(coded):
    path = coded / ".copcode" / "copcode.db"
    path.write_bytes(b"this is not a database at all, just some words " * 200)
    before = files(coded / ".copcode")
    for command in (["status"], ["code"]):
        result = cli(coded, *command)
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {path}: the store is damaged (file is not a database)\n"
                                 f"  How to fix: {DAMAGED_FIX}\n")
    assert files(coded / ".copcode") == before


# ---------------------------------------------------------------- code: all or nothing

def _edit_a_transcript(root):
    path = root / "transcripts" / "P02.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("huge", "enormous"), encoding="utf-8")


def test_case_34_out_not_a_folder_stores_nothing(coded):
    before = rows(coded)
    (coded / "out").rename(coded / "old-out")
    (coded / "out").write_text("a file where out/ should be\n", encoding="utf-8")
    _edit_a_transcript(coded)
    result = cli(coded, "code")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {coded / 'out'}: cannot write the tables: the folder is not writable "
                             "(File exists); nothing was stored\n  How to fix: make out/ a writable folder (or "
                             "remove the file of that name), then run `copcode code` again.\n")
    assert rows(coded) == before
    assert (coded / "out").read_text(encoding="utf-8") == "a file where out/ should be\n"


def test_case_34_a_read_only_out_stores_nothing_and_changes_no_table(coded, tmp_path):
    out = coded / "out"
    before, tables = rows(coded), files(out)
    if subprocess.run(["mount", "--bind", str(out), str(out)], capture_output=True, check=False).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], check=True)
        _edit_a_transcript(coded)
        result = cli(coded, "code")
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {out}: cannot write the tables: the folder is not writable "
                                 "(Read-only file system); nothing was stored\n  How to fix: make out/ a writable "
                                 "folder (or remove the file of that name), then run `copcode code` again.\n")
    finally:
        subprocess.run(["umount", str(out)], check=True)
    assert rows(coded) == before and files(out) == tables


def test_case_34_a_table_that_does_not_fit_on_the_disk_stores_nothing(coded):
    out = coded / "out"
    before, tables = rows(coded), files(out)
    with mounted_tmpfs(tmp := coded.parent / "tiny", "4k"):
        for table in tables:
            (tmp / table).write_bytes(b"")  # the old tables are there; the new ones will not fit
        fill(tmp / "filler")
        saved = files(tmp)
        out.rename(coded / "old-out")
        out.symlink_to(tmp)
        try:
            _edit_a_transcript(coded)
            result = cli(coded, "code")
            assert result.exit_code == 1
            assert result.stderr == (f"Error: {out / 'coded_segments.csv'}: cannot write the file (No space left "
                                     "on device); nothing was stored\n  How to fix: free some space on the disk, "
                                     "then run the command again.\n")
            assert files(tmp) == saved
        finally:
            out.unlink()
            (coded / "old-out").rename(out)
    assert rows(coded) == before and files(out) == tables


def test_case_34_a_table_that_cannot_be_placed_stores_nothing(coded):
    before = rows(coded)
    target = coded / "out" / "quotes_barriers.csv"
    target.unlink()
    target.mkdir()  # a folder where a table goes
    tables = files(coded / "out")
    _edit_a_transcript(coded)
    result = cli(coded, "code")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {target}: cannot write the file: a folder or a broken link has its name; "
                             "nothing was stored\n  How to fix: move it away, then run `copcode code` again.\n")
    assert rows(coded) == before and files(coded / "out") == tables


def test_case_34_a_table_that_cannot_be_replaced_stores_nothing(coded):
    """A table open in Excel on Windows, or made immutable here: found before the commit, so
    out/ is never left half old, half new."""
    before = rows(coded)
    target = coded / "out" / "quotes_barriers.csv"
    tables = files(coded / "out")
    _edit_a_transcript(coded)
    with immutable(target):
        result = cli(coded, "code")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {target}: cannot replace the file (Operation not permitted); nothing was "
                             "stored\n  How to fix: close it where it is open (e.g. in Excel) or make it writable, "
                             "then run `copcode code` again.\n")
    assert rows(coded) == before and files(coded / "out") == tables


def test_store_code_renames_its_tables_after_the_commit(coded):
    _edit_a_transcript(coded)
    result = cli(coded, "code")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (coded / "out").iterdir()) == [
        "coded_segments.csv", "quotes_barriers.csv", "quotes_learning.csv"]  # no staging folder left
    assert "enormous" in (coded / "out" / "coded_segments.csv").read_text(encoding="utf-8")


# ---------------------------------------------------------------- versions

def test_store_the_run_and_the_cache_key_hold_the_versions(coded):
    from copcode import ENGINE_VERSION, versions
    from copcode.coding import project_codebook
    from copcode.project import open_project
    from copcode.suggest import cache_key

    found = versions()
    store = open_store(coded / ".copcode" / "copcode.db", create=False, readonly=True)
    run = store.last_run()
    store.close()
    assert (run["engine"], run["spacy"], run["lookups"]) == (ENGINE_VERSION, found["spacy"], found["spacy-lookups-data"])
    assert found["spacy"] != "not installed"
    codebook = project_codebook(open_project(coded))
    expected = hashlib.sha1(f"{ENGINE_VERSION}\0spacy {found['spacy']}\0spacy-lookups-data "
                            f"{found['spacy-lookups-data']}\0{codebook.sha256}\0{0.35}\0words".encode()).hexdigest()
    assert cache_key(codebook, 0.35, "words") == expected
    status = cli(coded, "status")
    assert (f"Engine {ENGINE_VERSION}, spaCy {found['spacy']}, spacy-lookups-data "
            f"{found['spacy-lookups-data']}.") in status.stdout


def test_store_only_store_py_speaks_sql():
    import re

    sql = re.compile(r"\.execute(many)?\(|executescript\(|read_sql")
    source = ROOT / "src" / "copcode"
    speaking = sorted(str(p.relative_to(source)) for p in source.rglob("*.py") if sql.search(p.read_text(encoding="utf-8")))
    assert speaking == ["store.py"]


HOT = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size = 1")  # the changes reach the file: the journal is needed to undo them
db.execute("BEGIN IMMEDIATE")
db.execute("DELETE FROM suggestions")
db.execute("DELETE FROM segments")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_mid_write(root):
    import sys

    path = root / ".copcode" / "copcode.db"
    process = subprocess.run([sys.executable, "-c", HOT, str(path)], check=False)
    assert process.returncode == -9
    assert Path(f"{path}-journal").stat().st_size > 0  # a hot journal


def test_store_a_read_after_a_killed_write_gets_the_last_good_store(coded):
    before = rows(coded)
    _killed_mid_write(coded)
    result = cli(coded, "status")
    assert result.exit_code == 0, result.output
    assert "2 transcripts" in result.stdout
    assert rows(coded) == before
    assert not (coded / ".copcode" / "copcode.db-journal").exists()


def test_case_32_a_killed_write_in_a_read_only_folder_says_what_to_do(coded):
    folder = coded / ".copcode"
    _killed_mid_write(coded)
    before = files(folder)
    with immutable(*folder.iterdir(), folder):
        result = cli(coded, "status")
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {folder / 'copcode.db'}: a program that stopped while writing "
                                        "the store left a journal to roll back, and the store's folder is read-only (")
        assert result.stderr.endswith("How to fix: make the project's .copcode folder writable and run any copcode "
                                      "command once: it rolls the journal back (the last good store comes back).\n")
    assert files(folder) == before
