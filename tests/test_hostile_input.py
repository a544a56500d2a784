"""Hostile input files (issue 9, parts 3, 4 and 8): YAML bombs, special files, REGEX patterns,
huge tokens, header types, broken captions, ids that differ in case, binary files, zip bombs.
Each case gives one clear message (or the right result) and leaves the store unchanged."""

from __future__ import annotations

import io
import os
import random
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode import yamlsafe
from copcode.cli import app
from copcode.codebook import load_codebook
from copcode.errors import CodebookError
from copcode.ingest import read_corpus
from copcode.ingest.zipsafe import UnsafeArchive, check_archive, read_member
from copcode.project import open_project
from copcode.segment import MAX_CHARS, segment_transcript

SAVE_UTF8 = "save it as UTF-8 text (in Word: Save As > Plain Text > Unicode (UTF-8))."
CODEBOOK_FIX = "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n"
ANCHOR = "anchors and aliases are not read"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def snapshot(root):
    """Every row of the store, the transcripts folder's files and out/'s files."""
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    tables = ["transcripts", "turns", "segments", "suggestions", "decisions", "runs"]
    rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    db.close()
    files = {}
    for folder in ("transcripts", "out"):
        for path in sorted((root / folder).rglob("*")) if (root / folder).exists() else []:
            if path.is_symlink() or not path.exists():
                files[str(path)] = ("link", os.readlink(path) if path.is_symlink() else None)
            elif path.is_file():
                files[str(path)] = path.read_bytes()
            else:
                files[str(path)] = "special"
    return rows, files


def assert_refused(root, args, message):
    """The command exits 1 with exactly `message` and changes nothing."""
    before = snapshot(root)
    result = cli(root, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}")
    assert snapshot(root) == before


def codebook_refused(problem: str) -> str:
    return f"codebooks/small.yaml: the codebook is not valid (1 problem):\n  {problem}\n" + CODEBOOK_FIX


MINIMAL = "name: x\nthemes:\n  - id: t\n    label: T\n    codes:\n      - {id: a, label: A, definition: d}\n"


# --- 6: one stray Windows-1252 byte in a UTF-8 file ---------------------------------------

def test_case_06_a_stray_windows_1252_byte_leaves_the_utf8_around_it_intact(small_project):
    raw = ("Interviewer: Où étiez-vous?\nE02: Zoë said the café was fine.\n".encode()
           + "E02: It wasn’t.\n".encode("cp1252"))
    (small_project / "transcripts" / "E02.txt").write_bytes(raw)
    corpus = read_corpus(open_project(small_project))
    e02 = next(t for t in corpus.transcripts if t.id == "E02")
    assert e02.text == "Interviewer: Où étiez-vous?\nE02: Zoë said the café was fine.\nE02: It wasn’t.\n"
    assert corpus.warnings == [(
        "transcripts/E02.txt: not all UTF-8; the bytes that are not, on line 3, decoded as Windows-1252. "
        "Check the accents and quotes there.")]


def test_case_06_stray_bytes_on_many_lines_are_all_named(small_project):
    lines = ["Interviewer: Zoë?".encode()] + [f"E02: line {n} café".encode("cp1252") for n in range(2, 10)]
    (small_project / "transcripts" / "E02.txt").write_bytes(b"\n".join(lines) + b"\n")
    corpus = read_corpus(open_project(small_project))
    assert corpus.warnings == [(
        "transcripts/E02.txt: not all UTF-8; the bytes that are not, on lines 2, 3, 4, 5, 6 and 3 more, "
        "decoded as Windows-1252. Check the accents and quotes there.")]


# --- 8: a .docx zip bomb -------------------------------------------------------------------

def _docx_with(extra: dict[str, bytes]) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Interviewer: Hello?")
    document.add_paragraph("P03: We learnt a lot.")
    plain = io.BytesIO()
    document.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


