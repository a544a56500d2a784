"""What a new researcher met: hyphenated names, replacements that are not text, speaker labels
that are names, files and folders copcode does not read, participants.csv from European
Excel, codebook YAML mistakes in plain words, and a participant or group that does not exist."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.privacy import Redactor
from copcode.project import open_project, read_participants

from conftest import SMALL_CODEBOOK


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".copcode" not in p.parts}


def project(root: Path, transcripts: dict[str, str], settings: str | None = None,
            codebook: str = SMALL_CODEBOOK) -> Path:
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "small.yaml").write_text(codebook, encoding="utf-8")
    for name, text in transcripts.items():
        (root / "transcripts" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    if settings is not None:
        (root / "copcode.yaml").write_text(textwrap.dedent(settings), encoding="utf-8")
    return root


def csv_rows(result, *columns):
    assert result.exit_code == 0, result.output
    return [tuple(row[c] for c in columns) for row in csv.DictReader(io.StringIO(result.stdout))]


# ------------------------------------------------------------------ 1. hyphenated names

HYPHENS = """\
    privacy:
      identifiers:
        "Margaret Hughes": "[name]"
        "Margaret": "[name]"
    """


def test_hyphenated_name_is_replaced_whole_in_every_hyphen(tmp_path):
    root = project(tmp_path / "p", {"E01.txt": (
        "Interviewer: Who helped you learn?\n"
        "E01: Margaret-Hughes helped me learn. Then Margaret\u2011Hughes and Margaret\u2010Hughes did too, "
        "and Margaret-\nHughes once more.\n")}, HYPHENS)
    assert cli(root, "code").exit_code == 0
    result = cli(root, "segments", "--format", "csv")
    assert csv_rows(result, "text") == [("[name] helped me learn. Then [name] and [name] did too, "
                                         "and [name] once more.",)]
    assert "Margaret" not in result.stdout and "Hughes" not in result.stdout


def test_hyphen_joins_only_listed_words():
    redactor = Redactor({"Margaret Hughes": "[name]", "Margaret": "[name]"}, ())
    assert redactor.redact("Margaret-Smith met Margaret - Hughes and Hughes-Margaret.") == \
        "[name]-Smith met [name] and Hughes-[name]."


# ------------------------------------------------------------------ 2. replacements that are not text

TWO_TRANSCRIPTS = {
    "E01.txt": "Interviewer: What did you learn?\nE01: I learnt so much from the group.\n",
    "P02.txt": "Interviewer: Any time?\nP02: No time, my workload is huge.\n",
}


@pytest.mark.parametrize("line, message", [
    ("    Nurse Kelly: [nurse]\n",
     "copcode.yaml:4: the replacement for 'Nurse Kelly' is not text: YAML reads [nurse] as a list\n"
     '  How to fix: put the replacement in quotes: "Nurse Kelly": "[nurse]".\n'),
    ("    Pat Brown:\n",
     "copcode.yaml:4: the identifier 'Pat Brown' has no replacement, so it would be replaced by nothing\n"
     '  How to fix: give it a replacement, in quotes: "Pat Brown": "[name]".\n'),
    ('    Pat Brown: ""\n',
     "copcode.yaml:4: the identifier 'Pat Brown' has no replacement, so it would be replaced by nothing\n"
     '  How to fix: give it a replacement, in quotes: "Pat Brown": "[name]".\n'),
    ("    Pat Brown: {first: Pat}\n",
     "copcode.yaml:4: the replacement for 'Pat Brown' is not text: YAML reads it as a mapping\n"
     '  How to fix: put the replacement in quotes: "Pat Brown": "[name]".\n'),
], ids=["list", "empty", "empty string", "mapping"])
def test_replacement_that_is_not_text_is_refused(tmp_path, line, message):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS,
                   'privacy:\n  identifiers:\n    "Ann Lee": "[name]"\n' + line)
    before = files(root)
    result = cli(root, "code")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}")
    assert files(root) == before and not (root / ".copcode").exists() and not (root / "out").exists()


def test_replacement_written_as_digits_is_still_text(tmp_path):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS, 'privacy:\n  identifiers:\n    "Ann Lee": 007\n')
    assert open_project(root).settings.privacy == {"identifiers": {"Ann Lee": "007"}}


# ------------------------------------------------------------------ 3. speaker labels in the scan

SPEAKERS = {
    "E01.txt": "Interviewer: What did you learn?\n"
               "Jane Smith: I learnt so much at Darent Valley Hospital with the others.\n"
               "Interviewer: Anything else?\nJane Smith: No time, my workload is huge.\n",
    "E02.vtt": "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>What did you learn?\n\n"
               "00:00:05.000 --> 00:00:09.000\n<v Brian Cooper>I learnt about training from the group.\n",
    "E03.srt": "1\n00:00:01,000 --> 00:00:04,000\nInterviewer: What did you learn?\n\n"
               "2\n00:00:05,000 --> 00:00:09,000\nFatima Begum: I learnt a lot, no time though.\n",
    "P04.txt": "Q: What did you learn?\nP04: I learnt from David Okonkwo.\nModerator: And?\nA: Nothing.\n"
               "Speaker 1: Learn more.\nParticipant: Yes, learn.\n",
}


def test_privacy_scan_lists_speaker_labels_that_are_names_as_whole_words(tmp_path):
    root = project(tmp_path / "p", SPEAKERS)
    assert cli(root, "code").exit_code == 0
    result = cli(root, "privacy", "scan", "--format", "csv")
    assert csv_rows(result, "transcript", "start", "end", "text", "kind") == [
        ("E01", "33", "43", "Jane Smith", "speaker"),
        ("E01", "65", "87", "Darent Valley Hospital", "capitalised"),
        ("E02", "33", "45", "Brian Cooper", "speaker"),
        ("E03", "33", "45", "Fatima Begum", "speaker"),
        ("P04", "42", "55", "David Okonkwo", "capitalised"),
    ]


def test_listed_speaker_is_not_listed_again_and_is_gone_from_the_speaker_column(tmp_path):
    root = project(tmp_path / "p", SPEAKERS, """\
        privacy:
          identifiers:
            "Jane Smith": "[name]"
            "Brian Cooper": "[name]"
            "Fatima Begum": "[name]"
            "David Okonkwo": "[name]"
            "Darent Valley Hospital": "[hospital]"
          detect: []
        """)
    assert cli(root, "code").exit_code == 0
    scan = cli(root, "privacy", "scan", "--format", "csv")
    assert {row[0] for row in csv_rows(scan, "kind")} == {"listed"}
    segments = cli(root, "segments", "--format", "csv")
    assert csv_rows(segments, "transcript", "speaker")[:4] == [
        ("E01", "[name]"), ("E01", "[name]"), ("E02", "[name]"), ("E03", "[name]")]
    for name in ("Jane", "Smith", "Brian", "Cooper", "Fatima", "Begum", "Okonkwo", "Darent"):
        assert name not in segments.stdout


GREETINGS = ("Interviewer: Thanks Bob. How was it?\n"
             "Participant: Good. Thanks Fiona for asking. I met Gareth there. Hello Gareth, I said.\n"
             "Interviewer: Thanks Bob, and did Gareth help?\n"
             "Participant: Yes, Gareth helped. Sorry Fiona. Cheers Harriet. Thanks.\n")


def test_privacy_scan_finds_a_name_after_a_sentences_first_word(tmp_path):
    """"Thanks Bob" opens a sentence: "Thanks" is capitalised anyway, "Bob" is still a name;
    "Good." and "Thanks." alone are not listed."""
    root = project(tmp_path / "p", {"X01.txt": GREETINGS})
    assert cli(root, "code").exit_code == 0
    found = csv_rows(cli(root, "privacy", "scan", "--format", "csv"), "start", "end", "text", "kind")
    assert [(int(start), int(end), words) for start, end, words, _ in found] == [
        (20, 23, "Bob"), (63, 68, "Fiona"), (87, 93, "Gareth"), (107, 113, "Gareth"), (143, 146, "Bob"),
        (156, 162, "Gareth"), (187, 193, "Gareth"), (208, 213, "Fiona"), (222, 229, "Harriet")]
    assert all(GREETINGS[int(start):int(end)] == words for start, end, words, _ in found)
    assert {kind for *_, kind in found} == {"capitalised"}


def test_privacy_scan_keeps_a_sentences_first_word_that_is_a_name_elsewhere(tmp_path):
    """"Gareth Jones came." opens a sentence, and "Gareth" stands inside one elsewhere: the
    name is reported whole, as it is in the middle of a sentence."""
    text = "Interviewer: Who came?\nParticipant: Gareth Jones came. Then Gareth Jones left. Good Lord.\n"
    root = project(tmp_path / "p", {"X02.txt": text})
    assert cli(root, "code").exit_code == 0
    found = csv_rows(cli(root, "privacy", "scan", "--format", "csv"), "start", "end", "text")
    assert found == [("36", "48", "Gareth Jones"), ("60", "72", "Gareth Jones"), ("84", "88", "Lord")]


def test_privacy_scan_keeps_a_first_word_no_sentence_writes_in_lower_case(tmp_path):
    """A full name, or a name that is no English word, opening a sentence: "Graham" and "Priya"
    are never written in lower case, so they are names too; "Thank", "Yes", "Okay" and
    "Honestly" open sentences, and "Weird." alone is an English word."""
    # an e-mail address or a web address writes no word in lower case: graham.hill@nhs.uk hides no one
    text = ("Interviewer: Who helped?\nP03: Thank you, Mrs Jones asked me that too. Yes Sue Brown did. Priya did "
            "too.\nInterviewer: Anything else?\nP03: Okay. Graham Hill was my keyworker. Honestly it was fine. "
            "Weird. Write to graham.hill@nhs.uk, graham-hill@nhs.uk or priya@example.org, or book at "
            "calendly.com/book?with=priya.\n")
    root = project(tmp_path / "p", {"P03.txt": text})
    assert cli(root, "code").exit_code == 0
    found = [row[:3] for row in csv_rows(cli(root, "privacy", "scan", "--format", "csv"), "start", "end", "text", "kind")
             if row[3] == "capitalised"]
    assert [words for *_, words in found] == ["Mrs Jones", "Sue Brown", "Priya", "Graham Hill"]
    assert all(text[int(start):int(end)] == words for start, end, words in found)


LABEL_LINES = {
    "E05.txt": "Sam Lee  0:02\nWhat did you learn?\n\nTom Harris  0:08\nI learnt a lot from the group.\n\n"
               "Sam Lee  0:15\nAnything else?\n\nTom Harris  0:20\nNo time, my workload is huge.\n",
    "E06.txt": "Sam Lee\nWhat did you learn?\n\nTom Harris\nI learnt a lot from the group.\n\n"
               "Sam Lee\nAnything else?\n\nTom Harris\nNo time, my workload is huge.\n",
}


def test_privacy_scan_gives_a_label_lines_own_offsets(tmp_path):
    """A speaker on a line of their own (Otter, a bold name in Word) is found where the label
    is, not at their turn's words."""
    root = project(tmp_path / "p", LABEL_LINES)
    assert cli(root, "code").exit_code == 0
    found = csv_rows(cli(root, "privacy", "scan", "--format", "csv"), "transcript", "start", "end", "text", "kind")
    assert found == [("E05", "0", "7", "Sam Lee", "speaker"), ("E05", "35", "45", "Tom Harris", "speaker"),
                     ("E06", "0", "7", "Sam Lee", "speaker"), ("E06", "29", "39", "Tom Harris", "speaker")]
    for transcript, start, end, words, _ in found:
        assert LABEL_LINES[f"{transcript}.txt"][int(start):int(end)] == words


