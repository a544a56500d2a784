import pytest

from copcode.codebook import load_codebook
from copcode.errors import CodebookError
from copcode.ingest import find_turns
from copcode.model import Transcript
from copcode.nlp import SPANS_KEY, build_pipeline
from copcode.segment import segment_transcript
from copcode.suggest import quote_span, suggest


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from conftest import SMALL_CODEBOOK

    path = tmp_path_factory.mktemp("cb") / "small.yaml"
    path.write_text(SMALL_CODEBOOK, encoding="utf-8")
    codebook = load_codebook(path)
    return codebook, build_pipeline(codebook)


def _cues(nlp, text):
    doc = nlp(text)
    return [(s.label_, s.text) for s in doc.spans[SPANS_KEY]]


@pytest.mark.parametrize("text, found", [
    ("We learnt a lot.", [("learn", "learnt")]),          # lemma of a cue word
    ("Learning was the point.", [("learn", "Learning")]),  # lemmas are looked up lower-cased
    ("The training helped.", [("learn", "training")]),     # an exact cue
    ("The trains were late.", []),                          # ...matches only as written
    ("I read about it.", [("learn", "read about")]),        # a token pattern
    ("My workload, no time at all.", [("time", "workload"), ("time", "no time")]),
])
def test_suggest_cues_match_lemmas_exact_words_and_patterns(small, text, found):
    assert sorted(_cues(small[1], text)) == sorted(found)


def _segments(body):
    transcript = Transcript("E01", "E01", "E01.txt", "0", body, find_turns(body, ["Interviewer"], "E01"))
    return segment_transcript(transcript)


def test_suggest_evidence_offsets_map_back_to_the_transcript(small):
    codebook, nlp = small
    body = "Interviewer: So?\nE01: It was nice. We all learnt from each other and I read about it later on.\n"
    [suggestion] = suggest(nlp, codebook, _segments(body), min_score=0.3)
    assert suggestion.code == "learn"
    located = [e for e in suggestion.evidence if "start" in e]
    assert [(e["cue"], body[e["start"]:e["end"]]) for e in located] == [
        ("learn", "learnt"), ("read about", "read about")]
    assert suggestion.score == pytest.approx(0.75 * 0.75 + 0.25 * min(1, suggestion.evidence[-1]["value"] / 0.25), abs=1e-3)


def test_suggest_exclusion_phrase_vetoes_the_code(small):
    codebook, nlp = small
    body = "E01: I learnt about my learning disability there.\n"
    assert suggest(nlp, codebook, _segments(body), min_score=0.1) == []


def test_suggest_quote_is_the_shortest_run_of_sentences_holding_the_evidence(small):
    codebook, nlp = small
    body = ("E01: The room was cold and the tea was terrible, honestly, every single time. "
            "Parking was a nightmare as well for most of us who drove in from the coast. "
            "Still, we learnt so much from the carers who came along each month to the sessions. "
            "We went home happy.\n")
    [segment] = _segments(body)
    [suggestion] = suggest(nlp, codebook, [segment], min_score=0.3)
    assert body[suggestion.quote_start:suggestion.quote_end] == (
        "Still, we learnt so much from the carers who came along each month to the sessions.")
    # a short sentence is widened to MIN_QUOTE_WORDS with its neighbours, earlier first
    start, end = quote_span(segment, [(body.index("home"), body.index("home") + 4)])
    assert body[start:end] == ("Still, we learnt so much from the carers who came along each month "
                               "to the sessions. We went home happy.")


def test_suggest_quote_keeps_the_sentence_a_quote_leans_back_on(small):
    body = ("E01: My manager said no, the rota was too tight and nobody could cover for me that month. "
            "That is why I could not go to the meetings for most of the spring.\n")
    [segment] = _segments(body)
    spot = body.index("meetings")
    start, end = quote_span(segment, [(spot, spot + 8)])
    assert body[start:end] == body[5:-1]


def test_suggest_bad_spacy_pattern_is_a_codebook_error_with_its_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nthemes:\n  - id: t\n    label: T\n    codes:\n      - id: c\n"
                    "        label: C\n        definition: D.\n        cues:\n          patterns:\n"
                    "            - [{LOWER: x, OP: '*?!'}]\n", encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        build_pipeline(load_codebook(path, display="p.yaml"))
    assert caught.value.problems == [
        "line 11: themes[0].codes[0].cues.patterns[0]: not a valid spaCy token pattern: "
        "token 1 OP: Input should be '+', '*', '?' or '!'"]
