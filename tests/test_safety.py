"""A store that survives crashes, nothing that leaves the machine, files only their owner reads,
and property-based tests of ingest and segmentation."""

import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from copcode.cli import app
from copcode.ingest import find_turns
from copcode.model import Transcript
from copcode.segment import segment_transcript


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


def _store_rows(db_path):
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("segments", "suggestions", "decisions", "runs")}
    finally:
        db.close()


def test_safety_sigkill_mid_run_leaves_the_last_good_store(demo_copy):
    """A run killed at a known point, its last step (the tables staged in out/, the run's
    transaction about to open or open), leaves exactly the old store or the whole new run,
    wherever the kill lands; nothing here depends on how fast the machine is."""
    assert cli(demo_copy, "code").exit_code == 0
    db_path = demo_copy / ".copcode" / "copcode.db"
    db = sqlite3.connect(db_path)
    segment = db.execute("SELECT id FROM segments LIMIT 1").fetchone()[0]
    db.close()
    assert cli(demo_copy, "tag", segment, "shared-language", "--coder", "ann").exit_code == 0
    before = _store_rows(db_path)
    old_tables = {p.name: p.read_bytes() for p in (demo_copy / "out").glob("*.csv")}
    for path in list((demo_copy / "transcripts").glob("*.txt")):  # a new run that differs from the old
        text = path.read_text(encoding="utf-8").replace(f"participant: {path.stem}", f"participant: X{path.stem}")
        text = text.replace(" and ", " and0 ")  # other words, so the cache cannot answer
        (demo_copy / "transcripts" / f"X{path.stem}.txt").write_text(text, encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "copcode", "--project", str(demo_copy), "code"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait for the known point, seen in the file system: the staging folder of the tables
    while process.poll() is None and not list((demo_copy / "out").glob(".copcode-run-*")):
        time.sleep(0.01)  # polling only: the verdict below does not depend on when this ends
    process.send_signal(signal.SIGKILL)
    process.wait()
    now = _store_rows(db_path)
    tables = {p.name: p.read_bytes() for p in (demo_copy / "out").glob("*.csv")}
    if now == before:  # killed before the commit: the old store, the old tables
        assert tables == old_tables
    else:  # killed after it: the whole new run, decisions as they were
        assert now["decisions"] == before["decisions"]
        assert now["runs"][:-1] == before["runs"] and len(now["runs"]) == len(before["runs"]) + 1
        assert now["runs"][-1][5:8] == (40, len(now["segments"]), len(now["suggestions"]))
        for name, data in tables.items():  # each table whole: the old one or the new one
            assert data == old_tables.get(name) or data.endswith(b"\n") and data.count(b"\n") > 1
    result = cli(demo_copy, "code")
    assert result.exit_code == 0
    assert "Coded 40 transcripts" in result.stdout  # 21 + a copy of the 19 .txt
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT segment, code, coder FROM decisions").fetchall() == [(segment, "shared-language", "ann")]
    db.close()


def test_safety_nothing_leaves_the_machine(small_project, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("copcode tried to open a network socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert cli(small_project, "code").exit_code == 0
    assert cli(small_project, "quotes", "--theme", "learning", "--format", "csv").exit_code == 0
    for fmt in ("csv", "xlsx", "qdpx", "qdc", "html"):
        result = cli(small_project, "export", "--format", fmt, "--out", str(tmp_path / f"study.{fmt}"))
        assert result.exit_code == 0, result.output
    assert cli(small_project, "privacy", "scan").exit_code == 0


def test_safety_the_store_is_readable_by_its_owner_only(coded_small):
    project = coded_small[0]
    folder = project.root / ".copcode"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


LABELS = st.sampled_from(["Interviewer", "INT", "I", "E05", "P03", "R01", "Participant", "Speaker 2", "NOTE"])
WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@st.composite
def transcripts(draw):
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        label = draw(LABELS)
        separator = draw(st.sampled_from([": ", ":", " : ", ":\t"]))
        lines.append(f"{label}{separator}{draw(WORDS)}")
        if draw(st.booleans()):
            lines.append(draw(WORDS))  # a continuation line, or noise
    newline = draw(st.sampled_from(["\n", "\r\n", "\n\n"]))
    return newline.join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), st.integers(3, 60))
def test_safety_segments_are_verbatim_and_never_the_interviewers(raw, max_words):
    from copcode.ingest.text import decode

    text = decode(raw.encode("utf-8"), "x.txt", [])
    turns = find_turns(text, ["Interviewer", "INT", "I"], "E05")
    transcript = Transcript("E05", "E05", "x.txt", "0", text, turns)
    segments = segment_transcript(transcript, max_words=max_words)
    interviewer = [(t.start, t.end) for t in turns if t.role == "interviewer"]
    for segment in segments:
        assert text[segment.start:segment.end] == segment.text
        assert segment.text.strip() == segment.text and segment.text
        assert turns[segment.turn].role == "participant"
        assert all(segment.end <= a or segment.start >= b for a, b in interviewer)
    ids = [s.id for s in segments]
    assert len(ids) == len(set(ids))
    spans = sorted((s.start, s.end) for s in segments)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))  # no overlaps
