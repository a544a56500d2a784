"""`copcode import FILE.csv|.xlsx --coder NAME`: a table of codings recorded as one coder's tags,
each document it names marked as coded by them (issue 12, part 3)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.import_table import COLUMNS_FIX

from conftest import SMALL_CODEBOOK, store_as_of

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "patient-feedback"
LONG = " ".join(["I learnt a great deal from the others in the group and from the training."] * 12)
ANSWERS = [
    ("S1", "I learnt a lot in the training sessions."),
    ("S2", "My workload is huge, I had no time."),
    ("S3", "Nothing to add."),
    ("S4", ""),  # an empty answer: not a document
    ("=5", "We read about it together."),  # an id a spreadsheet would run (case 26)
    ("S6", LONG),  # cut into two segments
    ("S7", "?"),  # a document without a segment: no words
]


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def snapshot(root):
    """Every row the store holds that an import could change."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        tables = ["transcripts", "segments", "suggestions", "decisions", "coded"]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        db.close()


def rows(root, sql, params=()):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


NEXT = ("Run `copcode code` (for survey answers `copcode code --input FILE`, as they were coded) to learn from this "
        "coding and to write it into out/.\n")


def told(result) -> str:
    """What an import that recorded something said before its last line, which must say to
    run `copcode code` (out/ and the suggestions are the last run's until then)."""
    *said, last = result.stdout.splitlines(keepends=True)
    assert last == NEXT, result.stdout
    return "".join(said)


def write_csv(path: Path, table: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)
    return path


