"""Global options and --version."""

from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from copcode import ENGINE_VERSION, __version__
from copcode.cli import app, global_options_first


@pytest.mark.parametrize("args, expected", [
    (["quotes", "--project", "s", "--theme", "t"], ["--project", "s", "quotes", "--theme", "t"]),
    (["status", "--project=s", "--debug"], ["--project=s", "--debug", "status"]),
    (["codebook", "check", "--no-redact"], ["--no-redact", "codebook", "check"]),
    (["--project", "s", "status"], ["--project", "s", "status"]),
    (["tag", "X", "c", "--", "--debug"], ["tag", "X", "c", "--", "--debug"]),
])
def test_cli_global_options_are_moved_before_the_command(args, expected):
    assert global_options_first(args) == expected


def test_cli_global_options_work_after_the_command_name(coded_demo):
    before = CliRunner().invoke(app, ["--project", str(coded_demo), "status"])
    after = CliRunner().invoke(app, ["status", "--project", str(coded_demo)])
    assert before.exit_code == after.exit_code == 0
    assert after.stdout == before.stdout and "21 transcripts" in after.stdout


def test_cli_version_names_the_engine_and_the_packages_behind_suggestions():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"copcode {__version__}, engine {ENGINE_VERSION}, "
                                    f"spacy {version('spacy')}, spacy-lookups-data {version('spacy-lookups-data')}, python ")


