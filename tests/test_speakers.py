"""Speaker detection and roles (issue 11): every common convention read right with no settings,
focus groups apart, documents without speakers, every unusable file named in one run, and the
`copcode transcripts` preview."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.errors import TranscriptError
from copcode.ingest import find_turns, read_corpus, read_transcripts
from copcode.preview import preview_transcripts
from copcode.project import open_project
from copcode.segment import segment_transcript

from conftest import SMALL_CODEBOOK, write

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
TIME = re.compile(r"\d:\d\d")


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def flat(text: str) -> str:
    """The text with its white space as single spaces (rich wraps long lines at the terminal's width)."""
    return " ".join(text.split())


def project_with(tmp_path, names=(), files=None) -> Path:
    root = tmp_path / "study"
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    for name in names:
        shutil.copy(FIXTURES / name, root / "transcripts" / name)
    for name, text in (files or {}).items():
        write(root / "transcripts" / name, text)
    return root


# --- Word documents, built as a transcription service, Word or Teams would write them ------------

def word_table(path: Path, rows, title="Transcript, interview 7") -> Path:
    document = docx.Document()
    document.add_paragraph(title)
    table = document.add_table(rows=0, cols=len(rows[0]))
    for row in rows:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    document.save(path)
    return path


def word_bold_labels(path: Path, turns) -> Path:
    document = docx.Document()
    document.add_paragraph("Interview with a carer")
    for speaker, words in turns:
        document.add_paragraph().add_run(speaker).bold = True
        document.add_paragraph(words)
    document.save(path)
    return path


def word_teams(path: Path, turns) -> Path:
    """Teams' .docx: a paragraph `Name   0:03`, then the words."""
    document = docx.Document()
    for speaker, time, words in turns:
        document.add_paragraph(f"{speaker}   {time}")
        document.add_paragraph(words)
    document.save(path)
    return path


TABLE = [("Time", "Speaker", "Text"),
         ("00:00:01", "Interviewer", "How did the group start?"),
         ("00:00:05", "Lena", "With six of us in a cafe. It grew from there."),
         ("00:00:12", "Interviewer", "Who joined next?"),
         ("00:00:15", "Lena", "The council, once they saw we were serious."),
         ("", "", "And later the university.")]
BOLD = [("Interviewer", "What is your caring role?"), ("Nadia", "I look after my brother, who has epilepsy."),
        ("Interviewer", "How did you hear about the group?"), ("Nadia", "From the hospital social worker.")]
TEAMS = [("Sam Lee", "0:03", "Thanks for joining. How are you?"),
         ("Priya Shah", "0:07", "Fine, thank you. Busy week on the ward."),
         ("Sam Lee", "0:15", "What did the sessions change for you?"),
         ("Priya Shah", "0:20", "How I plan discharges.")]

# file -> (speakers and roles in order of appearance, words that must be in participant turns)
EXPECTED = {
    "qa.txt": ([("Q", "interviewer"), ("A", "participant")],
               ["Two reasons made me go: time and money.", "we went round the table", "every month"]),
    "speaker-numbers.txt": ([("Speaker 1", "interviewer"), ("Speaker 2", "participant")],
                            ["twenty carers", "counted as training", "checklist for first visits"]),
    "names.txt": ([("Tom", "interviewer"), ("Sarah", "participant")],
                  ["tick a box", "Being asked first", "they wrote down what I said", "new letter"]),
    "dr-name.txt": ([("Dr Sam Lee", "interviewer"), ("Jo Bloggs-Smith", "participant")],
                    ["somebody brings cake", "mostly listen"]),
    "timestamps-before.txt": ([("Interviewer", "interviewer"), ("P4", "participant")],
                              ["that's fine", "launch event in the library"]),
    "timestamps-plain.txt": ([("Speaker 1", "interviewer"), ("Speaker 2", "participant")],
                             ["I don't mind", "people who ring me"]),
    "timestamps-after.txt": ([("Interviewer", "interviewer"), ("Respondent", "participant")],
                             ["With the transport", "taxi"]),
    "otter.txt": ([("Speaker 1", "interviewer"), ("Speaker 2", "participant")],
                  ["The line is clear today.", "We had waited eleven months", "letters are clearer"]),
    "int-resp.txt": ([("INT", "interviewer"), ("RESP", "participant")], ["occupational therapist", "stuck"]),
    "iv-p1.txt": ([("IV", "interviewer"), ("P1", "participant")], ["hospital discharge", "on the ward at night"]),
    "lowercase.txt": ([("interviewer", "interviewer"), ("participant", "participant")],
                      ["every county", "three of them"]),
    "bold.md": ([("Interviewer", "interviewer"), ("E11", "participant")], ["my chair", "the chat afterwards"]),
    "label-lines.txt": ([("Interviewer", "interviewer"), ("E12", "participant")], ["Confidence.", "Friends."]),
    "teams.vtt": ([("Sam Lee", "interviewer"), ("Priya Shah", "participant")],
                  ["discharge checklist straight back", "every new nurse"]),
    "zoom.vtt": ([("Interviewer", "interviewer"), ("Alex Kim", "participant")],
                 ["It was accessible: ramps", "afternoon slot"]),
    "captions.srt": ([("Interviewer", "interviewer"), ("Maria", "participant")],
                     ["chase the actions", "An hour a month, maybe two"]),
    "W01.docx": ([("Interviewer", "interviewer"), ("Lena", "participant")],
                 ["six of us in a cafe", "once they saw we were serious. And later the university."]),
    "W02.docx": ([("Interviewer", "interviewer"), ("Nadia", "participant")], ["my brother", "social worker"]),
    "W03.docx": ([("Sam Lee", "interviewer"), ("Priya Shah", "participant")],
                 ["Busy week on the ward.", "How I plan discharges."]),
}


@pytest.fixture
def every_convention(tmp_path) -> Path:
    root = project_with(tmp_path, [n for n in EXPECTED if not n.endswith(".docx")])
    word_table(root / "transcripts" / "W01.docx", TABLE)
    word_bold_labels(root / "transcripts" / "W02.docx", BOLD)
    word_teams(root / "transcripts" / "W03.docx", TEAMS)
    return root


def test_speakers_every_convention_is_read_right_with_no_settings(every_convention):
    corpus = read_corpus(open_project(every_convention), strict=True)
    by_source = {Path(t.source).name: t for t in corpus.transcripts}
    assert sorted(by_source) == sorted(EXPECTED)
    for name, (speakers, participant_words) in EXPECTED.items():
        transcript = by_source[name]
        seen = list(dict.fromkeys((t.speaker, t.role) for t in transcript.turns))
        assert seen == speakers, name
        said = [transcript.text[t.start:t.end] for t in transcript.turns if t.role == "participant"]
        asked = [transcript.text[t.start:t.end] for t in transcript.turns if t.role == "interviewer"]
        for words in participant_words:
            assert any(words in " ".join(turn.split()) for turn in said), (name, words)
        # every question is the interviewer's, and no participant turn holds one
        assert all("?" in turn for turn in asked) and not any("?" in turn for turn in said), name
        for turn in transcript.turns:
            words = transcript.text[turn.start:turn.end]
            assert words == words.strip() and words, name
            assert not words.startswith(f"{turn.speaker}:") and not TIME.search(words), (name, words)
            assert turn.participant == ("" if turn.role == "interviewer" else transcript.id)
        for segment in segment_transcript(transcript):
            assert transcript.text[segment.start:segment.end] == segment.text and "?" not in segment.text


def test_speakers_a_colon_in_a_sentence_is_not_a_label_but_a_recurring_name_is():
    text = ("Tom: Why did you go?\nSarah: Two reasons: time and money.\nWell: that is it.\n"
            "Tom: And then?\nSarah: Then I stayed.\n")
    turns = find_turns(text, [], "E05")
    assert [(t.speaker, t.role) for t in turns] == [
        ("Tom", "interviewer"), ("Sarah", "participant"), ("Tom", "interviewer"), ("Sarah", "participant")]
    assert text[turns[1].start:turns[1].end] == "Two reasons: time and money.\nWell: that is it."


def test_speakers_focus_group_speakers_are_participants_of_their_own(tmp_path):
    root = project_with(tmp_path, ["FG1.txt"])
    [fg1] = read_transcripts(open_project(root))
    assert fg1.id == "FG1" and fg1.attributes == {"cop": "WF", "group": ""}
    assert [(t.speaker, t.role, t.participant) for t in fg1.turns] == [
        ("Moderator", "interviewer", ""), ("P1", "participant", "FG1-P1"), ("P2", "participant", "FG1-P2"),
        ("P3", "participant", "FG1-P3"), ("Moderator", "interviewer", ""), ("P1", "participant", "FG1-P1"),
        ("P2", "participant", "FG1-P2"), ("P3", "participant", "FG1-P3")]
    assert fg1.text[fg1.turns[7].start:fg1.turns[7].end] == "Being believed."


def test_speakers_focus_group_ids_from_the_header_and_participants_csv(tmp_path):
    root = project_with(tmp_path, files={"FG2.txt": """\
        ---
        speakers: {Anna: interviewer, Ben: E21, Cara: participant}
        ---
        Anna: What matters most?
        Ben: Being listened to.
        Cara: Time.
        Dev: Money, honestly.
        Anna: Anything else?
        Dev: No.
        """})
    (root / "participants.csv").write_text(
        "participant,group,transcript,speaker\nE21,E,,\nP30,P,FG2,Cara\n", encoding="utf-8")
    [fg2] = read_transcripts(open_project(root))
    assert {t.speaker: (t.role, t.participant) for t in fg2.turns} == {
        "Anna": ("interviewer", ""), "Ben": ("participant", "E21"), "Cara": ("participant", "P30"),
        "Dev": ("participant", "FG2-Dev")}
    assert "transcript" not in fg2.attributes and "speaker" not in fg2.attributes


def test_speakers_the_header_mapping_overrides_known_words(tmp_path):
    # here "I" is the interviewee and "R" the researcher: the opposite of the known words
    root = project_with(tmp_path, files={"E30.txt": """\
        ---
        speakers: {I: participant, R: interviewer}
        ---
        R: How was it?
        I: Good. I would go again.
        R: Why?
        I: The people.
        """})
    [e30] = read_transcripts(open_project(root))
    assert [(t.speaker, t.role, t.participant) for t in e30.turns] == [
        ("R", "interviewer", ""), ("I", "participant", "E30"), ("R", "interviewer", ""), ("I", "participant", "E30")]
    reading = preview_transcripts(open_project(root)).files[0]
    assert [(s["label"], s["decided"]) for s in reading["speakers"]] == [
        ("R", "the file's header (speakers:)"), ("I", "the file's header (speakers:)")]


def test_speakers_configured_interviewer_labels_come_first(tmp_path):
    root = project_with(tmp_path, files={"E31.txt": """\
        Ruth: So, the group?
        Q: Questions were what I brought, mostly.
        Ruth: Go on?
        Q: I asked why the forms are so long.
        """})
    (root / "copcode.yaml").write_text("interviewer_labels: [Ruth]\n", encoding="utf-8")
    [e31] = read_transcripts(open_project(root))
    assert [(t.speaker, t.role) for t in e31.turns][:2] == [("Ruth", "interviewer"), ("Q", "participant")]


def test_speakers_documents_without_speakers(tmp_path):
    notes = "Field notes.\n\nThe room was full: carers at the front.\n\nTwo members stayed on.\n"
    root = project_with(tmp_path, ["fieldnotes.txt"], {"E40.txt": notes})
    with pytest.raises(TranscriptError) as caught:
        read_transcripts(open_project(root))
    assert caught.value.message == (
        "transcripts/E40.txt: no speaker labels found, so no participant turns can be told apart\n"
        '  How to fix: start each turn on a new line with its speaker, e.g. "Interviewer: ..." and "E40: ..."; '
        "if it is a document without speakers (field notes, an answer), add `speakers: none` to its header "
        "or to copcode.yaml.")
    (root / "copcode.yaml").write_text("speakers: none\n", encoding="utf-8")
    e40, notes_file = read_transcripts(open_project(root))
    assert [e40.text[t.start:t.end] for t in e40.turns] == [
        "Field notes.", "The room was full: carers at the front.", "Two members stayed on."]
    assert {(t.role, t.participant) for t in e40.turns} == {("participant", "E40")}
    # the header said `speakers: none`: its colon line is words, not a label
    assert notes_file.text[notes_file.turns[1].start:notes_file.turns[1].end].startswith("The room was full.")
    assert len(segment_transcript(e40)) == 3


def test_speakers_setting_must_be_none(tmp_path):
    root = project_with(tmp_path, ["qa.txt"])
    (root / "copcode.yaml").write_text("speakers: some\n", encoding="utf-8")
    result = cli(root, "transcripts")
    assert (result.exit_code, result.stderr) == (
        1, "Error: copcode.yaml:1: `speakers:` must be `none` (files without speaker labels are documents) "
        "or left out\n  How to fix: see README, 'Project settings'.\n")


BROKEN = {
    "E50.txt": "We talked about the group for a while.\n",
    "E51.txt": "---\nparticipant: [E51\n---\nE51: Hi.\n",
    "E52.docx": b"PK\x03\x04 not really a zip",
}


def _plant_broken(root: Path) -> None:
    for name, data in BROKEN.items():
        path = root / "transcripts" / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def test_speakers_three_broken_files_are_named_in_one_run(tmp_path):
    root = project_with(tmp_path, ["qa.txt", "names.txt"])
    _plant_broken(root)
    result = cli(root, "code", "--strict")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: transcripts: 3 transcript files cannot be used:\n"
        "  transcripts/E50.txt: no speaker labels found, so no participant turns can be told apart\n"
        '    How to fix: start each turn on a new line with its speaker, e.g. "Interviewer: ..." and "E50: ..."; '
        "if it is a document without speakers (field notes, an answer), add `speakers: none` to its header or "
        "to copcode.yaml.\n"
        "  transcripts/E51.txt:2: the header is not valid YAML (a list opened with [ on this line is never closed; end it with ])\n"
        "    How to fix: correct the header between the two `---` lines, or remove it.\n"
        "  transcripts/E52.docx: not a readable Word document (BadZipFile)\n"
        "    How to fix: open it in Word or LibreOffice and save it again as .docx.\n"
        "  How to fix: correct each file as said above; `copcode transcripts` shows how copcode reads them, "
        "and `copcode code` without --strict codes the others.\n")
    assert not (root / ".copcode").exists() and not (root / "out").exists()
    result = cli(root, "code")
    assert result.exit_code == 0, result.output
    # each warning in full (a long one is wrapped at the terminal's width)
    assert flat(result.stderr).split("Warning: ")[1:] == [
        'transcripts/E50.txt: no speaker labels found, so no participant turns can be told apart; '
        'skipped. Start each turn on a new line with its speaker, e.g. "Interviewer: ..." and "E50: ..."; if it '
        "is a document without speakers (field notes, an answer), add `speakers: none` to its header or to "
        "copcode.yaml. ",
        "transcripts/E51.txt:2: the header is not valid YAML (a list opened with [ on this line is never "
        "closed; end it with ]); skipped. Correct the header between the two `---` lines, or remove it. ",
        "transcripts/E52.docx: not a readable Word document (BadZipFile); skipped. Open it in Word or "
        "LibreOffice and save it again as .docx."]
    assert result.stdout.startswith("Coded 2 transcripts")
    ids = {i for (i,) in sqlite3.connect(root / ".copcode" / "copcode.db").execute("SELECT id FROM transcripts")}
    assert ids == {"qa", "names"}