# ------------------------------------------------------------------ 4. files and folders not read

NOT_READ_WARNINGS = [
    "Warning: transcripts/a.doc: an old Word document (.doc), which copcode does not read; skipped. Open it in "
    "Word or LibreOffice and save it as .docx. Then move the original out of the transcripts folder.",
    "Warning: transcripts/b.pdf: a PDF, which copcode does not read; skipped. Save it as .docx or .txt (or copy "
    "its text into a .txt file) and put that in the transcripts folder. Then move the original out of the "
    "transcripts folder.",
    "Warning: transcripts/c.rtf: a Rich Text file, which copcode does not read; skipped. Save it as .docx or "
    ".txt and put that in the transcripts folder. Then move the original out of the transcripts folder.",
    "Warning: transcripts/d.odt: an OpenDocument text, which copcode does not read; skipped. Save it as .docx "
    "(in LibreOffice: File > Save As, Word format). Then move the original out of the transcripts folder.",
    "Warning: transcripts/notes.json: not a transcript format copcode reads (.txt, .md, .docx, .vtt, .srt); "
    "skipped. Save it in one of those formats, or move it out of the transcripts folder if it is not a "
    "transcript.",
    "Warning: transcripts/siteA/: a folder; copcode reads the transcripts folder itself, not folders inside "
    "it; skipped. Move its transcripts into the transcripts folder, or point `transcripts:` in copcode.yaml "
    "at it.",
]


