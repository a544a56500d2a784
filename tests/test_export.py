"""Write-up outputs, opened with the libraries a user's program would use: python-docx,
openpyxl, the official REFI-QDA schemas, and a real browser."""

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
import xmlschema
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import project_codebook
from copcode.decisions import coding_state, record
from copcode.project import open_project
from copcode.store import open_store
from copcode.tables import ProjectView, coded_segments


def codings(store, codebook):
    """Every coding as a DataFrame, one column per field of tables.Coding."""
    import dataclasses

    import pandas as pd

    return pd.DataFrame([{**dataclasses.asdict(c), "quote": c.quote} for c in ProjectView(store, codebook).codings])

SCHEMAS = Path(__file__).parent / "refi-qda"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def decided_demo(tmp_path_factory):
    """The demo coded, with two coders' decisions on the territory suggestions."""
    from copcode.coding import code_project

    from conftest import copy_demo

    root = copy_demo(tmp_path_factory.mktemp("decided"))
    project = open_project(root)
    code_project(project)
    store = open_store(project.store_path, create=False)
    codebook = project_codebook(project)
    frame = codings(store, codebook)
    territory = frame[frame["theme"] == "territory"].sort_values("score", ascending=False)
    for i, row in enumerate(territory.head(12).itertuples()):
        record(store, codebook, row.segment, row.code, "accept" if i % 3 else "reject", "coder-a")
        record(store, codebook, row.segment, row.code, "accept", "coder-b")
    store.close()
    return root


def test_export_quotes_docx_reads_like_a_papers_table(decided_demo, tmp_path):
    target = tmp_path / "territory.docx"
    result = cli(decided_demo, "quotes", "--theme", "territory", "--format", "docx", "--out", str(target),
                 "--with", "cop,sector")
    assert result.exit_code == 0, result.output
    document = docx.Document(target)
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith(("Title", "Heading"))]
    assert headings[:2] == [
        ("Title", "Exemplar quotes: Sharing learning and knowledge transfer within and beyond the COP in adult social care (defining territory)"),
        ("Heading 1", "Sharing learning and knowledge transfer within and beyond the COP in adult social care (defining territory)")]
    assert {h for s, h in headings if s == "Heading 2"} <= {
        "Promoting shared learning within the constraints of the prevailing culture",
        "A shared 'language' of research to promote learning"}
    quotes = [p for p in document.paragraphs if p.text.startswith("“")]
    csv_rows = cli(decided_demo, "quotes", "--theme", "territory", "--format", "json", "--with", "cop,sector").stdout
    expected = json.loads(csv_rows)
    assert len(quotes) == len(expected) == 10
    first = next(p for p in quotes if "(P03, WF, statutory)" in p.text)
    assert first.runs[0].text.startswith("“Overall, it needs to be more of a culture change")
    assert first.runs[1].text == " (P03, WF, statutory)" and first.runs[1].bold


def test_export_quotes_xlsx_keeps_text_as_text(decided_demo, tmp_path):
    target = tmp_path / "practice.xlsx"
    assert cli(decided_demo, "quotes", "--theme", "practice", "--format", "xlsx", "--out", str(target)).exit_code == 0
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.values)
    assert rows[0] == ("segment", "transcript", "participant", "group", "theme", "code", "start", "end",
                       "quote", "score", "status")
    expected = json.loads(cli(decided_demo, "quotes", "--theme", "practice", "--format", "json").stdout)
    assert [r[8] for r in rows[1:]] == [e["quote"] for e in expected]
    assert all(cell.data_type in ("s", "n") for row in sheet.iter_rows() for cell in row if cell.value is not None)


def test_export_matrix_counts_and_totals(decided_demo):
    result = cli(decided_demo, "matrix", "--by", "participant", "--format", "json")
    rows = json.loads(result.stdout)
    project = open_project(decided_demo)
    store = open_store(project.store_path, create=False)
    segments = coded_segments(ProjectView(store, project_codebook(project))).to_frame()
    store.close()
    for row in rows[:-1]:
        mine = segments[segments["participant"] == row["participant"]]
        assert row["shared-language"] == mine[mine["code"] == "shared-language"]["segment"].nunique()
    total = rows[-1]
    covered = segments[segments["code"] == "research-collaboration"].drop_duplicates("participant")
    e, p, r = (int((covered["group"] == g).sum()) for g in "EPR")
    assert total["research-collaboration"] == f"{len(covered)} of 21 (E {e}/7, P {p}/10, R {r}/4)"


def test_export_matrix_by_group_with_quotes_and_cooccurrence(decided_demo, tmp_path):
    target = tmp_path / "matrix.xlsx"
    assert cli(decided_demo, "matrix", "--by", "group", "--cells", "quotes", "--format", "xlsx", "--out", str(target)).exit_code == 0
    rows = list(openpyxl.load_workbook(target).active.values)
    assert [r[0] for r in rows] == ["group", "E", "P", "R", "participants"]
    assert all(cell.startswith("“") and cell.endswith(")") for r in rows[1:4] for cell in r[1:] if cell)
    co = json.loads(cli(decided_demo, "matrix", "--cooccurrence", "--format", "json").stdout)
    by_code = {row["code"]: row for row in co}
    assert by_code["shared-language"]["prevailing-culture"] == by_code["prevailing-culture"]["shared-language"]


