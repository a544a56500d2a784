"""Hostile cases 23-29 (outputs): user text reaches a terminal, a docx or an xlsx as written and
harmless; spreadsheets hold text, never formulas; escaped ids read back; --out writes only
regular files."""

import csv
import io
import json
import os
import sqlite3
import stat

import docx
import openpyxl
import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.safetext import visible

# NUL, BEL, CSI colour, OSC window title, OSC 8 hyperlink, a C1 CSI (0x9b) and a right-to-left override
HOSTILE = ("I had no time \x00 \x07 my \x1b[31mworkload\x1b[0m \x1b]0;pwned\x07 "
           "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ \x9b31m \u202eis huge.")
SHOWN = ("I had no time ␀ ␇ my ␛[31mworkload␛[0m ␛]0;pwned␇ "
         "␛]8;;http://evil.example/␛\\link␛]8;;␛\\ \ufffd31m \ufffdis huge.")
UNSAFE = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x202E] if chr(c) not in "\t\n"]


@pytest.fixture(autouse=True)
def _in_the_project(small_project, monkeypatch):
    """Relative paths (--out, --input) are the project's."""
    monkeypatch.chdir(small_project)


def cli(root, *args, input=None):
    return CliRunner().invoke(app, ["--project", str(root), *args], input=input,
                              env={"COLUMNS": "250", "COPCODE_CODER": "ann"})


def snapshot(root):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ["transcripts", "turns", "segments", "suggestions", "decisions"]}
    finally:
        db.close()


def survey(root, rows, name="answers.csv", header=("id", "text")):
    """Code `rows` (id, text, ...) as survey answers; returns the project folder."""
    with (root / name).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    result = cli(root, "code", "--input", name)
    assert result.exit_code == 0, result.output
    return root


def segment_ids(root):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return {row[1]: row[0] for row in db.execute("SELECT id, transcript FROM segments")}
    finally:
        db.close()


def test_visible_shows_every_control_character_one_for_one():
    assert visible(HOSTILE) == SHOWN
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("a\tb\nc", keep="") == "a␉b␊c"
    assert visible("page\x0cbreak\x7f") == "page break␡"
    for character in UNSAFE:
        assert len(visible(character)) == 1 and visible(character) != character


@pytest.fixture
def hostile(small_project):
    return survey(small_project, [("A1", HOSTILE)])


def test_case_23_control_characters_in_a_docx(hostile):
    result = cli(hostile, "quotes", "--format", "docx", "--out", "quotes.docx")
    assert result.exit_code == 0, result.output
    assert result.stderr == "Wrote 1 quotes to quotes.docx\n"
    [quote] = [p.text for p in docx.Document(hostile / "quotes.docx").paragraphs if p.text.startswith("“")]
    assert quote == f"“{SHOWN}” (A1)  [suggested, {segment_ids(hostile)['A1']}]"


def test_case_23_docx_takes_any_label(small_project):
    import pandas as pd

    from copcode.codebook import load_codebook
    from copcode.export.docx import quotes_docx

    codebook = load_codebook(small_project / "codebooks" / "small.yaml")
    frame = pd.DataFrame([{"theme": "barriers", "code": "time", "quote": "".join(UNSAFE), "participant": "P\x00\x1b",
                           "status": "suggested\x07", "segment": "P-1\x08", "cop": "\x01"}])
    document = docx.Document(__import__("io").BytesIO(quotes_docx(frame, codebook, "T\x00" * 300, ["cop"])))
    assert document.paragraphs[0].text == "T␀" * 300
    assert document.core_properties.title == ("T␀" * 300)[:255]


def test_case_24_terminal_escapes_never_reach_the_terminal(hostile):
    before = snapshot(hostile)
    shown = cli(hostile, "quotes")
    assert shown.exit_code == 0, shown.output
    assert SHOWN in shown.stdout
    review = cli(hostile, "review", input="q")
    assert review.exit_code == 0, review.output
    assert SHOWN in review.stdout
    tables = cli(hostile, "matrix", "--cells", "quotes")
    assert tables.exit_code == 0, tables.output
    for result in (shown, review, tables):
        assert not any(c in result.output for c in UNSAFE), result.output
    assert snapshot(hostile) == before