def not_read_project(root: Path) -> Path:
    root = project(root, TWO_TRANSCRIPTS)
    folder = root / "transcripts"
    for name, data in {"a.doc": b"\xd0\xcf\x11\xe0", "b.pdf": b"%PDF-1.4\n", "c.rtf": b"{\\rtf1 Hi}",
                       "d.odt": b"PK\x03\x04", "notes.json": b"{}", ".DS_Store": b"\x00",
                       "participants.csv": b"participant,group\nE01,E\n", "Thumbs.db": b"\x00"}.items():
        (folder / name).write_bytes(data)
    (folder / "siteA").mkdir()
    (folder / "siteA" / "E09.txt").write_text("Interviewer: Hi?\nE09: Hello.\n", encoding="utf-8")
    return root


def test_files_and_folders_not_read_are_named_by_transcripts_and_code(tmp_path):
    root = not_read_project(tmp_path / "p")
    preview = cli(root, "transcripts")
    assert preview.exit_code == 0
    assert preview.stderr == "".join(w + "\n" for w in NOT_READ_WARNINGS)
    assert preview.stdout.endswith("\n2 files: 2 read. 6 other files or folders not read (see the warnings).\n")
    result = cli(root, "code")
    assert result.exit_code == 0
    assert result.stderr == "".join(w + "\n" for w in NOT_READ_WARNINGS)
    from copcode.ingest import read_corpus

    corpus = read_corpus(open_project(root))
    assert [t.id for t in corpus.transcripts] == ["E01", "P02"]
    assert corpus.not_read == [w.removeprefix("Warning: ") for w in NOT_READ_WARNINGS]