def test_case_08_a_docx_that_expands_a_thousand_times_is_refused_before_reading(coded_small):
    root = coded_small[0].root
    data = _docx_with({"word/media/image1.png": bytes(64 * 1024 * 1024)})
    assert len(data) < 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/media/image1.png")
    ratio = info.file_size / info.compress_size
    (root / "transcripts" / "P03.docx").write_bytes(data)
    what = (f"transcripts/P03.docx: a Word document too large to open safely: word/media/image1.png expands "
            f"{ratio:.0f} times (at most 100 times): a zip bomb")
    fix = "check where it came from; open it in Word or LibreOffice and save it again as .docx."
    assert_refused(root, ["code", "--strict"], f"{what}\n  How to fix: {fix}\n")
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (0, f"Warning: {what}; skipped. C{fix[1:]}\n")


def test_case_08_zipsafe_checks_declared_sizes_totals_and_streams_members():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", b"<a/>" * 200_000)  # 800 KB: under 1 MiB it may pack tightly
        archive.writestr("b.bin", random.Random(8).randbytes(200_000))
    with zipfile.ZipFile(out) as archive:
        check_archive(archive, stream=True)
        problems = []
        for limits in ({"max_member": 500_000}, {"max_total": 900_000}, {"max_members": 1}):
            with pytest.raises(UnsafeArchive) as caught:
                check_archive(archive, **limits)
            problems.append(str(caught.value))
        assert problems == ["a.xml expands to 800000 bytes (at most 500000 bytes)",
                            "expands to more than 900000 bytes in all",
                            "holds 2 files (at most 1)"]
        assert len(read_member(archive, "b.bin", limit=200_000)) == 200_000
        with pytest.raises(UnsafeArchive) as caught:
            read_member(archive, "b.bin", limit=100_000)
        assert str(caught.value) == "b.bin expands to 200000 bytes (at most 100000 bytes)"


def test_case_08_a_member_over_1_mib_that_packs_100_times_is_a_bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", bytes(2 * 1024 * 1024))
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo("project.qde")
        with pytest.raises(UnsafeArchive) as caught:
            check_archive(archive)
    assert str(caught.value) == (f"project.qde expands {info.file_size / info.compress_size:.0f} times "
                                 "(at most 100 times): a zip bomb")


def test_case_08_encrypted_and_unusual_compression_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("sources/a.txt", b"hello", compress_type=zipfile.ZIP_BZIP2)
    with zipfile.ZipFile(out) as archive, pytest.raises(UnsafeArchive) as caught:
        check_archive(archive)
    assert str(caught.value) == "sources/a.txt is compressed with bzip2, which copcode does not read"


def test_case_08_a_member_that_hides_its_size_fails_while_streamed():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", bytes(4 * 1024 * 1024))
    data = bytearray(out.getvalue())
    # declare 1000 bytes in both the local header (offset 22) and the central directory entry
    data[22:26] = (1000).to_bytes(4, "little")
    central = data.rindex(b"PK\x01\x02")
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        check_archive(archive)  # the declared sizes look harmless
        with pytest.raises(zipfile.BadZipFile):
            check_archive(archive, stream=True)


# --- 14: alias bombs -------------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"


def test_case_14_an_alias_bomb_in_the_codebook_is_refused(coded_small):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").write_text(MINIMAL + "extra:\n" + BOMB.replace("a:", "  a:", 1)
                                                   .replace("\nb:", "\n  b:").replace("\nc:", "\n  c:"))
    assert_refused(root, ["code"], codebook_refused(
        f"line 8: the anchor &a is not allowed; write the value out in full ({ANCHOR})"))


def test_case_14_an_alias_in_the_settings_is_refused(coded_small):
    root = coded_small[0].root
    (root / "copcode.yaml").write_text("interviewer_labels: *labels\n")
    assert_refused(root, ["code"], "copcode.yaml:1: the alias *labels is not allowed; write the value out in full "
                   f"({ANCHOR})\n  How to fix: see README, 'Project settings'.\n")