@pytest.mark.parametrize("args, message", [
    (["segments", "--format", "md", "--out", "{tmp}/ev.xlsx"],
     "Error: {tmp}/ev.xlsx: the name ends in .xlsx, but --format md writes a .md file How to fix: end the file's name in .md, or use "
     "--format xlsx."),
    (["export", "--format", "html", "--out", "{tmp}/report.xlsx"],
     "Error: {tmp}/report.xlsx: the name ends in .xlsx, but --format html writes a .html file How to fix: end the file's name in "
     ".html, or use --format xlsx."),
    (["quotes", "--format", "docx", "--out", "{tmp}/quotes.md"],
     "Error: {tmp}/quotes.md: the name ends in .md, but --format docx writes a .docx file How to fix: end the file's name in .docx, "
     "or use --format md."),
])
def test_cli_a_file_ending_that_names_another_format_is_refused(coded_demo, tmp_path, args, message):
    """Markdown written into an .xlsx makes Excel call the file damaged; nothing is written."""
    result = CliRunner().invoke(app, ["--project", str(coded_demo), *[a.format(tmp=tmp_path) for a in args]],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == message.format(tmp=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_an_ending_copcode_does_not_write_is_the_users_choice(coded_demo, tmp_path):
    result = CliRunner().invoke(app, ["--project", str(coded_demo), "quotes", "--format", "csv", "--out",
                                      str(tmp_path / "quotes.txt")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "quotes.txt").read_text(encoding="utf-8").startswith("segment,transcript,participant,group,theme,code,")


@pytest.mark.parametrize("command", [["status"], ["quotes"], ["code"]])
def test_cli_a_folder_that_is_no_project_is_named_so(tmp_path, command):
    result = CliRunner().invoke(app, ["--project", str(tmp_path), *command], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: {tmp_path}: no copcode project here (no copcode.yaml, codebooks/ or transcripts/) How to fix: run "
        "copcode in the project's folder, or name it with --project FOLDER; `copcode init` makes a new project.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("participant, group", [("E05", "E"), ("E-5", "E"), ("P 3", "P"), ("Entrevista", ""),
                                                ("Paula", ""), ("R", "R")])
def test_a_group_prefix_is_followed_by_no_letter(tmp_path, participant, group):
    """With the default groups, a document named "Entrevista" is no Expert by experience."""
    from copcode.project import open_project

    assert open_project(tmp_path).group_of(participant) == group


@pytest.mark.parametrize("args, message", [
    (["export", "--format", "htm", "--out", "{tmp}/report.htm"],
     "Error: unknown export format 'htm' How to fix: use one of csv, xlsx, qdpx, qdc, html."),
    (["export", "--format", "excel", "--out", "{tmp}/all.xlsx"],
     "Error: unknown export format 'excel' How to fix: use one of csv, xlsx, qdpx, qdc, html."),
    (["export", "--out", "{tmp}/report.txt"],
     "Error: {tmp}/report.txt: the file's ending does not tell which format to write How to fix: end its name in .html, "
     ".xlsx, .csv, .qdpx or .qdc, or add --format (csv, xlsx, qdpx, qdc, html)."),
    (["quotes", "--format", "word"],
     "Error: unknown format 'word' How to fix: use one of table, csv, md, json, xlsx, docx."),
    (["segments", "--format", "word"],
     "Error: unknown format 'word' How to fix: use one of table, csv, md, json, xlsx."),
    (["quotes", "--out", "{tmp}/quotes.html"],
     "Error: {tmp}/quotes.html: the file's ending does not tell which format to write How to fix: end its name in "
     ".csv, .md, .json, .xlsx or .docx, or add --format."),
    (["segments", "--out", "{tmp}/segments"],
     "Error: {tmp}/segments: the file's ending does not tell which format to write How to fix: end its name in "
     ".csv, .md, .json or .xlsx, or add --format."),
])
def test_cli_an_unknown_format_is_named_with_the_formats_there_are(coded_demo, tmp_path, args, message):
    """A format with a known file ending (--format htm --out report.htm) once reached a KeyError
    and a traceback."""
    result = CliRunner().invoke(app, ["--project", str(coded_demo), *[a.format(tmp=tmp_path) for a in args]],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == message.format(tmp=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, name, start", [
    (["export", "--out", "{tmp}/report.htm"], "report.htm", b"<!doctype html>"),
    (["export", "--format", "HTML", "--out", "{tmp}/report.html"], "report.html", b"<!doctype html>"),
    (["export", "--out", "{tmp}/study.qdpx"], "study.qdpx", b"PK"),
    (["quotes", "--format", "MD", "--out", "{tmp}/quotes.markdown"], "quotes.markdown", b"| segment |"),
    (["quotes", "--out", "{tmp}/quotes.markdown"], "quotes.markdown", b"| segment |"),
])
def test_cli_the_format_is_taken_from_the_file_ending_and_in_any_case(coded_demo, tmp_path, args, name, start):
    result = CliRunner().invoke(app, ["--project", str(coded_demo), *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_bytes().startswith(start)


def test_participant_and_group_repeat_for_several(coded_demo, tmp_path):
    """A repeated --participant (or --group) asks for each of them; it used to keep the last
    one only, silently."""
    import csv
    import io

    def rows(*args):
        result = CliRunner().invoke(app, ["--project", str(coded_demo), *args, "--format", "csv"])
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))

    segments = rows("segments", "--participant", "E01", "--participant", "p03")
    assert {r["participant"] for r in segments} == {"E01", "P03"}
    assert len(segments) == len(rows("segments", "--participant", "E01")) + len(rows("segments", "--participant", "P03"))
    quotes = rows("quotes", "--limit", "0", "--per-participant", "0", "--participant", "E01", "--participant", "P03")
    assert {r["participant"] for r in quotes} == {"E01", "P03"}
    assert {r["group"] for r in rows("segments", "--group", "E", "--group", "R")} == {"E", "R"}
    sheet = tmp_path / "sheet.csv"
    result = CliRunner().invoke(app, ["--project", str(coded_demo), "review", "--coder", "ann", "--export", str(sheet),
                                      "--participant", "E01", "--participant", "R01"])
    assert result.exit_code == 0, result.output
    with sheet.open(encoding="utf-8") as handle:
        assert {r["participant"] for r in csv.DictReader(handle)} == {"E01", "R01"}
    wrong = CliRunner().invoke(app, ["--project", str(coded_demo), "segments", "--participant", "E01",
                                     "--participant", "E99"])
    assert wrong.exit_code == 1
    assert wrong.output.startswith("Error: unknown participant 'E99'")


@pytest.mark.parametrize("command", [["quotes"], ["segments"], ["review", "--coder", "ann", "--export"]])
def test_a_code_outside_the_theme_asked_for_is_refused(coded_demo, command, tmp_path):
    """An empty table would read as "nothing coded"."""
    sheet = tmp_path / "sheet.csv"
    result = CliRunner().invoke(app, ["--project", str(coded_demo), *command, *([str(sheet)] if "--export" in command
                                                                                 else []),
                                      "--theme", "territory", "--code", "inclusive-learning"])
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == ("Error: code inclusive-learning is in theme coproducing, not in "
                                               "territory How to fix: give --theme coproducing, or --code alone.")
    assert not sheet.exists()
