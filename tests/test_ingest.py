
import docx
import pytest

from copcode.errors import ProjectError, TranscriptError
from copcode.ingest import find_turns, read_transcripts
from copcode.project import open_project

from conftest import write


def test_ingest_txt_header_labels_and_continuation_lines(small_project):
    transcripts = read_transcripts(open_project(small_project))
    assert [t.id for t in transcripts] == ["E01", "P02"]
    e01 = transcripts[0]
    assert e01.attributes == {"cop": "CC", "group": "E"}
    assert e01.text.startswith("Interviewer: What did you learn")  # the header is not text
    assert [(t.speaker, t.role) for t in e01.turns] == [
        ("Interviewer", "interviewer"), ("E01", "participant"),
        ("Interviewer", "interviewer"), ("E01", "participant")]
    assert e01.text[e01.turns[1].start:e01.turns[1].end] == (
        "I learnt so much from the others. Carers know things nobody writes down.\n"
        "Then I went home and read about it.")
    p02 = transcripts[1]
    assert [t.speaker for t in p02.turns] == ["INT", "P02", "INT"]
    assert p02.attributes == {"group": "P"}  # from the id's prefix


def test_ingest_participants_csv_adds_attributes(small_project):
    (small_project / "participants.csv").write_text(
        "participant,group,cop,sector\nP02,P,WF,provider\n", encoding="utf-8")
    p02 = read_transcripts(open_project(small_project))[1]
    assert p02.attributes == {"group": "P", "cop": "WF", "sector": "provider"}


def test_ingest_a_colon_inside_a_sentence_is_not_a_label():
    text = "Interviewer: Why?\nE05: Two reasons: time and money.\nWell: that is it.\n"
    turns = find_turns(text, ["Interviewer"], "E05")
    assert [t.speaker for t in turns] == ["Interviewer", "E05"]
    assert text[turns[1].start:turns[1].end] == "Two reasons: time and money.\nWell: that is it."


def test_ingest_numbered_interviewers_are_interviewers():
    text = "Interviewer 2: Can I add one?\nE05: Yes.\nINT1: Thanks.\nI: Last one.\nE05: Fine.\n"
    turns = find_turns(text, ["Interviewer", "INT", "I"], "E05")
    assert [(t.speaker, t.role) for t in turns] == [
        ("Interviewer 2", "interviewer"), ("E05", "participant"), ("INT1", "interviewer"),
        ("I", "interviewer"), ("E05", "participant")]


def test_ingest_docx_paragraphs_become_lines(small_project):
    document = docx.Document()
    for line in ["Synthetic interview", "Interviewer: Hello.", "P07: It was a validation and the endorsement."]:
        document.add_paragraph(line)
    document.save(small_project / "transcripts" / "P07.docx")
    p07 = read_transcripts(open_project(small_project))[2]
    assert p07.text == "Synthetic interview\nInterviewer: Hello.\nP07: It was a validation and the endorsement."
    assert p07.source == "transcripts/P07.docx"
    turn = p07.turns[1]
    assert (turn.role, p07.text[turn.start:turn.end]) == ("participant", "It was a validation and the endorsement.")


def test_ingest_vtt_joins_one_speakers_cues(small_project):
    write(small_project / "transcripts" / "R02.vtt", """\
        WEBVTT

        NOTE
        Synthetic.

        1
        00:00:01.000 --> 00:00:03.000
        <v Interviewer>How did it go?</v>

        2
        00:00:03.500 --> 00:00:06.000
        <v R02>It went well, I think, because the</v>

        3
        00:00:06.000 --> 00:00:08.000
        <v R02>group was small.</v>
        """)
    r02 = read_transcripts(open_project(small_project))[2]
    assert r02.text == "Interviewer: How did it go?\nR02: It went well, I think, because the group was small.\n"
    assert [r02.text[t.start:t.end] for t in r02.turns] == [
        "How did it go?", "It went well, I think, because the group was small."]


def test_ingest_vtt_voices_with_display_names(small_project):
    (small_project / "copcode.yaml").write_text("interviewer_labels: [Interviewer, Dr Sam O'Neil]\n", encoding="utf-8")
    write(small_project / "transcripts" / "R03.vtt", """\
        WEBVTT

        00:00:01.000 --> 00:00:03.000
        <v Dr Sam O'Neil>How was it?</v>

        00:00:03.500 --> 00:00:06.000
        <v Jo Bloggs-Smith>Good: really good.</v>
        """)
    r03 = read_transcripts(open_project(small_project))[2]
    assert [(t.speaker, t.role, r03.text[t.start:t.end]) for t in r03.turns] == [
        ("Dr Sam O'Neil", "interviewer", "How was it?"), ("Jo Bloggs-Smith", "participant", "Good: really good.")]


def test_ingest_no_speaker_labels_is_an_error_naming_the_file(small_project):
    write(small_project / "transcripts" / "E09.txt", "Just some notes\nwith no labels at all.\n")
    with pytest.raises(TranscriptError) as caught:
        read_transcripts(open_project(small_project))
    assert caught.value.message == (
        "transcripts/E09.txt: no speaker labels found, so no participant turns can be told apart\n"
        '  How to fix: start each turn on a new line with its speaker, e.g. "Interviewer: ..." '
        'and "E09: ..."; if it is a document without speakers (field notes, an answer), add '
        '`speakers: none` to its header or to copcode.yaml.')


def test_ingest_two_files_for_one_participant_is_an_error(small_project):
    write(small_project / "transcripts" / "E01-second.md", "---\nparticipant: E01\n---\nE01: Hi.\n")
    with pytest.raises(TranscriptError, match="participant E01 already has a transcript, transcripts/E01-second.md"):
        read_transcripts(open_project(small_project))


def test_ingest_missing_transcripts_folder(tmp_path):
    with pytest.raises(ProjectError) as caught:
        read_transcripts(open_project(tmp_path))
    assert caught.value.message.startswith("transcripts: the transcripts folder does not exist\n")


def test_ingest_windows_line_ends_and_bom(small_project):
    path = small_project / "transcripts" / "P02.txt"
    path.write_bytes(b"\xef\xbb\xbfINT: Hi.\r\nP02: Fine.\r\n")
    p02 = read_transcripts(open_project(small_project))[1]
    assert p02.text == "INT: Hi.\nP02: Fine.\n"
    assert p02.text[p02.turns[1].start:p02.turns[1].end] == "Fine."