def write_xlsx(path: Path, table: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    for row in table:
        book.active.append(row)
    book.save(path)
    return path


@pytest.fixture(scope="session")
def coded_survey(tmp_path_factory) -> Path:
    """A survey project (the small codebook: codes learn and time) coded from ANSWERS."""
    from copcode.coding import code_project
    from copcode.ingest.survey import read_survey
    from copcode.project import open_project

    root = tmp_path_factory.mktemp("survey")
    (root / "codebooks").mkdir()
    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    answers = write_csv(root / "answers.csv", [["id", "text"], *map(list, ANSWERS)])
    project = open_project(root)
    code_project(project, corpus=read_survey(project, answers, id_column="id", text_column="text"))
    return root


@pytest.fixture
def survey(coded_survey, tmp_path) -> Path:
    """A copy of the coded survey project that a test may change."""
    return Path(shutil.copytree(coded_survey, tmp_path / "survey"))


@pytest.fixture
def demo(coded_demo, tmp_path) -> Path:
    """A copy of the coded demo study that a test may change."""
    return Path(shutil.copytree(coded_demo, tmp_path / "demo"))


def segment_of(root, transcript: str, n: int = 0) -> str:
    return rows(root, "SELECT id FROM segments WHERE transcript = ? ORDER BY start", (transcript,))[n][0]


def decisions(root):
    return rows(root, "SELECT segment, code, verdict, coder, note FROM decisions ORDER BY id")


SURVEY_TABLE = [
    ["ID", "Labels"],  # headers found whatever their case
    ["S1", "Learning"],  # a label
    ["S2", " time "],  # an id, spaces around it
    ["S3", ""],  # coded, no code
    ["'=5", "LEARNING; time"],  # the id as a CSV export escapes it; a label in capitals; two codes
    ["S4", "learn"],  # an empty answer: not a document of the project
    ["S1", "Foo"],
    [],  # a blank line
    ["S6", "learn"],  # a document of two segments
]
SURVEY_PROBLEMS = [
    "{unit} 6: unknown document 'S4'",
    "{unit} 7: unknown code 'Foo' (nothing of S1 recorded)",
    "{unit} 9: a code on a whole document of several segments (S6) cannot be placed on one passage, so it "
    "is not marked as coded; give segment ids instead (a `segment` column, with the ids `copcode segments` lists)",
]


def expected_survey_output(unit: str) -> str:
    return ("Recorded 3 tags by gold on 2 documents (3 documents marked as coded by gold).\n"
            + "".join(f"Not imported: {p.format(unit=unit)}\n" for p in SURVEY_PROBLEMS))


def test_csv_table_of_documents_with_labels_ids_and_lists(survey):
    result = cli(survey, "import", str(write_csv(survey / "gold.csv", SURVEY_TABLE)), "--coder", "gold")
    assert result.exit_code == 0, result.output
    assert told(result) == expected_survey_output("line")
    seg = {t: segment_of(survey, t) for t in ("S1", "S2", "=5")}
    # nothing of S1: line 2's tag alone would say "only this code" where line 7 gave one unknown
    assert decisions(survey) == [
        (seg["S2"], "time", "tag", "gold", "imported from gold.csv, line 3"),
        (seg["=5"], "learn", "tag", "gold", "imported from gold.csv, line 5"),
        (seg["=5"], "time", "tag", "gold", "imported from gold.csv, line 5"),
    ]
    # S3 (no code) is coded; not S1 (a code of it is unknown), S6 (its code had no place), S4 (no document)
    assert rows(survey, "SELECT coder, transcript FROM coded ORDER BY 2") == [("gold", "=5"), ("gold", "S2"), ("gold", "S3")]


def test_xlsx_table_is_read_like_the_csv(survey):
    table = [[cell if cell else None for cell in row] for row in SURVEY_TABLE]
    result = cli(survey, "import", str(write_xlsx(survey / "gold.xlsx", table)), "--coder", "gold")
    assert result.exit_code == 0, result.output
    assert told(result) == expected_survey_output("row")
    assert [d[:4] for d in decisions(survey)] == [
        (segment_of(survey, "S2"), "time", "tag", "gold"),
        (segment_of(survey, "=5"), "learn", "tag", "gold"), (segment_of(survey, "=5"), "time", "tag", "gold")]
    assert decisions(survey)[0][4] == "imported from gold.xlsx, row 3"


def test_xlsx_numbers_as_ids(tmp_path):
    """An id Excel holds as a number is read as the survey's id."""
    from copcode.coding import code_project
    from copcode.ingest.survey import read_survey
    from copcode.project import open_project

    root = tmp_path / "numbers"
    (root / "codebooks").mkdir(parents=True)
    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    answers = write_xlsx(root / "answers.xlsx", [["id", "text"], [101, "No time at all."], [102, "I learnt."]])
    project = open_project(root)
    code_project(project, corpus=read_survey(project, answers, id_column="id", text_column="text"))
    result = cli(root, "import", str(write_xlsx(root / "gold.xlsx", [["id", "code"], [101, "time"], [102, None]])),
                 "--coder", "gold")
    assert told(result) == "Recorded 1 tag by gold on 1 document (2 documents marked as coded by gold).\n"


def test_case_35_a_second_import_records_nothing_new(survey):
    table = write_csv(survey / "gold.csv", SURVEY_TABLE)
    cli(survey, "import", str(table), "--coder", "gold")
    before = snapshot(survey)
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Nothing new: 3 tags already recorded; 3 documents already marked as coded by gold.\n"
                             + "".join(f"Not imported: {p.format(unit='line')}\n" for p in SURVEY_PROBLEMS))
    assert snapshot(survey) == before
    # a table that adds to what is there records only what is new
    more = write_csv(survey / "more.csv", [["id", "codes"], ["S1", "learn;time"], ["S3", "time"]])
    result = cli(survey, "import", str(more), "--coder", "gold")
    assert told(result) == "Recorded 3 tags by gold on 2 documents (1 document marked as coded by gold).\n"


def test_a_table_whose_tags_are_all_recorded_marks_its_documents_without_denying_them(survey):
    table = write_csv(survey / "gold.csv", [["id", "code"], ["S2", "time"]])
    segment = segment_of(survey, "S2")
    assert cli(survey, "tag", segment, "time", "--coder", "gold").exit_code == 0
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert told(result) == ("Recorded no new tag; 1 document marked as coded by gold.\n"
                            "Not recorded again: 1 tag already recorded.\n")


def test_a_later_reject_or_untag_is_kept(survey):
    table = write_csv(survey / "gold.csv", [["id", "code"], ["S2", "time"]])
    cli(survey, "import", str(table), "--coder", "gold")
    segment = segment_of(survey, "S2")
    assert cli(survey, "untag", segment, "time", "--coder", "gold").exit_code == 0
    before = snapshot(survey)
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert result.stdout == (
        "Nothing new: 0 tags already recorded; 1 document already marked as coded by gold.\n"
        f"Not imported: line 2: time on {segment} is rejected or untagged by this coder; "
        "that decision is kept\n")
    assert snapshot(survey) == before