def test_speakers_when_no_file_can_be_used_every_one_is_named(tmp_path):
    root = project_with(tmp_path)
    _plant_broken(root)
    result = cli(root, "code")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: transcripts: 3 transcript files cannot be used, so none is left to "
                                    "code:\n  transcripts/E50.txt: no speaker labels found")
    assert result.stderr.endswith("  How to fix: correct each file as said above; `copcode transcripts` shows "
                                  "how copcode reads them.\n")


def test_speakers_srt_block_that_is_not_a_cue_is_named(tmp_path):
    root = project_with(tmp_path, files={"R10.srt": """\
        1
        00:00:01,000 --> 00:00:03,000
        Interviewer: Why?

        2
        00:00:03,500 -> 00:00:06,000
        R10: Lost.

        3
        00:00:06,500 --> 00:00:08,000
        R10: Because.
        """})
    corpus = read_corpus(open_project(root))
    assert corpus.warnings == [
        "transcripts/R10.srt:5: 1 block that is not a cue (line 5; first: '2'); left out. Give each cue its "
        "number, then a line `00:01:02,500 --> 00:01:05,000`, then the words."]
    [r10] = corpus.transcripts
    assert [r10.text[t.start:t.end] for t in r10.turns] == ["Why?", "Because."]


# --- the preview ------------------------------------------------------------------------------------

