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