def test_renamed_code_counts_under_its_new_id(survey):
    book = survey / "codebooks" / "small.yaml"
    book.write_text(SMALL_CODEBOOK.replace("      - id: time\n", "      - id: no-time\n        renamed_from: [time]\n"),
                    encoding="utf-8")
    result = cli(survey, "import", str(write_csv(survey / "gold.csv", [["id", "code"], ["S2", "time"]])),
                 "--coder", "gold")
    assert told(result) == "Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n"
    assert decisions(survey)[0][:2] == (segment_of(survey, "S2"), "no-time")


def test_segment_ids_on_interviews(demo):
    first, second = segment_of(demo, "E01"), segment_of(demo, "E01", 1)
    other = segment_of(demo, "P03")
    table = write_csv(demo / "team.csv", [
        ["segment", "transcript", "code"],  # the segment column wins over the transcript column
        [first, "E01", "shared-language;inclusive-learning"],
        [second, "E01", ""],
        [first, "E01", "shared-language"],
        ["X99-000000", "E01", "shared-language"],
        ["", "E01", "shared-language"],
        [f"'{other}", "P03", "Learning through building relationships"],  # a label, an escaped id
    ])
    result = cli(demo, "import", str(table), "--coder", "team")
    assert result.exit_code == 0, result.output
    assert told(result) == (
        "Recorded 3 tags by team on 2 documents (2 documents marked as coded by team).\n"
        f"Not imported: line 4: shared-language on {first} repeats line 2\n"
        "Not imported: line 5: unknown segment 'X99-000000'\n"
        "Not imported: line 6: no segment id (column 'segment')\n")
    assert [d[:3] for d in decisions(demo)] == [
        (first, "shared-language", "tag"), (first, "inclusive-learning", "tag"), (other, "building-relationships", "tag")]


def test_a_table_whose_coder_column_names_other_coders_is_refused(demo):
    first, other = segment_of(demo, "E01"), segment_of(demo, "P03")
    table = write_csv(demo / "team.csv", [["segment", "code", "Coder"], [first, "shared-language", "eve"],
                                           [other, "shared-language", "ann"], [other, "inclusive-learning", "ben"]])
    before = snapshot(demo)
    result = cli(demo, "import", str(table), "--coder", "eve")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: {table}: its column 'Coder' names other coders than eve ('ann', 'ben'), and every row would be "
        "recorded as eve's How to fix: import each coder's rows on their own, a table per coder, each with "
        "--coder and that coder's name.")
    assert snapshot(demo) == before
    result = cli(demo, "import", str(write_csv(demo / "eve.csv", [["segment", "code", "coder"],
                                                                  [first, "shared-language", "Eve"]])),
                 "--coder", "eve")
    assert told(result) == "Recorded 1 tag by eve on 1 document (1 document marked as coded by eve).\n"


def test_a_segment_id_a_transcript_no_longer_has_records_nothing_of_that_transcript(demo):
    """An id of a segment whose words were edited since the table was listed: its code cannot
    be placed, and marking the transcript as coded would make it an absence there."""
    first, other = segment_of(demo, "E01"), segment_of(demo, "P03")
    table = write_csv(demo / "team.csv", [["segment", "code"], [first, "shared-language"],
                                           ["E01-000000-2", "inclusive-learning"], [other, "shared-language"]])
    result = cli(demo, "import", str(table), "--coder", "team")
    assert told(result) == (
        "Recorded 1 tag by team on 1 document (1 document marked as coded by team).\n"
        "Not imported: line 3: unknown segment 'E01-000000-2' (nothing of E01 recorded; `copcode segments` lists "
        "its ids now)\n")
    assert [d[:3] for d in decisions(demo)] == [(other, "shared-language", "tag")]
    assert rows(demo, "SELECT coder, transcript FROM coded") == [("team", "P03")]


