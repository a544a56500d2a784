import pytest

from copcode.ingest import read_transcripts
from copcode.model import Transcript
from copcode.project import open_project
from copcode.segment import segment_transcript, split_sentences


@pytest.mark.parametrize("text, expected", [
    ("One. Two! Three?", ["One.", "Two!", "Three?"]),
    ("I met... a good community. Yes.", ["I met... a good community.", "Yes."]),
    ("Ask Dr. Jones. She knows.", ["Ask Dr. Jones.", "She knows."]),
    ('He said "Fine." Then left.', ['He said "Fine."', "Then left."]),
    ("Line one\nline two", ["Line one", "line two"]),
    ("[laughs] Right. OK", ["[laughs] Right.", "OK"]),
])
def test_segment_split_sentences(text, expected):
    assert [text[s:e] for s, e in split_sentences(text, 0, len(text))] == expected


def _transcript(body: str) -> Transcript:
    from copcode.ingest import find_turns

    return Transcript("E05", "E05", "E05.txt", "0", body, find_turns(body, ["Interviewer"], "E05"))


def test_segment_participant_turns_only_and_verbatim():
    body = "Interviewer: Long question. Really long.\n\nE05: Short answer.\n\nInterviewer: And?\n\nE05: Mm-hmm.\n"
    segments = segment_transcript(_transcript(body))
    assert [s.text for s in segments] == ["Short answer.", "Mm-hmm."]
    for s in segments:
        assert body[s.start:s.end] == s.text


def test_segment_long_turn_split_at_sentences_into_even_pieces():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(10)]
    body = "E05: " + " ".join(sentences) + "\n"
    segments = segment_transcript(_transcript(body), max_words=30)
    assert [len(s.sentences) for s in segments] == [3, 4, 3]
    assert " ".join(s.text for s in segments) == " ".join(sentences)


def test_segment_ids_survive_edits_elsewhere():
    body = "E05: First answer here.\n\nE05: Second answer here.\n"
    before = segment_transcript(_transcript(body))
    after = segment_transcript(_transcript("Interviewer: New question?\n\nE05: A new turn.\n\n" + body))
    assert [s.id for s in before] == [s.id for s in after][1:]
    assert before[0].id.startswith("E05-") and len(before[0].id) == 10


def test_segment_repeated_words_get_distinct_ids():
    segments = segment_transcript(_transcript("E05: Yes.\n\nInterviewer: Sure?\n\nE05: Yes.\n"))
    assert segments[1].id == segments[0].id + "-2"


def test_segment_demo_offsets_map_back(demo_copy):
    for transcript in read_transcripts(open_project(demo_copy)):
        for segment in segment_transcript(transcript):
            assert transcript.text[segment.start:segment.end] == segment.text
            turn = transcript.turns[segment.turn]
            assert turn.role == "participant" and turn.start <= segment.start < segment.end <= turn.end