def test_speakers_preview_json_is_the_librarys_report(every_convention):
    _plant_broken(every_convention)
    result = cli(every_convention, "transcripts", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == preview_transcripts(open_project(every_convention)).as_dict()
    files = {Path(f["file"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["E50.txt"]["usable"] is False
    assert files["E50.txt"]["problem"]["what"] == "no speaker labels found, so no participant turns can be told apart"
    assert files["otter.txt"]["format"] == "text" and files["otter.txt"]["convention"] == "a label line, then the words"
    assert files["otter.txt"]["outside"]["first_line"] == "Otter.ai transcript"
    assert files["W01.docx"]["format"] == "Word table"
    assert files["names.txt"]["speakers"] == [
        {"label": "Tom", "role": "interviewer", "decided": "asks the questions in 3 of 3 turns, in shorter turns",
         "participant": None, "turns": 3, "words": 18},
        {"label": "Sarah", "role": "participant", "decided": "not the interviewer", "participant": "names",
         "turns": 4, "words": 67}]
    assert files["qa.txt"]["notes"] == [
        "line 7 (Note:) joined to the turn before: the label opens only one turn; if it is a speaker, check "
        "its spelling"]


def test_speakers_preview_warns_of_one_speaker_and_unusual_labels(tmp_path):
    root = project_with(tmp_path, files={
        "E60.txt": "E60: I just talked.\nE60: And talked.\n",
        "E61.txt": "".join(f"Interviewer: Question {n}?\nE61: Answer {n}.\n" for n in range(6))
                   + "Interveiwer: A typo?\nE61: Yes.\nInterveiwer: Again?\nE61: Yes.\n"})
    result = cli(root, "transcripts")
    assert result.exit_code == 0, result.output
    assert "  warning: one speaker only (E60): no interviewer turns\n" in result.stdout
    assert ("  warning: unusual label 'Interveiwer' (2 turns) looks like 'Interviewer'; correct its spelling if "
            "it is the same speaker\n") in result.stdout
    assert result.stdout.endswith("2 files: 2 read.\n")


def test_speakers_preview_of_one_file_shows_its_turns(every_convention):
    result = cli(every_convention, "transcripts", "transcripts/otter.txt")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "transcripts/otter.txt (text, a label line, then the words) -> transcript otter\n"
        "  Speaker 1  interviewer (asks the questions in 3 of 3 turns, in shorter turns): 3 turns, 20 words\n"
        "  Speaker 2  participant otter (not the interviewer): 3 turns, 44 words\n"
        '  in no turn: 2 words before the first turn ("Otter.ai transcript")\n'
        "    1 Speaker 1 (interviewer, 37-62): Hi, can you hear me okay?\n"
        "    2 Speaker 2 [otter] (participant, 80-130): Yes, I can hear you fine. The line is clear today.\n"
        "    3 Speaker 1 (interviewer, 148-200): Great. What made you join the community of practice?\n"
        "    4 Speaker 2 [otter] (participant, 218-322): I wanted to change how assessments are done for "
        "people like my son. We had waited eleven months for his.\n"
        "    5 Speaker 1 (interviewer, 340-368): And has it changed anything?\n"
        "    6 Speaker 2 [otter] (participant, 386-456): A little. The waiting list is shorter now and the "
        "letters are clearer.\n"
        "\n"
        "1 file: 1 read.\n")


def test_speakers_preview_of_an_unknown_file(every_convention):
    result = cli(every_convention, "transcripts", "nowhere.txt")
    assert (result.exit_code, result.stderr) == (
        1, "Error: nowhere.txt: no such file\n  How to fix: name a file in the transcripts folder, e.g. "
        "transcripts/E01.txt.\n")


def test_speakers_preview_needs_no_store_and_no_spacy(every_convention):
    code = ("import sys; from typer.testing import CliRunner; from copcode.cli import app; "
            f"r = CliRunner().invoke(app, ['--project', {str(every_convention)!r}, 'transcripts']); "
            "assert r.exit_code == 0, r.output; assert 'spacy' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "ok\n", done.stderr
    assert not (every_convention / ".copcode").exists()


def test_speakers_the_demo_reads_as_before():
    """The demo's transcripts: two speakers each, the participant's id their own label."""
    root = Path(__file__).resolve().parent.parent
    preview = preview_transcripts(open_project(root))
    assert len(preview.files) == 21 and all(f["usable"] for f in preview.files)
    for f in preview.files:
        assert [(s["label"], s["role"], s["participant"]) for s in f["speakers"]] == [
            ("Interviewer", "interviewer", None), (f["transcript"], "participant", f["transcript"])]


@pytest.mark.parametrize("text", [
    # Zoom: the name in brackets and the time, then the words
    "[Sam Lee] 10:00:03\nHow did it go?\n\n[Priya Shah] 10:00:07\nWell, thanks.\n\n"
    "[Sam Lee] 10:00:12\nAnd then?\n\n[Priya Shah] 10:00:15\nWe met again.\n",
    # Rev: the label and its time with a colon on its own line
    "Sam Lee (00:03):\nHow did it go?\n\nPriya Shah (00:07):\nWell, thanks.\n\n"
    "Sam Lee (00:12):\nAnd then?\n\nPriya Shah (00:15):\nWe met again.\n",
    # older Teams: a timing line, the name, the words
    "0:0:0.0 --> 0:0:3.730\nSam Lee\nHow did it go?\n\n0:0:4.0 --> 0:0:8.1\nPriya Shah\nWell, thanks.\n\n"
    "0:0:9.0 --> 0:0:12.1\nSam Lee\nAnd then?\n\n0:0:13.0 --> 0:0:18.1\nPriya Shah\nWe met again.\n",
], ids=["zoom", "rev", "teams-timing-lines"])
def test_speakers_label_lines_with_times(text):
    turns = find_turns(text, [], "E70")
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in turns] == [
        ("Sam Lee", "interviewer", "How did it go?"), ("Priya Shah", "participant", "Well, thanks."),
        ("Sam Lee", "interviewer", "And then?"), ("Priya Shah", "participant", "We met again.")]


@pytest.mark.parametrize("asks, answers", [("[interviewer]", "[name]"), ("[name 1]", "[name 2]")])
@pytest.mark.parametrize("times", [["  0:02", "  0:08", "  0:15", "  0:20"], [""] * 4], ids=["otter", "bare"])
def test_speakers_bracketed_placeholders_on_label_lines(asks, answers, times):
    """A pseudonymised export of an Otter or bold-name transcript writes each listed speaker as
    its placeholder on the label line ("[name]  0:08", "[name]" alone): labels, as "[name]:" is."""
    text = (f"{asks}{times[0]}\nHow did it go?\n\n{answers}{times[1]}\nWell, thanks.\n\n"
            f"{asks}{times[2]}\nAnd then?\n\n{answers}{times[3]}\nWe met again.\n")
    turns = find_turns(text, [], "E70")
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in turns] == [
        (asks[1:-1], "interviewer", "How did it go?"), (answers[1:-1], "participant", "Well, thanks."),
        (asks[1:-1], "interviewer", "And then?"), (answers[1:-1], "participant", "We met again.")]


@pytest.mark.parametrize("text, expected", [
    # a transcriber's mark on a line of its own stays in the turn, in any case
    ("Sarah\nI joined in May.\n[laughs]\nIt was fun.\n\nTom\nWhy?\n\nSarah\nBecause.\n[Laughs]\nReally.\n\n"
     "Tom\nOK?\n\n[Inaudible]\nYes.\n[inaudible]\nSo.\n",
     [("Sarah", "I joined in May.\n[laughs]\nIt was fun."), ("Tom", "Why?"), ("Sarah", "Because.\n[Laughs]\nReally."),
      ("Tom", "OK?\n\n[Inaudible]\nYes.\n[inaudible]\nSo.")]),
    # one placeholder for every speaker: who asks cannot be told, so no labels
    ("[name]  0:02\nHow did it go?\n\n[name]  0:08\nWell, thanks.\n\n[name]  0:15\nAnd then?\n", []),
    ("[name]\nHow did it go?\n\n[name]\nWell, thanks.\n\n[name]\nAnd then?\n", []),
    # a transcriber's note alone on its line, not in MARKS: capitalised, it is no placeholder
    ("Sarah\nHow did it go?\n\nInterviewer\nFine.\n\n[Chuckles]\nReally fine.\n\nSarah\nGood.\n\nInterviewer\n"
     "[Chuckles]\nYes.\n", [("Sarah", "How did it go?"), ("Interviewer", "Fine.\n\n[Chuckles]\nReally fine."),
                            ("Sarah", "Good."), ("Interviewer", "[Chuckles]\nYes.")]),
    ("We met.\n\n[Unintelligible]\nThen we left.\n\n[Chuckles]\nAnd so on.\n\n[Unintelligible]\nEnd.\n\n"
     "[Chuckles]\nYes.\n", []),
    ("Sarah\nHow did it go?\n\nInterviewer\nFine.\n\n[long silence]\nReally fine.\n\nSarah\nGood.\n\nInterviewer\n"
     "[long silence]\nYes.\n", [("Sarah", "How did it go?"), ("Interviewer", "Fine.\n\n[long silence]\nReally fine."),
                                ("Sarah", "Good."), ("Interviewer", "[long silence]\nYes.")]),
    # among placeholders, a note that opens one turn is no placeholder for a person
    ("Interviewer\nHow did it go?\n\n[name]\nWell, thanks.\n\n[laughs nervously]\nIt was hard.\n\nInterviewer\n"
     "And then?\n\n[name]\nWe left.\n", [("Interviewer", "How did it go?"),
                                       ("name", "Well, thanks.\n\n[laughs nervously]\nIt was hard."),
                                       ("Interviewer", "And then?"), ("name", "We left.")]),
    ("Interviewer: How did it go?\n[name]: Well, thanks.\n[Translator's comment]: she means the clinic.\n"
     "Interviewer: And then?\n[name]: We left.\n",
     [("Interviewer", "How did it go?"), ("name", "Well, thanks.\n[Translator's comment]: she means the clinic."),
      ("Interviewer", "And then?"), ("name", "We left.")]),
], ids=["marks", "one-placeholder-otter", "one-placeholder-bare", "notes-among-bold-names", "notes-only",
        "lower-case-note-twice", "note-once-among-placeholders", "inline-note-once"])
def test_speakers_bracketed_lines_that_are_no_labels(text, expected):
    assert [(t.speaker, text[t.start:t.end]) for t in find_turns(text, [], "E70")] == expected


@pytest.mark.parametrize("text, speakers", [
    ("[Interviewer]\nHow was it?\n[P1]\nFine really.\n[Interviewer]\nAnd then?\n[P1]\nWe left.",
     ["Interviewer", "P1", "Interviewer", "P1"]),
    ("[NAME]\nHow was it?\n\n[Participant 7]\nFine.\n\n[NAME]\nAnd then?\n\n[Participant 7]\nWe left.",
     ["NAME", "Participant 7", "NAME", "Participant 7"]),
], ids=["known-words", "capitals"])
def test_speakers_placeholders_for_people_alone_on_their_lines_in_any_case(text, speakers):
    """Replacements are the researcher's own words: "[Interviewer]", "[NAME]", "[P1]"."""
    assert [t.speaker for t in find_turns(text, [], "E01")] == speakers


@pytest.mark.parametrize("text", [
    "[interviewer]\nHow did it go?\n\n[name]\nWell, thanks.\n\n[interviewer]\nAnd then?\n",
    "[interviewer]  0:02\nHow did it go?\n\n[name]  0:08\nWell, thanks.\n\n[interviewer]  0:15\nAnd then?\n",
    "[interviewer]: How did it go?\n[name]: Well, thanks.\n[interviewer]: And then?\n",
], ids=["bare", "otter", "inline"])
def test_speakers_a_placeholder_that_opens_one_turn_among_placeholders_is_a_label(text):
    """Where placeholders label the file, the participant who spoke once is not filed in the
    interviewer's turn (those words would never be coded)."""
    assert [(t.speaker, text[t.start:t.end]) for t in find_turns(text, [], "E70")] == [
        ("interviewer", "How did it go?"), ("name", "Well, thanks."), ("interviewer", "And then?")]


@pytest.mark.parametrize("text", [
    "Dr [interviewer]: How did it go?\n[name]: Well, thanks.\nDr [interviewer]: And then?\n",
    "Dr [interviewer]  0:02\nHow did it go?\n\n[name]  0:08\nWell, thanks.\n\nDr [interviewer]  0:15\nAnd then?\n",
    "Dr. [interviewer]\nHow did it go?\n\n[name]\nWell, thanks.\n\nDr. [interviewer]\nAnd then?\n",
    "Sir [interviewer]: How did it go?\n[name]: Well, thanks.\nSir [interviewer]: And then?\n",
], ids=["inline", "otter", "bare", "privacy's titles"])
def test_speakers_a_title_before_a_placeholder_is_part_of_the_label(text):
    """"Dr Sam Lee:" with the listed "Sam Lee" replaced, as a pseudonymised export writes it:
    still a label, so the interviewer's questions are not filed in the participant's turn."""
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in find_turns(text, [], "E70")] == [
        ("interviewer", "interviewer", "How did it go?"), ("name", "participant", "Well, thanks."),
        ("interviewer", "interviewer", "And then?")]


@pytest.mark.parametrize("label", ["Social worker", "practice nurse", "Care home Manager"])
def test_speakers_a_role_in_sentence_case_is_a_label(label):
    """The README's "any case": a role label need not be capitalised word by word; before, its
    turns were filed in the interviewer's and the file was refused as all interviewer."""
    text = f"Interviewer: How is it?\n{label}: Busy, very.\nInterviewer: And the team?\n{label}: Good.\n"
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in find_turns(text, [], "S03")] == [
        ("Interviewer", "interviewer", "How is it?"), (label, "participant", "Busy, very."),
        ("Interviewer", "interviewer", "And the team?"), (label, "participant", "Good.")]