def test_a_code_on_a_whole_interview_is_refused(demo):
    table = write_csv(demo / "team.csv", [["transcript", "code"], ["E01", "shared-language"],
                                          ["E02", "shared-language"], ["E03", "shared-language"],
                                          ["E04", ""], ["E05", "practice-policy"]])
    result = cli(demo, "import", str(table), "--coder", "team")
    assert result.exit_code == 0, result.output
    assert told(result) == (
        "Recorded no tag; 1 document marked as coded by team, with none of the codes (each is absent there).\n"
        "Not imported: lines 2-4, 6: a code on a whole document of several segments (E01, E02, E03, E05) cannot be "
        "placed on one passage, so they are not marked as coded; give segment ids instead (a `segment` column, "
        "with the ids `copcode segments` lists)\n")
    assert rows(demo, "SELECT coder, transcript FROM coded") == [("team", "E04")]


def agreement(root, *coders):
    result = cli(root, "agreement", "--coders", ",".join(coders), "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["code"]: row for row in json.loads(result.stdout)}


def test_agreement_counts_a_document_imported_without_codes_as_coded(demo):
    """gold's table says E02 has no code at all; ann tagged one passage of E02. Every segment
    of E02 is then a unit for every code, gold's value 0 throughout."""
    segments = len(rows(demo, "SELECT id FROM segments WHERE transcript = 'E02'"))
    tagged = segment_of(demo, "E02", 2)
    assert cli(demo, "tag", tagged, "shared-language", "--coder", "ann").exit_code == 0
    result = cli(demo, "import", str(write_csv(demo / "gold.csv", [["transcript", "code"], ["E02", ""]])),
                 "--coder", "gold")
    assert told(result) == ("Recorded no tag; 1 document marked as coded by gold, with none of the codes (each is "
                            "absent there).\n")
    figures = agreement(demo, "gold", "ann")
    # ann coded E02 for the territory theme only (the theme of shared-language)
    assert figures["shared-language"]["units"] == figures["prevailing-culture"]["units"] == segments
    assert figures["inclusive-learning"]["units"] == 0
    assert figures["ALL"]["units"] == 2 * segments
    assert figures["shared-language"]["percent_agreement"] == pytest.approx(100 * (segments - 1) / segments)
    result = cli(demo, "agreement", "--coders", "gold,ann", "--disagreements", "--format", "json")
    assert [(d["segment"], d["code"], d["gold"], d["ann"]) for d in json.loads(result.stdout)] == [
        (tagged, "shared-language", 0, 1)]


def test_learning_sees_the_imported_document_as_coded(survey):
    from copcode.coding import project_codebook
    from copcode.learn import decided_units, stored_cue_scores
    from copcode.project import open_project
    from copcode.store import open_store

    cli(survey, "import", str(write_csv(survey / "gold.csv", [["id", "code"], ["S1", "learn"], ["S3", ""]])),
        "--coder", "gold")
    project = open_project(survey)
    store = open_store(project.store_path, create=False, readonly=True)
    try:
        codebook = project_codebook(project)
        units = decided_units(store, codebook, stored_cue_scores(store, codebook, 0.35), ["gold"])
    finally:
        store.close()
    assert sorted(units.transcripts) == ["S1", "S3"]
    assert dict(zip(units.transcripts, units.labels)) == {"S1": {"learn"}, "S3": set()}
    # marked as coded in full: every code is known on its answers, absent where gold did not give it
    every = {code.id for code in codebook.codes}
    assert units.known == [every, every]


def test_a_document_with_an_unknown_code_is_not_recorded_at_all(demo):
    """Its other tags alone would read as "the coder found nothing else there" (a coder who
    only tags codes in full), so the mistyped passage would teach "none of this theme"."""
    first, second = segment_of(demo, "E01"), segment_of(demo, "E01", 1)
    table = write_csv(demo / "mix.csv", [["segment", "code"], [first, "nonsense"], [second, "inclusive-learning"],
                                         [segment_of(demo, "E02"), "inclusive-learning, shared-language"],
                                         [segment_of(demo, "E03"), "shared-language"]])
    result = cli(demo, "import", str(table), "--coder", "c1")
    assert told(result) == (
        "Recorded 1 tag by c1 on 1 document (1 document marked as coded by c1).\n"
        "Not imported: line 2: unknown code 'nonsense' (nothing of E01 recorded)\n"
        "Not imported: line 4: unknown code 'inclusive-learning, shared-language' (codes in one cell are separated "
        "by ';', not ',') (nothing of E02 recorded)\n")
    assert rows(demo, "SELECT segment, code FROM decisions WHERE coder = 'c1'") == [
        (segment_of(demo, "E03"), "shared-language")]
    assert rows(demo, "SELECT transcript FROM coded WHERE coder = 'c1'") == [("E03",)]


def test_a_document_of_several_segments_records_nothing_even_without_codes(demo):
    """Its row without codes would have marked it as coded with none, beside a row whose code
    has no place: nothing of it, so nothing of the table, can be recorded."""
    table = write_csv(demo / "t.csv", [["transcript", "codes"], ["P02", ""], ["P02", "inclusive-learning"]])
    result = cli(demo, "import", str(table), "--coder", "zed")
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: {table}: none of its 2 rows can be recorded:")
    assert rows(demo, "SELECT count(*) FROM coded") == [(0,)]


def write_sheets(path: Path, sheets: dict[str, list[list]], active: str) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, table in sheets.items():
        sheet = book.create_sheet(title)
        for row in table:
            sheet.append(row)
    book.active = book.sheetnames.index(active)
    book.save(path)
    return path


NOTES = [["Coding of the study by Ann, 2024"], ["see the codebook"]]


@pytest.mark.parametrize("order, active", [(["About", "Codes"], "About"), (["Codes", "About"], "About")])
def test_the_sheet_read_is_the_one_that_names_the_columns(survey, order, active):
    """Not the sheet that happened to be open when the workbook was saved."""
    sheets = {"About": NOTES, "Codes": [["id", "code"], ["S1", "learn"]]}
    book = write_sheets(survey / "gold.xlsx", {name: sheets[name] for name in order}, active)
    result = cli(survey, "import", str(book), "--coder", "gold")
    assert told(result) == ("Read the sheet 'Codes'; not its other sheets ('About').\n"
                             "Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n")


def test_a_workbook_without_the_columns_names_its_sheets(survey):
    book = write_sheets(survey / "gold.xlsx", {"About": NOTES, "Notes": [["what"], ["x"]]}, "Notes")
    result = cli(survey, "import", str(book), "--coder", "gold")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: {book}: no document (or segment) column and no code column in any of its sheets ('About', 'Notes') "
        "(the headers found: 'Coding of the study by Ann, 2024') How to fix: " + " ".join(COLUMNS_FIX.split()))