def test_case_14_an_alias_bomb_in_the_settings_is_refused(coded_small):
    root = coded_small[0].root
    (root / "copcode.yaml").write_text("min_score: 0.4\n" + BOMB)
    assert_refused(root, ["code"], "copcode.yaml:2: the anchor &a is not allowed; write the value out in full "
                   f"({ANCHOR})\n  How to fix: see README, 'Project settings'.\n")


def test_case_14_an_alias_bomb_in_a_transcript_header_is_refused(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text("---\nparticipant: E05\n" + BOMB + "---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:3: the header: the anchor &a is not allowed; write the "
                   f"value out in full ({ANCHOR})\n  How to fix: correct the header between the two `---` "
                   "lines, or remove it.\n")


def test_case_14_a_codebook_over_the_size_cap_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(MINIMAL.encode() + b"#" * yamlsafe.MAX_BYTES)
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    assert caught.value.problems == ["the file is larger than 2 MiB, not a codebook"]


# --- 15: deep nesting ------------------------------------------------------------------------

DEEP = "[" * 3000 + "]" * 3000


def test_case_15_deep_nesting_in_the_codebook_is_refused(coded_small):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").write_text("name: x\nthemes: " + DEEP + "\n")
    assert_refused(root, ["code"], codebook_refused("line 2: nested more than 50 levels deep"))


def test_case_15_deep_nesting_in_the_settings_is_refused(coded_small):
    root = coded_small[0].root
    (root / "copcode.yaml").write_text("groups:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)))
    assert_refused(root, ["code"], "copcode.yaml:51: nested more than 50 levels deep\n"
                   "  How to fix: see README, 'Project settings'.\n")


def test_case_15_deep_nesting_in_a_transcript_header_is_refused(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text("---\nparticipant: E05\ncop: " + DEEP + "\n---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:3: the header: nested more than 50 levels deep\n"
                   "  How to fix: correct the header between the two `---` lines, or remove it.\n")


def test_case_15_nesting_within_the_limit_is_read():
    nested = 1
    for _ in range(49):  # with the top-level mapping, 50 levels
        nested = [nested]
    assert yamlsafe.load("a: " + "[" * 49 + "1" + "]" * 49) == {"a": nested}


# --- 16: the REGEX operator -----------------------------------------------------------------

REGEX_MESSAGE = ("the REGEX operator is not allowed (a regular expression can make a run hang); use IN lists, "
                 "e.g. {LOWER: {IN: [carer, carers]}}, LOWER or LEMMA, or a keyword")


@pytest.mark.parametrize("token", [
    '{REGEX: "^(a+)+$"}',
    '{TEXT: {REGEX: "^(a+)+$"}}',
    '{LOWER: {REGEX: "^(a+)+$"}}',
    '{NORM: {regex: "^(a+)+$"}}',
    '{LOWER: {NOT_IN: [x]}, TEXT: {FUZZY: {REGEX: "(a+)+"}}}',
], ids=["token key", "inside TEXT", "inside LOWER", "lower-case inside NORM", "nested deeper"])
def test_case_16_the_regex_operator_is_refused_in_every_form(coded_small, token):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").write_text(
        MINIMAL.replace("definition: d}", "definition: d,\n         cues: {patterns: [[" + token + "]]}}"))
    assert_refused(root, ["code"], codebook_refused(
        f"line 7: themes[0].codes[0].cues.patterns[0].pattern: {REGEX_MESSAGE}"))
    assert_refused(root, ["codebook", "check"], codebook_refused(
        f"line 7: themes[0].codes[0].cues.patterns[0].pattern: {REGEX_MESSAGE}"))


def test_case_16_patterns_without_regex_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(MINIMAL.replace("definition: d}", "definition: d,\n         cues: {patterns: "
                                    "[[{LOWER: {IN: [carer, carers]}}, {LEMMA: learn}]]}}"))
    assert load_codebook(path).codes[0].cues.patterns[0].pattern[0] == {"LOWER": {"IN": ["carer", "carers"]}}


# --- 17: special files ------------------------------------------------------------------------

def test_case_17_a_fifo_codebook_is_an_error_not_a_hang(coded_small):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").unlink()
    os.mkfifo(root / "codebooks" / "small.yaml")
    assert_refused(root, ["code"], codebook_refused("the file is a named pipe (FIFO), not a codebook"))
    assert_refused(root, ["codebook", "check"], codebook_refused("the file is a named pipe (FIFO), not a codebook"))


def test_case_17_a_fifo_codebook_named_in_the_settings_is_an_error(coded_small):
    root = coded_small[0].root
    os.mkfifo(root / "codebooks" / "pipe.yaml")
    (root / "copcode.yaml").write_text("codebook: codebooks/pipe.yaml\n")
    assert_refused(root, ["code"], "codebooks/pipe.yaml: the codebook named in copcode.yaml is a named pipe (FIFO), "
                   "not a file\n  How to fix: correct `codebook:` in copcode.yaml, or put the codebook file there.\n")


def test_case_17_fifo_settings_and_participants_are_errors(coded_small):
    root = coded_small[0].root
    os.mkfifo(root / "copcode.yaml")
    assert_refused(root, ["code"], "copcode.yaml: is a named pipe (FIFO), not a settings file\n"
                   "  How to fix: replace it with a YAML file of settings, or remove it.\n")
    (root / "copcode.yaml").unlink()
    os.mkfifo(root / "participants.csv")
    assert_refused(root, ["code"], "participants.csv: is a named pipe (FIFO), not a participants file\n"
                   "  How to fix: replace it with a .csv file (first column: participant id), or remove it.\n")


SPECIAL_FIX = "remove it, or put the transcript file in its place."


def _plant_special_files(folder: Path):
    os.mkfifo(folder / "E07.txt")
    (folder / "E08.txt").symlink_to(folder / "gone.txt")
    (folder / "E09.txt").mkdir()
    (folder / "E10.vtt").symlink_to("/dev/null")


def test_case_17_special_files_in_transcripts_are_named_and_skipped(coded_small):
    root = coded_small[0].root
    _plant_special_files(root / "transcripts")
    result = cli(root, "code")
    assert result.exit_code == 0
    assert result.stderr == "".join(
        f"Warning: transcripts/{name}: {kind}, not a transcript file; skipped. R{SPECIAL_FIX[1:]}\n"
        for name, kind in [("E07.txt", "a named pipe (FIFO)"), ("E08.txt", "a symbolic link to nothing"),
                           ("E09.txt", "a folder"), ("E10.vtt", "a device")])


def test_case_17_special_files_in_transcripts_stop_a_strict_run(coded_small):
    root = coded_small[0].root
    _plant_special_files(root / "transcripts")
    # every file that cannot be used is named in one error (issue 11)
    assert_refused(root, ["code", "--strict"], "transcripts: 4 transcript files cannot be used:\n" + "".join(
        f"  transcripts/{name}: {kind}, not a transcript file\n    How to fix: {SPECIAL_FIX}\n"
        for name, kind in [("E07.txt", "a named pipe (FIFO)"), ("E08.txt", "a symbolic link to nothing"),
                           ("E09.txt", "a folder"), ("E10.vtt", "a device")])
        + "  How to fix: correct each file as said above; `copcode transcripts` shows how copcode reads "
        "them, and `copcode code` without --strict codes the others.\n")


# --- 18: duplicate keys and tags ----------------------------------------------------------------

def test_case_18_a_key_written_twice_is_refused_with_both_lines(coded_small):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").write_text(
        MINIMAL + "    codes:\n      - {id: b, label: B, definition: e}\n")
    assert_refused(root, ["code"], codebook_refused(
        "line 7: `codes` appears twice in one mapping (first at line 5); YAML would keep only the last: merge the two"))


@pytest.mark.parametrize("value, tag", [("!!binary aGVsbG8=", "!!binary"), ("!custom hello", "!custom"),
                                        ("!!set {a, b}", "!!set"), ("!!timestamp 2024-01-01", "!!timestamp")])
def test_case_18_tags_are_refused_by_name(coded_small, value, tag):
    root = coded_small[0].root
    (root / "codebooks" / "small.yaml").write_text(MINIMAL.replace("name: x", f"name: {value}"))
    assert_refused(root, ["code"], codebook_refused(
        f"line 1: the YAML tag {tag} is not allowed; write the value as plain text"))


def test_case_18_python_tags_in_a_header_are_refused_by_name(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text(
        "---\nparticipant: !!python/object/apply:os.system ['true']\n---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:2: the header: YAML tags that build program objects "
                   "(!!python/object/apply:os.system) are not allowed\n"
                   "  How to fix: correct the header between the two `---` lines, or remove it.\n")


# --- 19: over spaCy's max_length -----------------------------------------------------------------

def test_case_19_a_million_characters_without_white_space_are_coded(coded_small):
    root = coded_small[0].root
    blob = "learn" + "a" * 1_000_001
    (root / "transcripts" / "E06.txt").write_text(f"Interviewer: Anything?\nE06: {blob} and then I read about it.\n")
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (0, "")
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    lengths = [n for (n,) in db.execute("SELECT \"end\" - start FROM segments WHERE transcript = 'E06'")]
    assert max(lengths) == MAX_CHARS and sum(lengths) >= len(blob)


def test_case_19_segments_are_bounded_in_characters_and_cover_the_text(small_project):
    (small_project / "transcripts" / "E06.txt").write_text("E06: " + "x" * 25_000 + " " + "word " * 3000)
    transcript = next(t for t in read_corpus(open_project(small_project)).transcripts if t.id == "E06")
    segments = segment_transcript(transcript, max_words=120)
    assert max(len(s.text) for s in segments) <= MAX_CHARS
    assert "".join(s.text for s in segments).replace(" ", "") == transcript.text[5:].replace(" ", "").strip()


# --- 20: header value types -------------------------------------------------------------------------

def test_case_20_speakers_must_be_a_list_of_names(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text("---\ncop: CC\nspeakers: 5\n---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:3: `speakers:` must be a list of speaker names, a mapping of "
                   "names to roles, or none\n  How to fix: write e.g. `speakers: {Tom: interviewer, Sarah: "
                   "participant}` (a role or a participant id for each name), `speakers: [Anna, Ben]` or "
                   "`speakers: none`.\n")


def test_case_20_a_list_as_participant_id_is_refused(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text("---\nparticipant: [E05, E06]\n---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:2: `participant:` is a list; expected a text value\n"
                   "  How to fix: write one value, e.g. `participant: E05`.\n")


def test_case_20_a_mapping_as_attribute_is_refused(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "E05.txt").write_text("---\nparticipant: E05\ncop: {a: 1}\n---\nE05: Hi.\n")
    assert_refused(root, ["code", "--strict"], "transcripts/E05.txt:3: `cop:` is a mapping; expected a text value\n"
                   "  How to fix: write one value, e.g. `cop: some text`.\n")


def test_case_20_a_null_value_is_left_out_not_stored_as_none(small_project):
    (small_project / "transcripts" / "E05.txt").write_text(
        "---\nparticipant: E05\ngroup: null\ncop:\nsector: 2024\n---\nE05: Hi.\n")
    e05 = next(t for t in read_corpus(open_project(small_project)).transcripts if t.id == "E05")
    assert e05.attributes == {"sector": "2024", "group": "E"}


# --- 21: malformed caption timings -----------------------------------------------------------------

VTT = """WEBVTT

1
00:00:01.000 --> 00:00:04.000
<v Interviewer>What did you learn?

2
00:00:05.000 -> 00:00:09.000
<v R05>This cue has a broken timing line.

3
00:00:10.000 --> 00:00:12.000
<v R05>We learnt a lot together.

00:00:13,000 --> 00:00:14.000
<v R05>A comma for a full stop.
"""
VTT_WHAT = "2 cues without a valid timing line (lines 8, 15; first: '00:00:05.000 -> 00:00:09.000')"
VTT_FIX = "write each timing line as `00:01:02.500 --> 00:01:05.000`, or export the transcript again."


def test_case_21_malformed_cues_are_named_not_dropped_silently(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "R05.vtt").write_text(VTT)
    result = cli(root, "code")
    warning = f"Warning: transcripts/R05.vtt:8: {VTT_WHAT}; left out. W{VTT_FIX[1:]}\n"
    assert (result.exit_code, result.stderr) == (0, warning)


def test_case_21_malformed_cues_stop_a_strict_run(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "R05.vtt").write_text(VTT)
    assert_refused(root, ["code", "--strict"], f"transcripts/R05.vtt:8: {VTT_WHAT}\n  How to fix: {VTT_FIX}\n")


# --- 22: ids that differ only in case ---------------------------------------------------------------

def test_case_22_ids_that_differ_in_case_are_one_participant(coded_small):
    root = coded_small[0].root
    (root / "transcripts" / "e01.md").write_text("e01: Hello again.\n")
    assert_refused(root, ["code"], "transcripts/e01.md: participant e01 already has a transcript, "
                   "transcripts/E01.txt (as E01; ids that differ only in case are one participant)\n"
                   "  How to fix: give each participant one transcript (set `participant:` in the header "
                   "or rename the file).\n")


def test_case_22_participants_csv_rows_map_case_insensitively(small_project):
    (small_project / "participants.csv").write_text("participant,sector\ne01,health\np02,housing\n")
    corpus = read_corpus(open_project(small_project))
    assert {t.id: t.attributes["sector"] for t in corpus.transcripts} == {"E01": "health", "P02": "housing"}


def test_case_22_two_participants_csv_rows_for_one_id_are_an_error(coded_small):
    root = coded_small[0].root
    (root / "participants.csv").write_text("participant,sector\nE01,health\ne01,housing\n")
    assert_refused(root, ["code"], "participants.csv:3: participant e01 has a row already, line 2 (E01); ids "
                   "that differ only in case are one participant\n  How to fix: keep one row per participant.\n")


# --- 38 and part 8: binary files ----------------------------------------------------------------------

BINARY_FIX = "Check that it is the transcript; " + SAVE_UTF8


@pytest.mark.parametrize("data", [
    random.Random(38).randbytes(4096),
    bytes(b for b in random.Random(39).randbytes(4096) if b),  # no NUL byte at all
    b"E05: a transcript\n" * 400 + b"\x00" + b"E05: more\n",  # a NUL far past the start
], ids=["random bytes", "random bytes without NUL", "NUL after 7 KB"])
def test_case_38_binary_files_are_skipped_with_a_warning_that_says_so(coded_small, data):
    root = coded_small[0].root
    (root / "transcripts" / "B01.txt").write_bytes(data)
    before = snapshot(root)[0]
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (
        0, f"Warning: transcripts/B01.txt: looks like a binary file, not text; skipped. {BINARY_FIX}\n")
    assert {k: v for k, v in snapshot(root)[0].items() if k != "runs"} == \
        {k: v for k, v in before.items() if k != "runs"}


def test_case_38_a_few_control_characters_do_not_make_text_binary(small_project):
    (small_project / "transcripts" / "E05.txt").write_text("E05: a bell \x07 and an escape \x1b[31m here.\n")
    e05 = next(t for t in read_corpus(open_project(small_project)).transcripts if t.id == "E05")
    assert "\x07" in e05.text
