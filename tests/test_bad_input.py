"""Hostile and broken input: each case gets one clear answer, and the store is unchanged."""

import io
import sqlite3
import zipfile

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.ingest import read_transcripts
from copcode.project import open_project
from copcode.segment import segment_transcript

SAVE_UTF8 = "Save it as UTF-8 text (in Word: Save As > Plain Text > Unicode (UTF-8))."


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def snapshot(root, with_runs=False):
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    tables = ["transcripts", "turns", "segments", "suggestions", "decisions"] + (["runs"] if with_runs else [])
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def _zip_of_something_else():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("holiday.txt", "not a document")
    return out.getvalue()


# files that cannot be read: skipped with a warning (or an error under --strict)
SKIPPED = [
    ("binary", "B01.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
     "looks like a binary file, not text; skipped. Check that it is the transcript; save it as UTF-8 text "
     "(in Word: Save As > Plain Text > Unicode (UTF-8))."),
    ("pdf named .txt", "P07.txt", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nstream\n\x00\x01endstream",
     "looks like a binary file, not text; skipped. Check that it is the transcript; save it as UTF-8 text "
     "(in Word: Save As > Plain Text > Unicode (UTF-8))."),
    ("empty", "E09.txt", b"", "the file is empty; skipped. Remove it or put the transcript in it."),
    ("only white space", "E08.txt", b"  \n\n\t\n", "the file is empty; skipped. Remove it or put the transcript in it."),
    ("neither UTF-8 nor Windows-1252", "E07.txt", b"E07: caf\x81 \x8d\x8f\x90\x9d\n",
     "not UTF-8 or Windows-1252 text; skipped. " + SAVE_UTF8),
    ("corrupt docx", "P09.docx", b"PK\x03\x04 not really a zip",
     "not a readable Word document (BadZipFile); skipped. Open it in Word or LibreOffice and save it again as .docx."),
    ("a zip that is not a docx", "P08.docx", _zip_of_something_else(),
     "a zip archive without a Word document inside, not a .docx; skipped. Check that it is the transcript, "
     "or save the transcript again as .docx."),
    ("vtt with no cues", "R09.vtt", b"WEBVTT\n\n",
     "a WebVTT file with no cues; skipped. Export the transcript again; the file holds no captions."),
    ("not a vtt", "R08.vtt", b"this is not a caption file\n",
     "not a valid WebVTT file (Invalid format); skipped. Export the transcript again as .vtt, or save it as "
     ".txt with speaker labels."),
]


@pytest.mark.parametrize("name, filename, data, message", SKIPPED, ids=[c[0] for c in SKIPPED])
def test_bad_input_unreadable_files_are_skipped_or_stop_under_strict(coded_small, name, filename, data, message):
    project = coded_small[0]
    before = snapshot(project.root, with_runs=True)
    (project.root / "transcripts" / filename).write_bytes(data)
    result = cli(project.root, "code", "--strict")
    assert (result.exit_code, result.stdout) == (1, "")
    what, fix = message.split("; skipped. ")
    assert result.stderr == f"Error: transcripts/{filename}: {what}\n  How to fix: {fix[:1].lower()}{fix[1:]}\n"
    assert snapshot(project.root, with_runs=True) == before
    result = cli(project.root, "code")
    assert result.exit_code == 0
    assert result.stderr == f"Warning: transcripts/{filename}: {message}\n"
    assert snapshot(project.root) == {k: v for k, v in before.items() if k != "runs"}


