import csv
import io
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from copcode.cli import app

from conftest import ROOT, write

WIDE = {"COLUMNS": "200"}


def run(*args, project=None):
    argv = (["--project", str(project)] if project else []) + list(args)
    return CliRunner().invoke(app, argv, env=WIDE)


def test_cli_code_then_quotes_on_the_small_project(small_project):
    result = run("code", project=small_project)
    assert result.exit_code == 0, result.output
    assert ("Coded 2 transcripts: 3 participant segments, 3 suggested codings (3 segments parsed, "
            "0 unchanged since the last run).") in result.stdout
    assert (small_project / "out" / "coded_segments.csv").is_file()
    assert (small_project / "out" / "quotes_learning.csv").is_file()
    assert (small_project / "out" / "quotes_barriers.csv").is_file()
    result = run("quotes", "--theme", "together", project=small_project)
    assert result.exit_code == 0, result.output
    assert "Learning together (co-producing knowledge)" in result.stdout
    assert ("“I learnt so much from the others. Carers know things nobody writes down. "
            "Then I went home and read about it.” (E01)") in result.stdout


def test_cli_quotes_csv_goes_to_stdout_alone(small_project):
    run("code", project=small_project)
    result = run("quotes", "--theme", "barriers", "--format", "csv", project=small_project)
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["segment", "transcript", "participant", "group", "theme", "code",
                             "start", "end", "quote", "score", "status"]
    [row] = rows
    text = (small_project / "transcripts" / "P02.txt").read_text()
    assert text[int(row["start"]):int(row["end"])] == row["quote"] == (
        "No. My workload is huge, I had no time. The training we get is poor.")
    assert (row["participant"], row["group"], row["code"], row["status"]) == ("P02", "P", "time", "suggested")


def test_cli_quotes_out_file_in_each_text_format(small_project, tmp_path):
    run("code", project=small_project)
    for fmt in ("csv", "md", "json"):
        target = tmp_path / f"q.{fmt}"
        result = run("quotes", "--theme", "learning", "--format", fmt, "--out", str(target), project=small_project)
        assert result.exit_code == 0, result.output
        assert "I learnt so much from the others." in target.read_text(encoding="utf-8")
    result = run("quotes", "--theme", "learning", "--out", str(tmp_path / "by-suffix.csv"), project=small_project)
    assert (tmp_path / "by-suffix.csv").read_text().startswith("segment,transcript,")


@pytest.mark.parametrize("args, message", [
    (["quotes", "--theme", "housing"],
     "Error: codebooks/small.yaml: unknown theme 'housing'\n"
     "  How to fix: use one of learning, barriers, or an alias or label of one.\n"),
    (["quotes", "--theme", "learning", "--status", "maybe"],
     "Error: unknown status 'maybe'\n  How to fix: use one of: accepted, suggested, all.\n"),
])
def test_cli_user_errors_are_one_message_and_exit_1(small_project, args, message):
    run("code", project=small_project)
    result = run(*args, project=small_project)
    assert (result.exit_code, result.stderr, result.stdout) == (1, message, "")


def test_cli_quotes_before_code(small_project):
    result = run("quotes", "--theme", "learning", project=small_project)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {small_project}: this project has not been coded yet\n"
                             "  How to fix: run `copcode code` first.\n")


def test_cli_missing_project_folder(tmp_path):
    result = run("code", project=tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'nowhere'}: the project folder does not exist\n")


def test_cli_transcript_without_labels_stops_before_anything_is_written(small_project):
    write(small_project / "transcripts" / "E03.txt", "notes without any speakers\n")
    result = run("code", "--strict", project=small_project)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: transcripts/E03.txt: no speaker labels found")
    assert not (small_project / ".copcode").exists() and not (small_project / "out").exists()


def test_cli_invalid_codebook_lists_every_problem(small_project):
    write(small_project / "codebooks" / "small.yaml", "name: x\nthemes:\n  - id: t\n    lable: T\n")
    result = run("codebook", "check", project=small_project)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: codebooks/small.yaml: the codebook is not valid (3 problems):\n"
        "  line 3: themes[0].label: required key is missing\n"
        "  line 3: themes[0].codes: required key is missing\n"
        "  line 4: themes[0].lable: unknown key (check its spelling; see README, 'The codebook')\n"
        "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")


def test_cli_codebook_check_demo():
    result = run("codebook", "check", project=ROOT)
    assert result.exit_code == 0
    assert result.stdout.startswith("codebooks/cop.yaml: valid. 3 themes, 7 codes, ")


def test_help_shows_no_type_for_a_flag_and_the_type_of_a_value():
    # Typer 0.29 showed "--strict <bool>", as if a flag took a value
    said = CliRunner().invoke(app, ["code", "--help"]).output
    lines = {line.strip("│ ").split("  ")[0]: " ".join(line.strip("│ ").split()) for line in said.splitlines()}
    assert lines["--strict"].startswith("--strict Stop, naming every transcript")
    assert lines["--no-learning"].startswith("--no-learning Suggest from the codebook's cues alone")
    assert lines["--help"] == "--help Show this message and exit."
    assert lines["--workers"].startswith("--workers <int> Parse in this many processes.")
    assert "<bool>" not in CliRunner().invoke(app, ["--help"]).output


def test_code_parses_in_no_more_workers_than_processors(small_project):
    """A worker per processor at most: each loads spaCy, and 100,000 of them filled the
    machine's memory until the system killed processes."""
    from copcode.suggest import processors

    result = CliRunner().invoke(app, ["--project", str(small_project), "code", "--workers", "100000"])
    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == (
        f"Warning: --workers 100000: this machine has {processors()} processor(s) to parse on, so copcode parses "
        f"in {processors()} (more would only load more copies of spaCy).")


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_code_refuses_fewer_than_one_worker(tmp_path, workers):
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "code", "--workers", workers])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: --workers {workers}: copcode parses in one process or more\n"
                             "  How to fix: give --workers 1 or more (1, the default, parses in this process).\n")
    assert not (tmp_path / ".copcode").exists()


def test_cli_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name
        assert command.callback.__doc__, name
        assert f"copcode {name}" in readme, name


@pytest.mark.parametrize("args", [["--help"], ["quotes", "--theme", "territory", "--limit", "3"]])
def test_cli_help_and_quotes_do_not_import_spacy(coded_demo, args):
    probe = ("import sys, runpy; sys.argv = ['copcode'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('copcode', run_name='__main__')\n"
             "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
             "assert 'spacy' not in sys.modules, 'spacy was imported'\n"
             "print('NO-SPACY')")
    result = subprocess.run([sys.executable, "-c", probe, "--project", str(coded_demo), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("NO-SPACY")
