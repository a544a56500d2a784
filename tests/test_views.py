"""The views of the store: codings as data, every segment (`copcode segments`), quotes that
never hide a code, the light start-up path of `copcode quotes`, and case 37."""

import csv
import html
import io
import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import docx
import openpyxl
import pytest
from typer.testing import CliRunner

from copcode.cli import app

WIDE = {"COLUMNS": "200"}


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env=WIDE)


def rows_of(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def opened(root):
    """(store, codebook, view) of a coded project; close the store afterwards."""
    from copcode.coding import project_codebook
    from copcode.project import open_project
    from copcode.store import open_store
    from copcode.tables import ProjectView

    project = open_project(root)
    store = open_store(project.store_path, create=False)
    codebook = project_codebook(project)
    return store, codebook, ProjectView(store, codebook)


def codebook_of(root):
    from copcode.coding import project_codebook
    from copcode.project import open_project

    return project_codebook(open_project(root))


def decide(root, *args):
    result = cli(root, *args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def coded(small_project):
    assert cli(small_project, "code").exit_code == 0
    return small_project


def segment_of(root, participant: str, code: str) -> str:
    return next(r["segment"] for r in rows_of(cli(root, "quotes", "--format", "csv", "--limit", "0"))
                if r["participant"] == participant and r["code"] == code)


# ---------------------------------------------------------------- codings as data

def test_codings_have_status_coders_and_origin_as_fields(coded):
    learn_p02 = segment_of(coded, "P02", "learn")
    learn_e01 = segment_of(coded, "E01", "learn")
    time_p02 = segment_of(coded, "P02", "time")
    decide(coded, "tag", learn_p02, "learn", "--coder", "Smith, Jane")
    decide(coded, "tag", learn_p02, "learn", "--coder", "ann")
    decide(coded, "reject", learn_e01, "learn", "--coder", "ann")
    decide(coded, "tag", learn_e01, "time", "--coder", "bob")
    store, _, view = opened(coded)
    try:
        found = {(c.segment, c.code): c for c in view.codings}
    finally:
        store.close()
    assert (found[learn_p02, "learn"].status, found[learn_p02, "learn"].coders,
            found[learn_p02, "learn"].origin) == ("accepted", ("Smith, Jane", "ann"), "accepted")
    assert (found[learn_e01, "learn"].status, found[learn_e01, "learn"].coders,
            found[learn_e01, "learn"].origin) == ("rejected", (), "suggested")
    assert (found[learn_e01, "time"].status, found[learn_e01, "time"].coders,
            found[learn_e01, "time"].origin, found[learn_e01, "time"].score) == ("accepted", ("bob",), "tagged", 1.0)
    assert (found[time_p02, "time"].status, found[time_p02, "time"].origin) == ("suggested", "suggested")
    # the text is made only where it is shown
    assert found[learn_p02, "learn"].shown_status == "accepted by Smith, Jane, ann"
    rows = rows_of(cli(coded, "quotes", "--format", "csv", "--limit", "0"))
    assert {(r["participant"], r["code"], r["status"]) for r in rows} == {
        ("P02", "learn", "accepted by Smith, Jane, ann"), ("E01", "time", "accepted by bob"),
        ("P02", "time", "suggested")}


def test_case_37_a_coder_with_a_comma_is_one_user_in_the_qdpx_export(coded, tmp_path):
    segment = segment_of(coded, "P02", "learn")
    decide(coded, "tag", segment, "learn", "--coder", "Smith, Jane")
    decide(coded, "tag", segment, "learn", "--coder", "ann")
    target = tmp_path / "study.qdpx"
    result = cli(coded, "export", "--format", "qdpx", "--out", str(target))
    assert result.exit_code == 0, result.output
    ns = {"q": "urn:QDA-XML:project:1.0"}
    root = ET.fromstring(zipfile.ZipFile(target).read("project.qde"))
    users = {u.get("name"): u.get("guid") for u in root.find("q:Users", ns)}
    assert list(users) == ["copcode", "Smith, Jane", "ann"]
    codings = root.findall(".//q:PlainTextSelection/q:Coding", ns)
    assert sorted(c.get("creatingUser") for c in codings) == sorted([users["Smith, Jane"], users["ann"]])


# ---------------------------------------------------------------- copcode segments

def test_quotes_without_a_theme_give_each_theme_its_own_limit(coded_demo):
    """As the report and `--theme` show them: the 10 quotes were shared by every code of every
    theme, so the Word file of all themes held a third of the report's (new-user trial)."""
    def quotes(*args):
        result = cli(coded_demo, "quotes", "--format", "csv", *args)
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))

    every = quotes()
    by_theme = [quotes("--theme", theme) for theme in ("coproducing", "territory", "practice")]
    assert [len(q) for q in by_theme] == [10, 10, 10]
    assert every == [row for rows in by_theme for row in rows]
    assert len(quotes("--limit", "3")) == 9


def test_segments_lists_every_segment_coded_or_not(coded_demo):
    rows = rows_of(cli(coded_demo, "segments", "--format", "csv"))
    db = sqlite3.connect(coded_demo / ".copcode" / "copcode.db")
    try:
        stored = db.execute('SELECT id, transcript, start, "end", text FROM segments ORDER BY transcript, start').fetchall()
        suggested = {(s, c) for s, c in db.execute("SELECT segment, code FROM suggestions")}
    finally:
        db.close()
    assert list(rows[0]) == ["segment", "transcript", "participant", "group", "speaker", "start", "end", "text", "codes"]
    assert [(r["segment"], r["transcript"], int(r["start"]), int(r["end"]), r["text"]) for r in rows] == \
        [tuple(s) for s in stored]
    uncoded = [r for r in rows if not r["codes"]]
    assert uncoded and len(uncoded) < len(rows)
    listed = {(r["segment"], pair.split(": ")[0]) for r in rows if r["codes"] for pair in r["codes"].split("; ")}
    assert listed == suggested
    assert all(pair.endswith(": suggested") for r in rows if r["codes"] for pair in r["codes"].split("; "))
    assert all(r["speaker"] for r in rows)


