"""`copcode init` (issue 11): a project from nothing, never overwriting, then a folder of mixed
transcript conventions coded on the first try."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace

from test_speakers import BOLD, FIXTURES, TABLE, TEAMS, word_bold_labels, word_table, word_teams
from typer.testing import CliRunner

from copcode.cli import app
from copcode.project import DEFAULT_GROUPS, open_project
from copcode.starter import SETTINGS


def run(*args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_init_makes_a_project_and_says_what_to_do_next(tmp_path):
    root = tmp_path / "my study"
    result = run("init", str(root))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Created {root / 'transcripts'}/\n"
        f"Created {root / 'codebooks'}/\n"
        f"Created {root / 'copcode.yaml'}\n"
        f"Created {root / 'codebooks' / 'starter.yaml'}\n"
        f"Created {root / 'participants.csv'}\n"
        f"Next: put your transcripts in {root / 'transcripts'}/, then run\n"
        f"  copcode --project '{root}' transcripts\n"
        f"  copcode --project '{root}' codebook check\n"
        f"  copcode --project '{root}' code\n")
    assert (root / "copcode.yaml").read_text(encoding="utf-8") == SETTINGS
    assert (root / "participants.csv").read_text(encoding="utf-8") == "participant,group\n"
    # every setting commented but privacy, on from the start: the detectors, nothing listed yet;
    # and groups, none: the demo study's (without copcode.yaml) put P01 among its practitioners
    settings = open_project(root).settings
    assert settings.privacy == {"identifiers": None, "detect": ["email", "phone", "postcode", "nhs_number", "date"]}
    assert settings.groups == {} and open_project(root).group_of("P01") == ""
    assert replace(settings, privacy=None, groups=DEFAULT_GROUPS) == open_project(tmp_path).settings
    assert "\n# groups:\n" in SETTINGS
    for setting in ("transcripts", "codebook", "interviewer_labels", "speakers", "max_segment_words",
                    "min_score", "learning", "learn_from"):
        assert f"\n# {setting}:" in SETTINGS, setting
    result = run("--project", str(root), "codebook", "check")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "codebooks/starter.yaml: valid. 1 theme, 2 codes, 11 cues.\n", "")


def test_init_never_overwrites_and_says_what_it_left_alone(tmp_path):
    (tmp_path / "codebooks").mkdir()
    (tmp_path / "codebooks" / "mine.yaml").write_text("name: mine\n", encoding="utf-8")
    (tmp_path / "copcode.yaml").write_text("min_score: 0.5\n", encoding="utf-8")
    result = run("--project", str(tmp_path), "init")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:6] == [
        f"Created {tmp_path / 'transcripts'}/",
        f"Created {tmp_path / 'participants.csv'}",
        f"Left alone (already there): {tmp_path / 'codebooks'}/",
        f"Left alone (already there): {tmp_path / 'codebooks' / 'mine.yaml'}",
        f"Left alone (already there): {tmp_path / 'copcode.yaml'}",
        f"Next: put your transcripts in {tmp_path / 'transcripts'}/, then run"]
    assert (tmp_path / "copcode.yaml").read_text(encoding="utf-8") == "min_score: 0.5\n"
    assert not (tmp_path / "codebooks" / "starter.yaml").exists()
    again = run("--project", str(tmp_path), "init")
    assert "Created" not in again.stdout and again.stdout.count("Left alone") == 5


def test_init_in_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    result = run("init", str(tmp_path / "notes.txt"))
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {tmp_path / 'notes.txt'}: is a file, not a folder\n"
        "  How to fix: name a new or existing folder for the project.\n")


def test_init_then_a_folder_of_mixed_conventions_is_coded(tmp_path):
    root = tmp_path / "study"
    assert run("init", str(root)).exit_code == 0
    folder = root / "transcripts"
    for name in ("qa.txt", "otter.txt", "names.txt", "timestamps-before.txt", "FG1.txt", "captions.srt",
                 "teams.vtt", "fieldnotes.txt"):
        shutil.copy(FIXTURES / name, folder / name)
    word_table(folder / "W01.docx", TABLE)
    word_bold_labels(folder / "W02.docx", BOLD)
    word_teams(folder / "W03.docx", TEAMS)
    preview = run("--project", str(root), "transcripts")
    assert preview.exit_code == 0 and preview.stdout.endswith("11 files: 11 read.\n"), preview.output
    result = run("--project", str(root), "code")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Coded 11 transcripts: ")
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    transcripts = dict(db.execute("SELECT id, text FROM transcripts"))
    roles = {}
    for transcript, start, end, role in db.execute('SELECT transcript, start, "end", role FROM turns'):
        roles.setdefault(role, []).append(transcripts[transcript][start:end])
    segments = [text for (text,) in db.execute("SELECT text FROM segments")]
    # participant words are in segments; the interviewer's never are
    assert all(any(s in turn for turn in roles["participant"]) for s in segments)
    assert not any("?" in s for s in segments)
    for words in ("We had waited eleven months", "Being believed.", "An hour a month", "once they saw we were serious",
                  "my brother", "How I plan discharges.", "Carers sat at the front"):
        assert any(words in " ".join(s.split()) for s in segments), words
    assert (root / "out" / "coded_segments.csv").exists()