def test_case_24_a_table_printed_to_a_terminal_is_shown_safely(hostile):
    import pty
    import subprocess
    import sys

    master, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "copcode", "--project", str(hostile), "quotes", "--format", "csv"],
                              stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=300)
    finally:
        os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert done.returncode == 0, done.stderr
    text = shown.decode("utf-8")
    assert SHOWN in text
    assert not any(c in text for c in UNSAFE if c != "\r"), text  # the terminal itself ends lines with \r\n


@pytest.mark.parametrize("fmt", ["csv", "md", "json"])
def test_case_24_a_table_on_standard_output_shows_escapes_as_symbols(hostile, fmt):
    """Standard output may reach a terminal through a pipe (`| head`), so escapes are shown
    there too; a file written with --out keeps the words byte for byte."""
    result = cli(hostile, "quotes", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in "\x00\x07\x1b\x9b\u202e")
    if fmt == "json":  # JSON writes C0 controls as \u001b itself; the rest are shown as symbols
        assert json.loads(result.stdout)[0]["quote"] == HOSTILE.replace("\x9b", "\ufffd").replace("\u202e", "\ufffd")
    else:
        assert SHOWN in result.stdout
    written = hostile / "quotes.csv"
    assert cli(hostile, "quotes", "--format", "csv", "--out", str(written)).exit_code == 0
    assert HOSTILE in written.read_text(encoding="utf-8")


def test_case_24_errors_show_escapes_as_symbols(hostile):
    result = cli(hostile, "review", "--import", "sheet\x1b]0;pwned\x07.csv")
    assert result.exit_code == 1
    assert result.stderr == ("Error: sheet␛]0;pwned␇.csv: the sheet does not exist\n"
                             "  How to fix: give the path of the sheet `copcode review --export` wrote.\n")


@pytest.fixture
def formula_attribute(small_project):
    transcript = small_project / "transcripts" / "P02.txt"
    transcript.write_text('---\nparticipant: P02\n"=HYPERLINK(1)": "=1+1"\n---\n' +
                          transcript.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    return small_project


def _cells(path):
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_case_25_xlsx_headers_and_cells_are_text(formula_attribute):
    root = formula_attribute
    # one theme: P02's passage has a quote under each code (quotes give every code its share)
    result = cli(root, "quotes", "--theme", "learning", "--with", "=HYPERLINK(1)", "--format", "xlsx",
                 "--out", "quotes.xlsx")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(root / "quotes.xlsx").active
    [header] = [c for c in sheet[1] if c.value == "=HYPERLINK(1)"]
    assert header.data_type == "s"
    values = [c for c in sheet[header.column_letter][1:] if c.value is not None]  # E01 has no such attribute
    assert [(c.value, c.data_type) for c in values] == [("=1+1", "s")]
    exported = cli(root, "export", "--format", "xlsx", "--out", "all.xlsx")
    assert exported.exit_code == 0, exported.output
    for path in (root / "quotes.xlsx", root / "all.xlsx"):
        cells = _cells(path)
        assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}
        assert not [c for c in cells if c.data_type == "f"]