@pytest.mark.parametrize("label", ["My social worker", "Her manager", "a nurse"])
def test_speakers_a_role_after_a_possessive_is_the_participants_words(label):
    """"My social worker: she said ..." twice in an answer is the participant quoting someone,
    not a speaker: before, "worker" made it a third speaker with the participant's words."""
    text = (f"Interviewer: How did the support go?\nP01: Fine at first.\n{label}: she said she would call.\n"
            f"{label}: then she stopped.\nInterviewer: And then?\nP01: I rang myself.\n")
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in find_turns(text, [], "P01")] == [
        ("Interviewer", "interviewer", "How did the support go?"),
        ("P01", "participant", f"Fine at first.\n{label}: she said she would call.\n{label}: then she stopped."),
        ("Interviewer", "interviewer", "And then?"), ("P01", "participant", "I rang myself.")]


def test_speakers_a_name_that_starts_like_an_article_is_a_label():
    """"An Nguyen" and "My Tran" are names, written as names: only a role in sentence case
    after a possessive or an article is someone's words."""
    text = "Interviewer: How is it?\nAn Nguyen: Busy.\nMy Tran: Quiet.\nInterviewer: And?\nAn Nguyen: Good.\nMy Tran: Fine.\n"
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in find_turns(text, [], "FG5")] == [
        ("Interviewer", "interviewer", "How is it?"), ("An Nguyen", "participant", "Busy."),
        ("My Tran", "participant", "Quiet."), ("Interviewer", "interviewer", "And?"),
        ("An Nguyen", "participant", "Good."), ("My Tran", "participant", "Fine.")]


def test_speakers_preview_names_two_files_for_one_participant(tmp_path):
    root = project_with(tmp_path, files={"E80.txt": "Interviewer: Hi?\nE80: Hello.\n",
                                         "second.md": "---\nparticipant: E80\n---\nInterviewer: Hi?\nE80: Again.\n"})
    files = preview_transcripts(open_project(root)).files
    assert files[1]["notes"] == ["participant E80 already has a transcript, transcripts/E80.txt; "
                                 "`copcode code` stops until each participant has one"]