def test_folder_of_files_not_read_says_what_it_holds(tmp_path):
    root = project(tmp_path / "p", {})
    (root / "transcripts" / "E01.pdf").write_bytes(b"%PDF-1.4\n")
    (root / "transcripts" / "siteA").mkdir()
    result = cli(root, "code")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: transcripts: the transcripts folder holds no transcripts (it holds E01.pdf, siteA/)\n"
        "  How to fix: add transcripts with one of the endings .txt, .md, .docx, .vtt, .srt; `copcode "
        "transcripts` says how to convert the files there.\n")


# ------------------------------------------------------------------ 5. participants.csv

def test_participants_csv_separated_by_semicolons_is_read(tmp_path):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS)
    (root / "participants.csv").write_bytes("participant;group;role\r\nE01;E;carer, unpaid\r\nP02;P;nurse\r\n"
                                            .encode("cp1252"))
    assert read_participants(open_project(root)) == {"e01": {"group": "E", "role": "carer, unpaid"},
                                                     "p02": {"group": "P", "role": "nurse"}}
    assert cli(root, "code").exit_code == 0
    result = cli(root, "quotes", "--with", "role", "--format", "csv")
    assert sorted(set(csv_rows(result, "participant", "role"))) == [("E01", "carer, unpaid"), ("P02", "nurse")]


def test_participants_csv_id_that_matches_no_transcript_is_a_warning(tmp_path):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS)
    (root / "participants.csv").write_text("participant,group\nE01,E\nE10,E\np02,P\n", encoding="utf-8")
    warning = ("Warning: participants.csv:3: participant E10 matches no transcript, so its row is not used. "
               "Correct the id to the transcript's (its file name or header `participant:`), or remove the row.\n")
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (0, warning)
    preview = cli(root, "transcripts")
    assert (preview.exit_code, preview.stderr) == (0, warning)


# ------------------------------------------------------------------ 6. codebook YAML in plain words

def codebook_with(cue_lines: str) -> str:
    return ("name: small\nthemes:\n  - id: learning\n    label: Learning\n    codes:\n      - id: learn\n"
            + cue_lines)