@pytest.mark.parametrize("to", ["stdout", "quotes.csv"])
def test_case_25_csv_headers_are_text_too(formula_attribute, to):
    """An attribute's name heads its `--with` column: a CSV header cell starting with "=" ran
    as a formula in a spreadsheet, as a value would have (hostile-case re-check)."""
    out = ["--out", to] if to != "stdout" else []
    result = cli(formula_attribute, "quotes", "--theme", "learning", "--with", "=HYPERLINK(1)", "--format", "csv", *out)
    assert result.exit_code == 0, result.output
    text = result.stdout if to == "stdout" else (formula_attribute / to).read_text(encoding="utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[-1] == "'=HYPERLINK(1)" and [row[-1] for row in rows if row[-1]] == ["'=1+1"]


@pytest.mark.parametrize("answer_id", ["=1", "-2", "+3", "@4"])
def test_case_26_escaped_ids_are_recognised_by_tag(small_project, answer_id):
    root = survey(small_project, [(answer_id, "My workload is huge, I had no time.")])
    with (root / "out" / "coded_segments.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    segment = segment_ids(root)[answer_id]
    assert row["segment"] == "'" + segment  # the CSV keeps a spreadsheet from running it
    result = cli(root, "tag", row["segment"], "learn")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ann: tag learn on {segment} (decision 1).\n"
    for verdict in ("untag", "reject"):
        assert cli(root, verdict, row["segment"], "learn").exit_code == 0
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    assert db.execute("SELECT DISTINCT segment FROM decisions").fetchall() == [(segment,)]
    db.close()
    # the participant id as the CSV writes it picks that participant too (hostile-case re-check)
    result = cli(root, "segments", "--participant", row["participant"], "--format", "csv")
    assert result.exit_code == 0, result.output
    assert row["participant"] == "'" + answer_id and \
        [r["segment"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["'" + segment]


def test_case_26_an_unknown_escaped_id_is_still_unknown(small_project):
    root = survey(small_project, [("=1", "My workload is huge, I had no time.")])
    before = snapshot(root)
    result = cli(root, "tag", "'=9-000000", "learn")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unknown segment \"'=9-000000\"\n")
    assert snapshot(root) == before


@pytest.mark.parametrize("sheet", ["review.csv", "review.xlsx"])
def test_case_26_review_sheet_round_trip_with_formula_like_ids(small_project, sheet):
    ids = ["=1", "-2", "+3", "@4"]
    root = survey(small_project, [(i, "My workload is huge, I had no time.") for i in ids])
    assert cli(root, "review", "--export", sheet).exit_code == 0
    path = root / sheet
    if sheet.endswith(".csv"):
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(r["segment"][:3] for r in rows) == sorted("'" + i for i in ids)
        for r in rows:
            r["decision"] = "accept"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        book = openpyxl.load_workbook(path)
        table = book.active
        column = [c.value for c in table[1]].index("decision") + 1
        assert sorted(table.cell(row=r, column=1).value[:2] for r in range(2, 6)) == sorted(ids)
        for r in range(2, 6):
            table.cell(row=r, column=column, value="accept")
        book.save(path)
    result = cli(root, "review", "--import", sheet)
    assert result.exit_code == 0, result.output
    assert result.stdout == "ann: 4 accepted, 0 rejected, 0 re-coded, 0 left undecided.\n"
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    assert sorted(s for (s,) in db.execute("SELECT segment FROM decisions")) == sorted(segment_ids(root).values())
    again = cli(root, "review", "--import", sheet)
    assert again.stdout == "ann: 0 accepted, 0 rejected, 0 re-coded, 0 left undecided, 4 unchanged.\n"


LONG = "It took weeks. " + "a" * 40_000  # a pasted note; passages are cut at 10,000 characters


def test_case_27_a_cell_cut_short_says_so(small_project):
    root = survey(small_project, [("L1", "My workload is huge, I had no time.")])
    tagged = cli(root, "tag", segment_ids(root)["L1"], "learn", "--note", LONG)
    assert tagged.exit_code == 0, tagged.output
    result = cli(root, "export", "--format", "xlsx", "--out", "all.xlsx")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("Warning: sheet 'decisions', cell G2: a text of 40,015 characters is cut to the "
                             "32,767 an Excel cell holds; copcode's store keeps it whole.\n")
    cell = openpyxl.load_workbook(root / "all.xlsx")["decisions"]["G2"]
    assert len(cell.value) == 32_767
    assert cell.value.startswith("It took weeks. aaa")
    # a note is in no CSV export: "see the CSV" sent a reader to a file without it
    assert cell.value.endswith("a… [cut: 40,015 characters; kept whole in copcode's store]")


def test_case_27_a_table_cell_cut_short_says_so(small_project):
    root = survey(small_project, [("L1", "My workload is huge, I had no time.", LONG)],
                  header=("id", "text", "comment"))
    result = cli(root, "quotes", "--with", "comment", "--format", "xlsx", "--out", "quotes.xlsx")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(root / "quotes.xlsx").active
    column = [c.value for c in sheet[1]].index("comment")
    cell = sheet[2][column]
    assert result.stderr == (f"Warning: sheet 'table', cell {cell.coordinate}: a text of 40,015 characters is cut "
                             "to the 32,767 an Excel cell holds; the CSV export has it whole.\n"
                             "Wrote 1 rows to quotes.xlsx\n")
    assert len(cell.value) == 32_767 and cell.value.endswith("… [cut: 40,015 characters; see the CSV]")


@pytest.fixture
def coded(small_project):
    assert cli(small_project, "code").exit_code == 0
    return small_project


def _refused(root, out, message):
    before = snapshot(root)
    result = cli(root, "export", "--format", "csv", "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {out}: {message}\n"
    assert snapshot(root) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no temporary left


def test_case_28_a_fifo_is_refused(coded, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    _refused(coded, fifo, "is a FIFO (named pipe), not a regular file; copcode writes only regular files\n"
             "  How to fix: give the path of a new or ordinary file.")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_case_28_a_symbolic_link_is_refused(coded, tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _refused(coded, link, "is a symbolic link; copcode does not write through links\n"
             "  How to fix: give the path of a new or ordinary file (the link's target, or another name).")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "keep me"


def test_case_28_a_folder_is_refused(coded, tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _refused(coded, folder, "is a folder, not a regular file; copcode writes only regular files\n"
             "  How to fix: give the path of a new or ordinary file.")
    assert folder.is_dir() and not list(folder.iterdir())


def test_case_28_a_device_is_refused_and_stays_a_device(coded):
    before = snapshot(coded)
    for fmt in ("csv", "xlsx", "html"):
        result = cli(coded, "export", "--format", fmt, "--out", "/dev/null")
        assert result.exit_code == 1
        assert result.stderr == ("Error: /dev/null: is a device, not a regular file; copcode writes only "
                                 "regular files\n  How to fix: give the path of a new or ordinary file.\n")
    quotes = cli(coded, "quotes", "--format", "csv", "--out", "/dev/null")
    assert quotes.exit_code == 1
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert snapshot(coded) == before


def test_case_28_a_regular_file_is_still_replaced(coded):
    (coded / "old.csv").write_text("old", encoding="utf-8")
    result = cli(coded, "export", "--format", "csv", "--out", str(coded / "old.csv"))
    assert result.exit_code == 0, result.output
    assert (coded / "old.csv").read_text(encoding="utf-8").startswith("segment,")


@pytest.mark.parametrize("coder", ["ann[/]", "[bold]x[/bold]", ":smile:"])
def test_case_29_markup_in_a_coder_name_is_shown_as_written(coded, coder):
    segment = segment_ids(coded)["P02"]
    tagged = cli(coded, "tag", segment, "time", "--coder", coder)
    assert tagged.exit_code == 0, tagged.output
    assert tagged.stdout == f"{coder}: tag time on {segment} (decision 1).\n"
    assert cli(coded, "tag", segment, "time", "--coder", "bob").exit_code == 0
    status = cli(coded, "status")
    assert status.exit_code == 0, status.output
    assert "2 decisions; coders (codings decided): " in status.stdout
    assert f"{coder} (1)" in status.stdout
    agreement = cli(coded, "agreement", "--coders", f"{coder},bob")
    assert agreement.exit_code == 0, agreement.output
    assert agreement.stdout.splitlines()[0].strip() == f"Agreement between {coder}, bob (unit: a segment and a code)"
    review = cli(coded, "review", "--coder", coder, input="a" * 10)
    assert review.exit_code == 0, review.output
    assert review.stdout.splitlines()[-1].startswith(f"{coder}: ")
    assert cli(coded, "review", "--coder", coder).stdout == f"Nothing left to review for {coder} here.\n"
    sheet = cli(coded, "review", "--coder", coder, "--export", "sheet.csv")
    assert sheet.exit_code == 0, sheet.output
    imported = cli(coded, "review", "--coder", coder, "--import", "sheet.csv")
    assert imported.stdout == f"{coder}: 0 accepted, 0 rejected, 0 re-coded, 0 left undecided.\n"


def test_case_29_markup_in_a_code_label_and_an_attribute(small_project):
    book = small_project / "codebooks" / "small.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("label: Learning\n", "label: '[red]Learning[/] [/]'\n"),
                    encoding="utf-8")
    assert cli(small_project, "code").exit_code == 0
    review = cli(small_project, "review", input="q")
    assert review.exit_code == 0, review.output
    assert "[red]Learning[/] [/]: Members say what they learned." in review.stdout