# a transcript that cannot be used stops the run under --strict (without it: skipped, a warning)
FATAL = [
    ("two files for one participant", {"transcripts/E01-copy.md": "---\nparticipant: E01\n---\nE01: Hello.\n"},
     ["code"], "transcripts/E01.txt: participant E01 already has a transcript, transcripts/E01-copy.md"),
    ("no participant turns", {"transcripts/E05.txt": "Interviewer: Hello?\nInterviewer: Anyone there?\n"},
     ["code", "--strict"], "transcripts/E05.txt: every turn is the interviewer's; there is nothing to code"),
    ("no speaker labels", {"transcripts/E05.txt": "We talked about the group for a while.\n"},
     ["code", "--strict"], "transcripts/E05.txt: no speaker labels found, so no participant turns can be told apart"),
    ("bad transcript header", {"transcripts/E05.txt": "---\nparticipant: [E05\n---\nE05: Hi.\n"},
     ["code", "--strict"], "transcripts/E05.txt:2: the header is not valid YAML (a list opened with [ on this line is never closed; end it with ])"),
    ("invalid codebook YAML", {"codebooks/small.yaml": "name: x\nthemes: [\n"},
     ["code"], "codebooks/small.yaml: the codebook is not valid (1 problem):\n  line 3: expected the node content, but found '<stream end>'"),
    ("duplicate code ids", {"codebooks/small.yaml": "name: x\nthemes:\n  - id: t\n    label: T\n    codes:\n"
                            "      - {id: a, label: A, definition: x}\n      - {id: a, label: B, definition: y}\n"},
     ["code"], "codebooks/small.yaml: the codebook is not valid (1 problem):\n  line 7: themes[0].codes[1].id: duplicate code a (first at line 6); ids must be unique"),
    ("unknown codebook key", {"codebooks/small.yaml": "name: x\ncolour: red\nthemes:\n  - {id: t, label: T, codes: [{id: a, label: A, definition: x}]}\n"},
     ["code"], "codebooks/small.yaml: the codebook is not valid (1 problem):\n  line 2: colour: unknown key (check its spelling; see README, 'The codebook')"),
    ("malformed spaCy pattern", {"codebooks/small.yaml": "name: x\nthemes:\n  - id: t\n    label: T\n    codes:\n"
                                 "      - id: a\n        label: A\n        definition: x\n        cues:\n"
                                 "          patterns:\n            - [{LOWER: x, OP: '?!'}]\n"},
     ["code"], "codebooks/small.yaml: the codebook is not valid (1 problem):\n  line 11: themes[0].codes[0].cues.patterns[0]: not a valid spaCy token pattern: token 1 OP: Input should be '+', '*', '?' or '!'"),
    ("YAML tag that builds objects", {"codebooks/small.yaml": "name: !!python/object/apply:os.system ['touch /tmp/pwned']\nthemes: []\n"},
     ["code"], "codebooks/small.yaml: the codebook is not valid (1 problem):\n  line 1: YAML tags that build program objects (!!python/object/apply:os.system) are not allowed"),
    ("unknown theme", {}, ["quotes", "--theme", "housing"],
     "codebooks/small.yaml: unknown theme 'housing'\n  How to fix: use one of learning, barriers, or an alias or label of one."),
    ("transcripts folder missing", {"copcode.yaml": "transcripts: interviews\n"}, ["code"],
     "interviews: the transcripts folder does not exist"),
    ("unknown setting", {"copcode.yaml": "min_score: 0.4\ntranscript: interviews\n"}, ["code"],
     "copcode.yaml:2: unknown setting(s): transcript (did you mean transcripts?)"),
    ("codebook missing", {}, ["codebook", "check", "codebooks/nothere.yaml"],
     "codebooks/nothere.yaml: the codebook file does not exist\n  How to fix: check the path (`copcode init` writes "
     "a starter codebook to codebooks/)."),
    ("setting of the wrong type", {"copcode.yaml": "min_score: 0.4\nmax_segment_words: 0\n"}, ["code"],
     "copcode.yaml:2: `max_segment_words:` must be a whole number of words, 10 or more"),
    ("learning as a string", {"copcode.yaml": "learning: \"false\"\n"}, ["code"],
     "copcode.yaml:1: `learning:` must be true or false, without quotes"),
    ("ragged participants.csv", {"participants.csv": "participant,group\nE01,E,extra\n"}, ["code"],
     "participants.csv:2: row has 3 cells, the header has 2"),
]


@pytest.mark.parametrize("name, files, args, message", FATAL, ids=[c[0] for c in FATAL])
def test_bad_input_that_stops_the_command(coded_small, name, files, args, message):
    project = coded_small[0]
    before = snapshot(project.root, with_runs=True)
    for relative, text in files.items():
        (project.root / relative).write_text(text, encoding="utf-8")
    result = cli(project.root, *args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: {message}\n"), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project.root, with_runs=True) == before
    assert not (project.root / "out" / ".coded_segments.csv").exists()


@pytest.mark.parametrize("name, problem", [("copcode.yaml", "copcode does not import .yaml files"),
                                           ("nothere.qdpx", "no such file")])
def test_bad_input_a_file_copcode_does_not_import_names_those_it_does(coded_small, name, problem):
    root = coded_small[0].root
    (root / "copcode.yaml").write_text("min_score: 0.35\n", encoding="utf-8")
    before = snapshot(root, with_runs=True)
    result = cli(root, "import", str(root / name))
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {root / name}: {problem}\n  How to fix: give a REFI-QDA project (.qdpx) or codebook (.qdc), a "
           "Taguette project (.sqlite3), or a table of codings (.csv, .xlsx).\n")
    assert snapshot(root, with_runs=True) == before


def test_bad_input_other_encodings_are_decoded_and_said(coded_small):
    project = coded_small[0]
    folder = project.root / "transcripts"
    (folder / "E02.txt").write_bytes("Interviewer: Où?\r\nE02: Café, naïve “quotes”.\r\n".encode("cp1252"))
    (folder / "E03.txt").write_bytes("Interviewer: Where?\nE03: Café again.\n".encode("utf-16"))
    (folder / "E04.txt").write_bytes("\ufeffINT: BOM?\r\nE04: Fine.\r\n".encode("utf-8"))
    result = cli(project.root, "code")
    assert result.exit_code == 0
    assert result.stderr == (
        "Warning: transcripts/E02.txt: not UTF-8; decoded as Windows-1252. Check its accents and quotes.\n"
        "Warning: transcripts/E03.txt: decoded as UTF-16.\n")
    texts = dict(sqlite3.connect(project.root / ".copcode" / "copcode.db").execute("SELECT id, text FROM transcripts"))
    assert texts["E02"] == "Interviewer: Où?\nE02: Café, naïve “quotes”.\n"
    assert texts["E03"] == "Interviewer: Where?\nE03: Café again.\n"
    assert texts["E04"] == "INT: BOM?\nE04: Fine.\n"


def test_bad_input_a_5mb_single_line_is_segmented_within_bounds(small_project):
    words = ("we learnt a lot about the rota and the workload in the group without any full stop " * 61000)
    (small_project / "transcripts" / "E09.txt").write_text("E09: " + words, encoding="utf-8")
    assert len(words) > 5_000_000
    transcript = read_transcripts(open_project(small_project))[1]
    segments = segment_transcript(transcript, max_words=120)
    assert max(len(s.text.split()) for s in segments) <= 120
    assert sum(len(s.text.split()) for s in segments) == len(words.split())
    assert all(transcript.text[s.start:s.end] == s.text for s in segments[:50])