@pytest.mark.parametrize("codebook, problem", [
    (codebook_with("        label: Pay: wages\n        definition: Members learn.\n"),
     'line 7: a value holds ": "; put it in quotes: label: "Pay: wages"'),
    (codebook_with("        label: Learning\n       definition: Members learn.\n"),
     'line 8: the indentation does not line up with the lines above: the keys of one block, and the "- " '
     "items of one list, start in the same column"),
    (codebook_with("        label: Learning\n          definition: Members learn.\n"),
     "line 8: the indentation does not line up with the lines above: this line is indented further than the "
     "key before it; start it in the same column as that key"),
    (codebook_with('        label: "Learning\n        definition: Members learn.\n'
                   "        cues:\n          keywords: [learn]\n"),
     "line 7: a quoted value opened on this line is never closed; end it with the same quote mark "
     "(\" or ') it starts with"),
    (codebook_with("        label: Learning\n        definition: Members learn.\n"
                   "        cues:\n          keywords: learn, learnt\n"),
     'line 10: themes[0].codes[0].cues.keywords: must be a list: write [learn, learnt] or one "- learn" '
     "per line"),
    (codebook_with("        label: Learning\n        definition: Members learn.\n"
                   "        examples: I learnt a lot, really\n"),
     'line 9: themes[0].codes[0].examples: must be a list: write each quote on a line of its own, after "- "'),
    (codebook_with("\tlabel: Learning\n"),
     "line 7: a tab is used to indent; YAML indents with spaces only: replace the tab with spaces"),
    (codebook_with('        label: "Pay" wages\n        definition: Members learn.\n'),
     "line 7: text follows a value in quotes; put the whole value in quotes (quotes inside it doubled or of "
     "the other kind, e.g. '\"Pay\" wages')"),
    (codebook_with("        label: Learning\n        definition: Members learn.\n"
                   "        cues:\n          keywords: [learn, learnt\n      - id: time\n        label: Time\n"),
     "line 10: a list opened with [ on this line is never closed; end it with ]"),
    # a list closed further down does not close this one; nor does a ] in a comment
    (codebook_with("        label: Learning\n        definition: Members learn.\n"
                   "        cues:\n          keywords: [learn, learnt\n          # not [this]\n"
                   "          patterns: [[{LOWER: learn}]]\n"),
     "line 10: a list opened with [ on this line is never closed; end it with ]"),
    (codebook_with('        label: Learning\n        aliases: [study, "learnt"\n        definition: Members learn.\n'),
     "line 8: a list opened with [ on this line is never closed; end it with ]"),
], ids=["colon in a value", "indented less", "indented more", "unclosed quote", "keywords as text",
        "examples as text", "tab", "text after quotes", "unclosed list", "unclosed list, others after",
        "unclosed list of quoted items"])
def test_codebook_yaml_mistakes_are_said_in_plain_words(tmp_path, codebook, problem):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS, codebook=codebook)
    before = files(root)
    result = cli(root, "code")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: codebooks/small.yaml: the codebook is not valid (1 problem):\n  {problem}\n"
                             "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")
    assert files(root) == before and not (root / ".copcode").exists()


def test_the_preview_names_the_line_of_a_header_mistake(tmp_path):
    header = "---\nparticipant: P09\nsite: [north, south\nrole: nurse\n---\nInterviewer: Hi?\nP09: Fine.\n"
    root = project(tmp_path / "p", {**TWO_TRANSCRIPTS, "P09.txt": header})
    result = cli(root, "transcripts")
    assert "transcripts/P09.txt:3: cannot be used: the header is not valid YAML (a list opened with [ on this " \
        "line is never closed; end it with ])" in " ".join(result.stdout.split())


def test_settings_unclosed_list_is_named_at_its_line(tmp_path):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS, "min_score: 0.35\ninterviewer_labels: [Interviewer, Q\n"
                                                    "# groups: {E: Experts}\n# learn_from: [a, b]\nlearning: true\n")
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (
        1, "Error: copcode.yaml:2: not valid YAML (a list opened with [ on this line is never closed; end it "
           "with ])\n  How to fix: correct the YAML syntax at that line.\n")


