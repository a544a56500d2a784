"""The cache, parallel coding and survey answers as input."""

import csv
import json
import sqlite3

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import code_project
from copcode.project import open_project


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


def rows(root, table):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_scale_warm_rerun_parses_nothing_and_an_edit_only_its_segment(demo_copy, monkeypatch):
    project = open_project(demo_copy)
    first = code_project(project)
    assert first.parsed == first.segments == 375
    suggestions = rows(demo_copy, "suggestions")
    import copcode.nlp

    def no_spacy(*args, **kwargs):
        raise AssertionError("the pipeline was built although nothing changed")

    monkeypatch.setattr(copcode.nlp, "build_pipeline", no_spacy)
    assert code_project(project).parsed == 0
    assert rows(demo_copy, "suggestions") == suggestions
    monkeypatch.undo()
    path = demo_copy / "transcripts" / "E05.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("bag of tablets", "bag of pills"), encoding="utf-8")
    path = demo_copy / "transcripts" / "E06.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nInterviewer: One more thing?\n\nE06: No, that's all.\n",
                    encoding="utf-8")
    third = code_project(project)
    assert third.parsed == 2 and third.segments == 376  # the edited passage and the new answer


def test_scale_workers_give_the_same_suggestions(demo_copy, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(demo_copy, other)
    assert code_project(open_project(demo_copy)).parsed == 375
    assert code_project(open_project(other), workers=2).parsed == 375
    assert rows(other, "suggestions") == rows(demo_copy, "suggestions")
    # the cache too, the codebook's definitions among its entries (scored by the run's workers)
    from copcode.coding import project_codebook
    from copcode.learn import definition_texts
    from copcode.suggest import cache_key

    codebook = project_codebook(open_project(other))
    assert rows(other, "cache") == rows(demo_copy, "cache")
    assert {cache_key(codebook, 0.35, text) for _, text in definition_texts(codebook)} <= \
        {key for key, _ in rows(other, "cache")}


def test_scale_survey_answers_as_input(tmp_path):
    root = tmp_path / "survey"
    (root / "codebooks").mkdir(parents=True)
    from conftest import SMALL_CODEBOOK

    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    answers = root / "answers.csv"
    with answers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "comment", "site", "role"])
        writer.writerow(["S001", "We learnt a lot from the carers.", "Ashford", "nurse"])
        writer.writerow(["S002", "My workload is too high. No time for anything.", "Dover", "carer"])
        writer.writerow(["S003", "", "Dover", "carer"])
        writer.writerow(["S004", "Fine, thanks.\r\nNothing else.", "Deal", "admin"])
    result = cli(root, "code", "--input", str(answers), "--id-column", "id", "--text-column", "comment")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Coded 3 answers: 3 segments, 2 suggested codings")
    assert result.stderr == "Warning: answers.csv: 1 row(s) with an empty comment skipped.\n"
    quotes = json.loads(cli(root, "quotes", "--theme", "barriers", "--format", "json", "--with", "site,role").stdout)
    assert [(q["participant"], q["quote"], q["site"], q["role"]) for q in quotes] == [
        ("S002", "My workload is too high. No time for anything.", "Dover", "carer")]
    matrix = json.loads(cli(root, "matrix", "--format", "json").stdout)
    assert [(m["participant"], m["learn"], m["time"]) for m in matrix[:-1]] == [
        ("S001", 1, 0), ("S002", 0, 1), ("S004", 0, 0)]


@pytest.mark.parametrize("content, message", [
    ("id,text\nA,hello\nA,again\n", "row 3 repeats the id 'A' of row 2"),
    ("key,comment\nA,hello\n", "no column 'id', 'text' (the columns are: key, comment)"),
])
def test_scale_survey_input_errors(small_project, content, message):
    answers = small_project / "answers.csv"
    answers.write_text(content, encoding="utf-8")
    result = cli(small_project, "code", "--input", str(answers))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {answers}: {message}\n")