def test_segments_filters_and_formats(coded_demo, tmp_path):
    everything = rows_of(cli(coded_demo, "segments", "--format", "csv"))
    learning = rows_of(cli(coded_demo, "segments", "--format", "csv", "--code", "shared-language"))
    assert learning and all(r["codes"] == "shared-language: suggested" for r in learning)
    assert {r["segment"] for r in learning} == {r["segment"] for r in everything if "shared-language" in r["codes"]}
    group_e = rows_of(cli(coded_demo, "segments", "--format", "csv", "--group", "e"))
    assert group_e and {r["group"] for r in group_e} == {"E"}
    assert rows_of(cli(coded_demo, "segments", "--format", "csv", "--status", "accepted")) == []
    as_json = json.loads(cli(coded_demo, "segments", "--format", "json", "--participant", "P03").stdout)
    assert [r["segment"] for r in as_json] == [r["segment"] for r in everything if r["participant"] == "P03"]
    assert isinstance(as_json[0]["start"], int)
    target = tmp_path / "segments.xlsx"
    assert cli(coded_demo, "segments", "--out", str(target)).exit_code == 0
    sheet = list(openpyxl.load_workbook(target).active.values)
    assert len(sheet) == 1 + len(everything)
    table = cli(coded_demo, "segments", "--participant", "P03")
    assert table.exit_code == 0 and "P03" in table.stdout


def test_segments_are_redacted_like_every_table(coded_small):
    project = coded_small[0]
    (project.root / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "Carers": "[group]"\n',
                                               encoding="utf-8")
    result = cli(project.root, "segments", "--format", "csv")
    rows = rows_of(result)
    assert "Carers" not in result.stdout
    assert any("[group] know things" in r["text"] for r in rows)


# ---------------------------------------------------------------- quotes never hide a code

def test_quotes_give_every_code_of_a_theme_its_share(coded_demo):
    for theme in codebook_of(coded_demo).themes:
        every = rows_of(cli(coded_demo, "quotes", "--theme", theme.id, "--format", "csv", "--limit", "0"))
        with_passages = [c.id for c in theme.codes if any(r["code"] == c.id for r in every)]
        assert len(with_passages) >= 2
        # as many places as codes: each code that has passages gets one, in codebook order
        rows = rows_of(cli(coded_demo, "quotes", "--theme", theme.id, "--format", "csv",
                           "--limit", str(len(with_passages))))
        assert [r["code"] for r in rows] == with_passages
        # the default limit: grouped by code in codebook order, every code there
        rows = rows_of(cli(coded_demo, "quotes", "--theme", theme.id, "--format", "csv"))
        codes = [r["code"] for r in rows]
        assert sorted(set(codes), key=codes.index) == with_passages
        assert codes == sorted(codes, key=with_passages.index)


def test_fair_shares_pass_on_what_a_code_cannot_use():
    from copcode.tables import _fair_shares

    assert _fair_shares({"a": 50, "b": 50, "c": 50}, 10) == {"a": 4, "b": 3, "c": 3}
    assert _fair_shares({"a": 50, "b": 1, "c": 2}, 10) == {"a": 7, "b": 1, "c": 2}
    assert _fair_shares({"a": 1, "b": 1}, 10) == {"a": 1, "b": 1}


def test_quotes_terminal_has_a_heading_per_code(coded_demo):
    result = cli(coded_demo, "quotes", "--theme", "territory")
    assert result.exit_code == 0, result.output
    for code in codebook_of(coded_demo).find_theme("territory").codes:
        assert f"{code.label} ({code.id})" in result.stdout


def test_quotes_word_and_html_show_the_same_selection(coded_demo, tmp_path):
    report = tmp_path / "report.html"
    assert cli(coded_demo, "export", "--format", "html", "--out", str(report)).exit_code == 0
    page = report.read_text(encoding="utf-8")
    for theme in codebook_of(coded_demo).themes:
        rows = rows_of(cli(coded_demo, "quotes", "--theme", theme.id, "--format", "csv"))
        target = tmp_path / f"{theme.id}.docx"
        assert cli(coded_demo, "quotes", "--theme", theme.id, "--out", str(target)).exit_code == 0
        quotes = [p.text for p in docx.Document(target).paragraphs if p.text.startswith("“")]
        assert [q.split("”")[0].lstrip("“") for q in quotes] == [" ".join(r["quote"].split()) for r in rows]
        section = page.split(f'<h2 id="{theme.id}"', 1)[1].split("<h2", 1)[0]
        shown = [html.unescape(q.split("”")[0]) for q in section.split("<blockquote")[1:]]
        assert [s.split("“", 1)[1] for s in shown] == [" ".join(r["quote"].split()) for r in rows]


# ---------------------------------------------------------------- start-up

LOADED = """
import sys
from copcode.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print("loaded:", *sorted(m for m in ("pandas", "spacy", "numpy") if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["csv", "json", "md", "table"])
def test_quotes_import_neither_pandas_nor_spacy(coded_demo, fmt):
    result = subprocess.run([sys.executable, "-c", LOADED, "--project", str(coded_demo), "quotes",
                             "--theme", "territory", "--format", fmt],
                            check=False, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert result.stdout.strip(), result.stderr
    assert result.stderr.splitlines()[-1] == "loaded:", result.stderr