# ---------------------------------------------------------------- files that cannot be used


def refused(root, name: str, content: bytes | None, *args, coder=("--coder", "gold")):
    """Import `content` (written as `name`; None: write nothing) and return its stderr, after
    checking that it failed and changed nothing in the store."""
    path = root / name
    if content is not None:
        path.write_bytes(content)
    before = snapshot(root) if (root / ".copcode").exists() else None
    result = cli(root, "import", str(path), *coder, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    if before is not None:
        assert snapshot(root) == before
    return result.stderr


def test_empty_file(survey):
    path = survey / "gold.csv"
    assert refused(survey, "gold.csv", b"") == (
        f"Error: {path}: the file is empty\n  How to fix: put the codings in it, under a header row; name the columns: "
        "the document's id as document, transcript, participant or id (or a segment id as segment), and its codes "
        "as code, codes, label, labels, category or categories.\n")


def test_a_file_without_the_columns_names_those_found_and_those_needed(survey):
    path = survey / "gold.csv"
    assert refused(survey, "gold.csv", b"respondent,answer,theme\nS1,yes,learn\n") == (
        f"Error: {path}: no document (or segment) column and no code column (the headers found: 'respondent', "
        "'answer', 'theme')\n  How to fix: name the columns: the document's id as document, transcript, participant "
        "or id (or a segment id as segment), and its codes as code, codes, label, labels, category or categories.\n")
    assert refused(survey, "gold.csv", b"id,answer\nS1,yes\n").startswith(
        f"Error: {path}: no code column (the headers found: 'id', 'answer')\n")


def test_garbage_text_file(survey):
    path = survey / "gold.csv"
    assert refused(survey, "gold.csv", b"Dear team,\nplease find the coding attached.\n") == (
        f"Error: {path}: no document (or segment) column and no code column (the headers found: 'Dear team')\n"
        "  How to fix: name the columns: the document's id as document, transcript, participant or id (or a segment "
        "id as segment), and its codes as code, codes, label, labels, category or categories.\n")


def test_case_38_binary_file(survey):
    noise = bytes((i * 7919 + 13) % 256 for i in range(4096))
    assert refused(survey, "gold.csv", noise) == (
        f"Error: {survey / 'gold.csv'}: looks like a binary file, not a table\n  How to fix: check that it is the "
        "table of codings; save the table as CSV UTF-8 (in Excel: Save As > CSV UTF-8) or as .xlsx.\n")


def test_not_utf8(survey):
    assert refused(survey, "gold.csv", "id,code\nS1,time\nS2,caf\u00e9\n".encode("cp1252")) == (
        f"Error: {survey / 'gold.csv'}: line 3 is not UTF-8 text\n  How to fix: save the table as CSV UTF-8 "
        "(in Excel: Save As > CSV UTF-8) or as .xlsx.\n")


def test_a_damaged_workbook(survey):
    assert refused(survey, "gold.xlsx", b"id,code\nS1,time\n") == (
        f"Error: {survey / 'gold.xlsx'}: cannot read the workbook (BadZipFile)\n  How to fix: check that "
        "it is the table of codings; save the table as CSV UTF-8 (in Excel: Save As > CSV UTF-8) or as .xlsx.\n")


def test_case_08_workbook_zip_bomb(survey):
    path = survey / "gold.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    ratio = info.file_size / info.compress_size
    assert refused(survey, "gold.xlsx", None) == (
        f"Error: {path}: a workbook too large to open safely: xl/worksheets/sheet1.xml expands {ratio:.0f} times "
        "(at most 100 times): a zip bomb\n  How to fix: check where it came from; save the table as .csv (CSV UTF-8).\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.parametrize("name", ["gold.csv", "gold.xlsx"])
def test_case_17_a_named_pipe_is_refused_without_waiting(survey, name):
    os.mkfifo(survey / name)
    assert refused(survey, name, None) == (
        f"Error: {survey / name}: is a named pipe (FIFO), not a table\n"
        "  How to fix: give the path of a .csv or .xlsx file.\n")


def test_case_36_a_field_over_the_csv_module_limit(survey):
    text = "id,code,comment\nS1,learn,short\nS2,time," + "x" * 10_000_001 + "\n"
    assert refused(survey, "gold.csv", text.encode()) == (
        f"Error: {survey / 'gold.csv'}: line 3 has a field longer than 10,000,000 characters\n"
        "  How to fix: shorten that cell.\n")
    # under the limit but over the csv module's default (131,072): read
    write_csv(survey / "long.csv", [["id", "code", "comment"], ["S2", "time", "x" * 200_000]])
    result = cli(survey, "import", str(survey / "long.csv"), "--coder", "gold")
    assert told(result) == "Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n"


def test_missing_file(survey):
    assert refused(survey, "nowhere.csv", None) == (
        f"Error: {survey / 'nowhere.csv'}: the file does not exist\n  How to fix: give the path of a .csv or .xlsx file.\n")


def test_no_row_can_be_recorded(survey):
    table = [["id", "code"], *[[f"X{n}", "learn"] for n in range(12)], ["S1", "Bar"]]
    content = "".join(",".join(r) + "\n" for r in table).encode()
    problems = "".join(f"  line {n + 2}: unknown document 'X{n}'\n" for n in range(10))
    assert refused(survey, "gold.csv", content) == (
        f"Error: {survey / 'gold.csv'}: none of its 13 rows can be recorded:\n{problems}  and 3 more\n"
        "  How to fix: correct the lines named above: the 'id' column holds the project's transcript ids (a "
        "survey's ids, for survey answers), and the 'code' column code ids or labels of codebooks/small.yaml.\n")
    # a workbook's: its rows, in the sheet that was read
    book = write_sheets(survey / "gold.xlsx", {"About": NOTES, "Codes": [["id", "code"], ["S1", "Bar"]]}, "About")
    assert refused(survey, "gold.xlsx", None) == (
        f"Error: {book}: its only row (sheet 'Codes') cannot be recorded:\n  row 2: unknown code 'Bar' (nothing of "
        "S1 recorded)\n  How to fix: correct the rows named above: the 'id' column holds the project's transcript ids "
        "(a survey's ids, for survey answers), and the 'code' column code ids or labels of codebooks/small.yaml.\n")
    assert refused(survey, "gold.csv", b"id,code\n\n") == (
        f"Error: {survey / 'gold.csv'}: the table has a header but no rows\n"
        "  How to fix: put the codings under the header row.\n")


def test_the_coder_is_required(survey):
    path = write_csv(survey / "gold.csv", [["id", "code"], ["S1", "learn"]])
    assert refused(survey, "gold.csv", None, coder=()) == (
        "Error: a table of codings needs the name of the coder whose coding it is\n"
        "  How to fix: add --coder NAME, e.g. copcode import gold.csv --coder gold.\n")
    assert refused(survey, path.name, None, coder=("--coder", "  ")) == (
        "Error: the coder's name is empty\n  How to fix: give one with --coder NAME.\n")


def test_case_29_a_coder_name_with_markup(survey):
    path = write_csv(survey / "gold.csv", [["id", "code"], ["S1", "learn"]])
    result = cli(survey, "import", str(path), "--coder", "ann[/]")
    assert result.exit_code == 0, result.output
    assert told(result) == "Recorded 1 tag by ann[/] on 1 document (1 document marked as coded by ann[/]).\n"
    assert cli(survey, "status").exit_code == 0


def test_case_26_escaped_ids_from_a_csv_export(survey):
    """out/coded_segments.csv (segment ids escaped as '=5-...) imported back: every suggestion
    becomes a tag."""
    exported = survey / "out" / "coded_segments.csv"
    with exported.open(encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert any(r["segment"].startswith("'=5-") for r in listed)
    result = cli(survey, "import", str(exported), "--coder", "cues")
    assert result.exit_code == 0, result.output
    pairs = {(r["segment"].removeprefix("'"), r["code"]) for r in listed}
    documents = {r["transcript"].removeprefix("'") for r in listed}
    assert told(result) == (f"Recorded {len(pairs)} tags by cues on {len(documents)} documents "
                             f"({len(documents)} documents marked as coded by cues).\n")
    assert {d[:2] for d in decisions(survey)} == pairs


def test_the_project_must_be_coded_first(small_project):
    path = write_csv(small_project / "gold.csv", [["transcript", "code"], ["E01", "learn"]])
    assert refused(small_project, path.name, None) == (
        f"Error: {small_project}: this project has not been coded yet\n  How to fix: run `copcode code` first.\n")
    from copcode.store import open_store

    open_store(small_project / ".copcode" / "copcode.db", create=True).close()  # a store with no segments
    assert refused(small_project, path.name, None) == (
        f"Error: {small_project}: the project has no segments yet\n  How to fix: run `copcode code` first "
        "(`copcode code --input FILE` for survey answers), then import the table.\n")


# ---------------------------------------------------------------- the shared patient comments


@pytest.mark.skipif(not (SHARED / "train.csv").is_file(), reason="../shared/data/patient-feedback is not here")
def test_patient_feedback_labels_import_as_they_are(tmp_path):
    """The first 200 labelled comments, coded as a survey with the shared codebook, then their
    labels imported: every label of a comment that is a one-segment document is a tag."""
    root = tmp_path / "pf"
    (root / "codebooks").mkdir(parents=True)
    shutil.copy(SHARED / "codebook.yaml", root / "codebooks" / "codebook.yaml")
    with (SHARED / "train.csv").open(newline="", encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))[:201]
    subset = write_csv(root / "train.csv", table)
    assert cli(root, "code", "--input", str(subset), "--text-column", "comment").exit_code == 0
    segments: dict[str, int] = {}
    for (transcript,) in rows(root, "SELECT transcript FROM segments"):
        segments[transcript] = segments.get(transcript, 0) + 1
    header = table[0]
    id_at, labels_at = header.index("id"), header.index("labels")
    expected = sum(len({label.strip() for label in row[labels_at].split(";") if label.strip()})
                   for row in table[1:] if segments.get(row[id_at].strip()) == 1)
    placeable = {row[id_at].strip() for row in table[1:] if segments.get(row[id_at].strip()) == 1}
    result = cli(root, "import", str(subset), "--coder", "gold")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Recorded {expected} tags by gold on ")
    assert f"({len(placeable)} documents marked as coded by gold)" in result.stdout.splitlines()[0]
    assert len(rows(root, "SELECT 1 FROM decisions WHERE coder = 'gold' AND verdict = 'tag'")) == expected
    assert "unknown code" not in result.stdout  # every label is a code of the codebook
    unknown = [line for line in result.stdout.splitlines() if "unknown document" in line]
    documents = {transcript for (transcript,) in rows(root, "SELECT id FROM transcripts")}
    assert len(unknown) == sum(1 for row in table[1:] if row[id_at].strip() not in documents)  # empty comments


def test_a_label_that_holds_a_semicolon(survey):
    book = survey / "codebooks" / "small.yaml"
    book.write_text(SMALL_CODEBOOK.replace("label: No time\n", "label: No time; overload\n"), encoding="utf-8")
    table = write_csv(survey / "gold.csv", [["id", "category"], ["S2", "no time; Overload"], ["S1", "learn;time"]])
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert told(result) == "Recorded 3 tags by gold on 2 documents (2 documents marked as coded by gold).\n"
    assert [d[:2] for d in decisions(survey)] == [
        (segment_of(survey, "S2"), "time"), (segment_of(survey, "S1"), "learn"), (segment_of(survey, "S1"), "time")]


def test_a_csv_separated_by_semicolons(survey):
    path = survey / "gold.csv"
    path.write_bytes(b'\xef\xbb\xbfid;codes\r\nS1;learn\r\nS2;"learn;time"\r\n')  # Excel in some languages
    result = cli(survey, "import", str(path), "--coder", "gold")
    assert told(result) == "Recorded 3 tags by gold on 2 documents (2 documents marked as coded by gold).\n"


def test_a_label_of_two_codes_is_ambiguous(survey):
    book = survey / "codebooks" / "small.yaml"
    book.write_text(SMALL_CODEBOOK.replace("label: No time\n", "label: Learning\n"), encoding="utf-8")
    table = write_csv(survey / "gold.csv", [["id", "code"], ["S1", "learning"], ["S2", "time"]])
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert told(result) == (
        "Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n"
        "Not imported: line 2: the label 'learning' belongs to several codes (learn, time); give the code's id "
        "(nothing of S1 recorded)\n")


def test_a_document_without_segments(survey):
    assert rows(survey, "SELECT COUNT(*) FROM segments WHERE transcript = 'S7'") == [(0,)]
    table = write_csv(survey / "gold.csv", [["id", "code"], ["S7", "time"], ["S1", "learn"]])
    result = cli(survey, "import", str(table), "--coder", "gold")
    assert told(result) == ("Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n"
                             "Not imported: line 2: document 'S7' has no segment to put a code on\n")


def test_a_store_from_before_the_coded_marks_reads_as_before(survey):
    """Read commands open an older store as it is: no table `coded`, so no marks."""
    from copcode.store import CODED_KEPT

    assert cli(survey, "tag", segment_of(survey, "S1"), "learn", "--coder", "ann").exit_code == 0
    store_as_of(survey, CODED_KEPT - 1)
    result = cli(survey, "status")
    assert result.exit_code == 0, result.output
    assert "ann (1)" in result.stdout
    result = cli(survey, "import", str(write_csv(survey / "gold.csv", [["id", "code"], ["S1", "learn"]])),
                 "--coder", "gold")  # a writing command migrates the store
    assert told(result) == "Recorded 1 tag by gold on 1 document (1 document marked as coded by gold).\n"


def test_coder_is_refused_for_a_project_file(tmp_path):
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "import", "study.qdpx", "--coder", "ann"])
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        "Error: study.qdpx: --coder is for a table of codings (.csv, .xlsx): a project file names its own "
        "coders How to fix: leave out --coder for a project file (each coding keeps the user who made it in the other "
        "tool); save a table as .csv or .xlsx.")