def test_settings_yaml_mistake_is_said_in_plain_words_too(tmp_path):
    root = project(tmp_path / "p", TWO_TRANSCRIPTS, "groups:\n  E: Experts: by experience\n")
    result = cli(root, "code")
    assert (result.exit_code, result.stderr) == (
        1, 'Error: copcode.yaml:2: not valid YAML (a value holds ": "; put it in quotes: E: "Experts: by '
           'experience")\n  How to fix: correct the YAML syntax at that line.\n')


# ------------------------------------------------------------------ 7. unknown participant or group

@pytest.mark.parametrize("args, message", [
    (["quotes", "--participant", "X99"], "unknown participant 'X99'\n  How to fix: use one of: E01, P02.\n"),
    (["quotes", "--group", "X"], "unknown group 'X'\n  How to fix: use one of: E, P.\n"),
    (["segments", "--group", "Z"], "unknown group 'Z'\n  How to fix: use one of: E, P.\n"),
    (["segments", "--participant", "E1"], "unknown participant 'E1'\n  How to fix: use one of: E01, P02.\n"),
], ids=["quotes participant", "quotes group", "segments group", "segments participant"])
def test_unknown_participant_or_group_is_an_error(coded_small, args, message):
    project_, store, _ = coded_small
    result = cli(project_.root, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}")


def test_known_participant_and_group_in_any_case_still_work(coded_small):
    root = coded_small[0].root
    assert {r[0] for r in csv_rows(cli(root, "segments", "--participant", "e01", "--format", "csv"),
                                   "participant")} == {"E01"}
    assert {r[0] for r in csv_rows(cli(root, "quotes", "--group", "p", "--format", "csv"), "group")} == {"P"}


def test_review_queue_refuses_an_unknown_participant(coded_small):
    from copcode.errors import LookupFailed
    from copcode.review import review_queue

    _, store, codebook = coded_small
    with pytest.raises(LookupFailed) as caught:
        review_queue(store, codebook, "ann", participant="X99")
    assert caught.value.message == "unknown participant 'X99'\n  How to fix: use one of: E01, P02."


def test_first_ten_are_listed_when_there_are_more(tmp_path):
    transcripts = {f"E{n:02}.txt": f"Interviewer: What did you learn?\nE{n:02}: I learnt a lot.\n"
                   for n in range(1, 13)}
    root = project(tmp_path / "p", transcripts)
    assert cli(root, "code").exit_code == 0
    result = cli(root, "quotes", "--participant", "E13")
    assert (result.exit_code, result.stderr) == (
        1, "Error: unknown participant 'E13'\n  How to fix: use one of: E01, E02, E03, E04, E05, E06, E07, "
           "E08, E09, E10 ... (12 in all).\n")
    assert json.loads(cli(root, "quotes", "--participant", "e12", "--format", "json").stdout)[0]["participant"] \
        == "E12"


def test_an_unclosed_quote_before_a_later_quote_is_named_where_it_opens(tmp_path):
    """PyYAML runs the open quote on to the next quote mark and stumbles there, lines later."""
    path = tmp_path / "book.yaml"
    path.write_text(
        "name: book\nthemes:\n  - id: t\n    label: Theme\n    codes:\n      - id: c\n"
        '        label: "What works well\n        definition: What works.\n        examples:\n'
        '          - "The staff listened."\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["codebook", "check", str(path)], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "line 7: a quoted value opened on this line is never closed" in " ".join(result.output.split())


# ------------------------------------------------------------------ a second review

INTERVIEW_WITH_MARKS = """\
    Interviewer: How was it?
    P01: Fine.
    [laughs]: well, no.
    Interviewer: And then?
    P01: Then it got better.
    [laughs]: really.
    [Interviewer's note]: she smiled.
    [Interviewer's note]: the end.
    """


def test_a_transcribers_bracketed_mark_is_no_speaker(tmp_path):
    """"[laughs]:" twice at a line's start stays in the turn; only placeholders are labels."""
    root = project(tmp_path / "p", {"t_lau.txt": INTERVIEW_WITH_MARKS})
    result = cli(root, "transcripts", "--format", "json")
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.stdout)["files"]
    assert sorted((s["label"], s["role"]) for s in found["speakers"]) == [("Interviewer", "interviewer"),
                                                                           ("P01", "participant")]