def test_export_workbook_has_every_table(decided_demo, tmp_path):
    target = tmp_path / "study.xlsx"
    assert cli(decided_demo, "export", "--format", "xlsx", "--out", str(target)).exit_code == 0
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["segments", "quotes coproducing", "quotes territory", "quotes practice",
                               "matrix", "co-occurrence", "codebook", "decisions"]
    assert book["decisions"].max_row == 1 + 24


def test_export_qdpx_and_qdc_are_valid_refi_qda(decided_demo, tmp_path):
    qdpx, qdc = tmp_path / "study.qdpx", tmp_path / "cop.qdc"
    assert cli(decided_demo, "export", "--format", "qdpx", "--out", str(qdpx)).exit_code == 0
    assert cli(decided_demo, "export", "--format", "qdc", "--out", str(qdc)).exit_code == 0
    xmlschema.XMLSchema(SCHEMAS / "Codebook.xsd").validate(str(qdc))
    archive = zipfile.ZipFile(qdpx)
    project_xml = archive.read("project.qde").decode("utf-8")
    xmlschema.XMLSchema(SCHEMAS / "Project.xsd").validate(project_xml)
    import xml.etree.ElementTree as ET

    ns = {"q": "urn:QDA-XML:project:1.0"}
    root = ET.fromstring(project_xml)
    assert [u.get("name") for u in root.find("q:Users", ns)] == ["copcode", "coder-a", "coder-b"]
    themes = root.findall("q:CodeBook/q:Codes/q:Code", ns)
    assert [(t.get("isCodable"), len(t.findall("q:Code", ns))) for t in themes] == [("false", 3), ("false", 2), ("false", 2)]
    cases = root.findall("q:Cases/q:Case", ns)
    assert len(cases) == 21 and cases[0].find("q:VariableValue/q:TextValue", ns) is not None
    # every selection's text in the exported source is the quote the tables show
    project = open_project(decided_demo)
    store = open_store(project.store_path, create=False)
    frame = codings(store, project_codebook(project))
    store.close()
    accepted = frame[frame["status"] == "accepted"]
    quotes = {(r.transcript, r.quote_start, r.quote_end): r.quote for r in accepted.itertuples()}
    selections = 0
    for source in root.findall("q:Sources/q:TextSource", ns):
        text = archive.read("sources/" + source.get("plainTextPath").removeprefix("internal://")).decode("utf-8")
        for selection in source.findall("q:PlainTextSelection", ns):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert text[start:end] == quotes[(source.get("name"), start, end)]
            selections += 1
    assert selections == len(quotes) == len(accepted) > 0


def test_export_qdpx_round_trip_into_a_fresh_project(decided_demo, tmp_path):
    qdpx = tmp_path / "study.qdpx"
    cli(decided_demo, "export", "--format", "qdpx", "--out", str(qdpx))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = cli(fresh, "import", str(qdpx))
    assert result.exit_code == 0, result.output
    assert "Added 21 transcripts and" in result.stdout and "Not imported" not in result.stdout

    def snapshot(root):
        project = open_project(root)
        store = open_store(project.store_path, create=False)
        codebook = project_codebook(project)
        texts = dict(store.db.execute("SELECT id, text FROM segments"))
        state = {(texts[s], c, coder): v for (s, c, coder), v in coding_state(store, codebook).states.items()
                 if v == "accepted"}
        store.close()
        return [(c.id, c.label) for c in codebook.codes], [(t.id, t.label) for t in codebook.themes], state

    assert snapshot(fresh) == snapshot(decided_demo)


def test_import_tolerates_other_tools_variants(tmp_path):
    text = "Interviewer: Hi 😀 there.\r\nE01: We learnt a lot 😀 from carers.\r\n"  # Windows line ends
    start = text.index("We learnt")
    end = text.index(" from carers") + len(" from carers.")
    def utf16(i):
        return len(text[:i].encode("utf-16-le")) // 2

    project_xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0:atlas" name="x">
 <Users><User guid="11111111-1111-1111-1111-111111111111" name="nvivo user"/></Users>
 <CodeBook><Codes><Code guid="22222222-2222-2222-2222-222222222222" name="Learning" isCodable="true"/></Codes></CodeBook>
 <Sources>
  <TextSource guid="33333333-3333-3333-3333-333333333333" name="E01" plainTextPath="internal://33333333-3333-3333-3333-333333333333.txt">
   <PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="{utf16(start)}" endPosition="{utf16(end)}">
    <Coding guid="55555555-5555-5555-5555-555555555555" creatingUser="11111111-1111-1111-1111-111111111111">
     <CodeRef targetGUID="22222222-2222-2222-2222-222222222222"/></Coding>
   </PlainTextSelection>
  </TextSource>
  <PictureSource guid="66666666-6666-6666-6666-666666666666" name="photo"/>
 </Sources>