@pytest.mark.parametrize("listed", ["Jean - Paul", "Jean – Paul", "Jean-Paul", "Jean Paul"])
def test_a_listed_name_with_a_spaced_hyphen_matches_every_form(listed):
    redactor = Redactor({listed: "[name]"}, ())
    assert [redactor.redact(f"{written} came.") for written in ("Jean-Paul", "Jean Paul", "Jean – Paul")] == \
        ["[name] came."] * 3


@pytest.mark.parametrize("settings, group", [(None, ""), ("groups: {E: Experts, P: Practitioners}\n", "P")])
def test_groups_a_project_names_are_its_own_prefixes(tmp_path, settings, group):
    """With the default groups "PT01" is in none (a letter follows P); a project that names P
    as a group keeps PT01 in it, as before."""
    root = project(tmp_path / "p", {}, settings)
    assert open_project(root).group_of("PT01") == group


def test_word_lock_files_are_left_alone_and_a_converted_pdf_is_said_so(tmp_path):
    root = project(tmp_path / "p", {"PT01.txt": "Interviewer: How?\nPT01: Fine, really fine.\n"
                                                "Interviewer: And?\nPT01: Good.\n"})
    (root / "transcripts" / "PT01.pdf").write_bytes(b"%PDF-1.4 x")
    (root / "transcripts" / "~$EBE02.docx").write_bytes(b"junk")
    result = cli(root, "transcripts")
    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == ("Warning: transcripts/PT01.pdf: a PDF, which copcode does not read; "
                                               "skipped: transcripts/PT01.txt is read. Move PT01.pdf out of the "
                                               "transcripts folder.")


@pytest.mark.parametrize("text, message", [
    # closed further down, a mistake inside: the mistake is named, not the bracket
    ("groups: {\n  E: Experts,\n  P: Practitioners: by role\n}\n", 'line 3: a value holds ": "'),
    ("keywords: [\n  learn,\n  study: hard: x,\n]\n", 'line 3: a value holds ": "'),
    # flow content may go on at column 0: a line there that closes the bracket is no next key
    ("groups: {E: Experts,\nP: Practitioners: by role}\n", 'line 2: a value holds ": "'),
    ("examples: [\n  \"one\" two,\n  three\n]\n", "line 2: text follows a value in quotes"),
    # never closed, the next key holds a list of its own
    ("c:\n  keywords: [listen, value\n  patterns: [x]\n", "line 2: a list opened with [ on this line is never closed"),
    # a ] inside a quoted item closes nothing
    ('a:\n  examples: ["it was fine [laughs]", "we had a laugh"\n  definition: Jokes\n',
     "line 2: a list opened with [ on this line is never closed"),
    # two quoted items without a comma: the comma is missing, not the quotes
    ('examples: ["I learnt a lot" "we read together"]\n', "line 1: two items in quotes have no comma between them"),
    ('examples: [\n  "I learnt a lot"\n  "we read together",\n]\n', "line 3: two items in quotes have no comma"),
], ids=["mapping over lines", "list over lines", "continued at column 0", "quoted item", "next key's list", "bracket in quotes",
        "no comma", "no comma over lines"])
def test_a_bracket_over_several_lines_is_told_from_one_never_closed(text, message):
    from copcode import yamlsafe

    with pytest.raises(yamlsafe.YamlProblem) as raised:
        yamlsafe.load(text)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("text, message", [
    # a quote rightly over two lines, then one left open: the open one is named
    ('title: "Care study\n  codebook"\nthemes:\n  - id: t1\n    label: "Territory\n    codes: []\n  - id: t2\n'
     '    label: "Practice"\n', "line 5: a quoted value opened on this line is never closed"),
    # an apostrophe in a block scalar, then a real indentation slip: the slip is named
    ("title: Study\ndescription: |\n  People said 'nobody listens to us\n  and they meant it.\nthemes:\n"
     "  - id: t1\n    label: T\n   codes: []\n", "line 8: the indentation does not line up"),
])
def test_an_unclosed_quote_is_told_from_other_mistakes(text, message):
    from copcode import yamlsafe

    with pytest.raises(yamlsafe.YamlProblem) as raised:
        yamlsafe.load(text)
    assert str(raised.value).startswith(message)