</Project>"""
    qdpx = tmp_path / "nvivo.qdpx"
    with zipfile.ZipFile(qdpx, "w") as zf:
        zf.writestr("project.qde", project_xml)
        zf.writestr("Sources/33333333-3333-3333-3333-333333333333.txt", text)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = cli(fresh, "import", str(qdpx), "--utf16")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote codebooks/nvivo.yaml and copcode.yaml", "Added 1 transcript and 1 coding.",
        "Offsets read as UTF-16 code units (--utf16).",
        "Not imported: source 'photo': a PictureSource is not text; left out"]
    project = open_project(fresh)
    store = open_store(project.store_path, create=False)
    [(segment, code, coder)] = coding_state(store, project_codebook(project)).states
    assert (code, coder) == ("learning", "nvivo user")
    assert store.db.execute("SELECT text FROM segments WHERE id = ?", (segment,)).fetchone()[0] == text[start:end]
    store.close()


def test_import_a_codebook_alone_and_a_malformed_project(tmp_path, decided_demo):
    qdc = tmp_path / "cop.qdc"
    cli(decided_demo, "export", "--format", "qdc", "--out", str(qdc))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = cli(fresh, "import", str(qdc))
    assert (result.exit_code, result.stdout) == (0, "Wrote codebooks/cop.yaml and copcode.yaml\nAdded 0 transcripts and 0 codings.\n")
    assert cli(fresh, "codebook", "check").stdout.startswith("codebooks/cop.yaml: valid. 3 themes, 7 codes, 0 cues.")
    broken = tmp_path / "broken.qdpx"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("project.qde", '<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Sources>'
                    '<TextSource guid="33333333-3333-3333-3333-333333333333" name="../../E01">'
                    '<PlainTextContent>E01: Hello there, all of you.</PlainTextContent>'
                    '<PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="5"/>'
                    '</TextSource></Sources></Project>')
    result = cli(fresh, "import", str(broken))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Not imported: source '../../E01': a selection without valid positions; left out"
    assert (fresh / "transcripts" / "E01.txt").read_text(encoding="utf-8") == "E01: Hello there, all of you."


def test_export_xlsx_cells_lose_control_characters():
    import io

    import pandas as pd

    from copcode.export.xlsx import workbook_bytes

    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"t": pd.DataFrame({"quote": ["page\x0cbreak", "=1+1"]})})))
    assert [c.value for c in book["t"]["A"]] == ["quote", "page break", "=1+1"]
    assert book["t"]["A3"].data_type == "s"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args, tmp_path):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (.ci/run installs Debian's chromium): "
                    "the HTML report was not tested in a browser")
def test_export_html_report_renders_in_a_real_browser(decided_demo, tmp_path):
    report = tmp_path / "report.html"
    assert cli(decided_demo, "export", "--format", "html", "--out", str(report)).exit_code == 0
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # self-contained, opens offline
    dom = _chromium("--dump-dom", f"{report.as_uri()}#transcript-P03", tmp_path=tmp_path).stdout
    marks = html.count("<mark ")
    # what the page's script rendered: the count, and the first P03 passage's codes in the panel
    assert f"{marks} coded passages are highlighted; click one to see its codes and evidence." in dom
    assert '<aside id="info"><h3>P03-' in dom and "evidence:" in dom.split('<aside id="info">')[1]
    assert "<svg" in dom and "inclusive-learning, E:" in html
    shot = tmp_path / "report.png"
    _chromium("--window-size=1400,900", f"--screenshot={shot}", report.as_uri(), tmp_path=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_export_html_chart_without_groups_counts_each_code_once(small_project, tmp_path):
    """A project made by `copcode init` has `groups: {}`: the chart had the heading's list
    empty, every code's name drawn on top of the next and no bar (new-user trial)."""
    import re

    (small_project / "copcode.yaml").write_text("groups: {}\n", encoding="utf-8")
    assert cli(small_project, "code").exit_code == 0
    report = tmp_path / "report.html"
    assert cli(small_project, "export", "--format", "html", "--out", str(report)).exit_code == 0
    html = report.read_text(encoding="utf-8")
    assert '<h2 id="overview">Codes</h2>' in html
    assert "passages per code (no coded passage is in a group)" in html
    assert re.findall(r"<title>([^<]*)</title></rect>", html) == ["learn: 2", "time: 1"]  # E01, and P02 by "training"
    names = re.findall(r"<text x='222' y='([\d.]+)' text-anchor='end' font-size='12'>([^<]*)</text>", html)
    assert [name for _, name in names] == ["learn", "time"] and names[0][0] != names[1][0]
