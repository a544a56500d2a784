"""copcode.learn on small synthetic data: what is learned, what stays with the cues, and that
the same data give the same model. The learning benchmark runs end to end at a tiny size."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from copcode.learn import MIN_POSITIVES, train

ROOT = Path(__file__).resolve().parent.parent
FOOD = ["meal", "lunch", "dinner", "tasty", "menu", "portion"]
FILLER = ["the", "ward", "was", "and", "staff", "today", "really", "visit", "my", "mum", "quite", "room"]
CODES = ["food", "parking", "cues-perfect"]


def corpus(seed: int = 0, units: int = 120):
    """Units: a third about food (no cue for it), two about parking (a cue for it), and a
    code whose cue marks exactly its units."""
    rng = random.Random(seed)
    texts, labels, scores = [], [], []
    for i in range(units):
        words = rng.sample(FILLER, 6)
        codes, cues = set(), {}
        if i % 3 == 0:
            words += rng.sample(FOOD, 2)
            codes.add("food")
        if i in (5, 50):
            words += ["car", "park", "full"]
            codes.add("parking")
            cues["parking"] = 0.6
        if i % 5 == 1:
            codes.add("cues-perfect")
            cues["cues-perfect"] = 0.5
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(codes)
        scores.append(cues)
    return texts, labels, scores


@pytest.fixture(scope="module")
def model():
    texts, labels, scores = corpus()
    return train(texts, labels, scores, CODES)


def test_a_code_with_many_examples_is_learned(model):
    plan = model.per_code["food"]
    assert plan.source == "learned"
    assert plan.cv_f1_cues == 0.0 and plan.cv_f1_learned > 0.9
    new = ["the lunch menu was tasty", "my mum liked the dinner portion", "the ward was quiet today"]
    assert model.decide(new, [{}, {}, {}]) == [{"food"}, {"food"}, set()]


def test_a_rare_code_falls_back_to_its_cues(model):
    plan = model.per_code["parking"]
    assert plan.positives == 2 < MIN_POSITIVES
    assert (plan.source, plan.threshold) == ("cues", 0.35)
    assert model.decide(["no car park spaces", "car park again"], [{"parking": 0.6}, {}]) == [{"parking"}, set()]
    assert model.suggest(["no car park spaces"], [{"parking": 0.6}]) == ([{}], [])  # nothing learned to say


def test_a_code_whose_cues_are_already_right_keeps_them(model):
    plan = model.per_code["cues-perfect"]
    assert plan.positives == 24 and plan.cv_f1_cues == 1.0
    assert plan.source == "cues"


def test_learned_from_counts_units_and_positives(model):
    assert model.learned_from == {"units": 120, "positives": {"food": 40, "parking": 2, "cues-perfect": 24},
                                  "known": {"food": 120, "parking": 120, "cues-perfect": 120}}
    assert model.learned_codes == ["food"]


def test_known_limits_what_a_unit_teaches():
    """A unit teaches only the codes its `known` holds: here the food units say nothing of
    parking, so parking learns from the others alone."""
    texts, labels, scores = corpus()
    known = [{"food"} if "food" in found else set(CODES) for found in labels]
    model = train(texts, labels, scores, CODES, known=known)
    assert model.learned_from["known"] == {"food": 120, "parking": 80, "cues-perfect": 80}
    assert model.learned_from["positives"]["food"] == 40
    with pytest.raises(ValueError):
        train(texts, labels, scores, CODES, known=known[:-1])


DEFINITIONS = [("food", "Food: meals, breakfast and drinks on the ward; whether patients liked what they ate.", {}),
               ("parking", "Parking: finding a space for the car near the hospital.", {"parking": 0.6})]


def test_a_codes_definition_teaches_words_no_coded_passage_used(model):
    """"breakfast" is in no coded unit, only in the codebook's definition of food: with the
    definitions the model suggests food for it, and names the word."""
    texts, labels, scores = corpus()
    told = train(texts, labels, scores, CODES, definitions=DEFINITIONS)
    new = ["breakfast was cold", "the ward was quiet today", "the lunch menu was tasty"]
    assert model.decide(new, [{}, {}, {}]) == [set(), set(), {"food"}]
    assert told.decide(new, [{}, {}, {}]) == [{"food"}, set(), {"food"}]
    assert told.suggest(["breakfast was cold"], [{}])[0][0]["food"].words == ["breakfast"]


def test_definitions_are_not_decisions(model):
    """A definition counts in no figure of what was learned from, and does not make a code
    learnable: parking, with two coded units and a definition, keeps to its cues. The
    definition of a code the model is not asked about is left out."""
    texts, labels, scores = corpus()
    told = train(texts, labels, scores, CODES, definitions=DEFINITIONS)
    assert told.learned_from == model.learned_from
    assert told.learned_codes == ["food"]
    assert (told.per_code["parking"].source, told.per_code["parking"].positives) == ("cues", 2)
    other = train(texts, labels, scores, CODES, definitions=DEFINITIONS + [("not-a-code", "a lunch menu", {})])
    assert other.per_code["food"].coef.tolist() == told.per_code["food"].coef.tolist()
    assert other.vectorizer.vocabulary_ == told.vectorizer.vocabulary_


def test_definition_texts_are_label_definition_and_include_not_examples():
    from copcode.codebook import load_codebook
    from copcode.learn import definition_texts

    codebook = load_codebook(ROOT / "codebooks" / "cop.yaml")
    texts = definition_texts(codebook)
    assert [code for code, _ in texts] == [code.id for code in codebook.codes]
    code = codebook.codes[0]
    assert texts[0][1] == f"{code.label} {code.definition.strip()} {code.include.strip()}"
    assert texts[0][1].startswith("Broad topics & an inclusive learning environment The COP as a place where ")
    assert not any(quote[:40] in text for code in codebook.codes for quote in code.example_quotes()
                   for _, text in texts)


def test_a_definition_that_repeats_the_label_is_said_once(tmp_path):
    """A codebook imported from NVivo without descriptions has each label as its definition."""
    from copcode.codebook import load_codebook
    from copcode.learn import definition_texts

    path = tmp_path / "imported.yaml"
    path.write_text("name: imported\nthemes:\n  - id: t\n    label: T\n    codes:\n"
                    "      - {id: waiting, label: Waiting times, definition: Waiting times}\n"
                    "      - {id: food, label: Food, definition: Meals, include: Food}\n", encoding="utf-8")
    assert definition_texts(load_codebook(path)) == [("waiting", "Waiting times"), ("food", "Food Meals")]


def test_a_learned_suggestion_names_words_from_the_positives(model):
    words = model.suggest(["the ward served a tasty lunch and a poor dinner"], [{}])[0][0]["food"].words
    # the food units' words, strongest first; not "the", "ward" or "served", which say nothing of food
    assert words == ["tasty", "lunch", "dinner"]


def test_a_learned_suggestion_leaves_out_words_that_explain_nothing():
    """The stubs of "isn't" and "we've", transcription marks and words with digits push as much
    as any word, but a reader learns nothing from them."""
    texts, labels, scores = corpus()
    noisy = [text + (" isn ve pause 7b" if "food" in codes else "") for text, codes in zip(texts, labels)]
    model = train(noisy, labels, scores, CODES)
    words = model.suggest(["isn ve pause 7b tasty lunch"], [{}], limit=10)[0][0]["food"].words
    assert words and set(words) <= {"tasty", "lunch"}


def test_a_learned_code_that_would_flood_the_texts_keeps_to_its_cues():
    """A model sure of a code everywhere (its intercept pushed up here) would suggest it on
    every text, where its coders gave it to about one passage in seven: it keeps to its cues,
    and `suggest` says so."""
    from copcode.learn import FLOOD_MIN

    texts, labels, scores = corpus()
    rows = [i for i in range(len(texts)) if i % 3 or i % 9 == 0]  # a third of the food units
    model = train([texts[i] for i in rows], [labels[i] for i in rows], [scores[i] for i in rows], CODES)
    assert model.per_code["food"].source != "cues" and model.per_code["food"].positives == 14
    model.per_code["food"].intercept = 50.0
    new = ["the ward was quiet today"] * FLOOD_MIN
    cues = [{"food": 0.5}] + [{}] * (FLOOD_MIN - 1)
    assert [sorted(found) for found in model.decide(new, cues)] == [["food"]] + [[]] * (FLOOD_MIN - 1)
    found, flooding = model.suggest(new, cues)
    assert flooding == ["food"] and found == [{}] * FLOOD_MIN
    # fewer texts than FLOOD_MIN say too little: the model decides
    assert model.decide(new[:3], cues[:3]) == [{"food"}] * 3


def test_an_either_code_says_which_suggestions_the_model_made():
    """An "either" code is suggested where the model or its cues say so; a suggestion its cues
    made alone is theirs (their score, and it needed min_score), and `suggest` says so, so that
    it is not shown as a learned suggestion that fell short of the model's threshold."""
    texts, labels, scores = corpus()
    model = train(texts, labels, scores, CODES)
    model.per_code["food"].source = "either"
    found, _ = model.suggest(["the ward was quiet today", "the lunch menu was tasty"], [{"food": 0.5}, {}])
    cue_made, model_made = found[0]["food"], found[1]["food"]
    assert (cue_made.score, cue_made.by_model) == (0.5, False)
    assert model_made.score >= model.per_code["food"].threshold and model_made.by_model is True


def test_training_is_deterministic(model):
    texts, labels, scores = corpus()
    again = train(texts, labels, scores, CODES)
    probe = ["lunch was fine", "car park", "the menu", "staff were kind"]
    cues = [{}, {"parking": 0.6}, {}, {"cues-perfect": 0.5}]
    assert again.suggest(probe, cues) == model.suggest(probe, cues)  # scores and words alike
    assert (again.per_code["food"].coef == model.per_code["food"].coef).all()
    assert again.per_code["food"].threshold == model.per_code["food"].threshold


def test_codes_without_a_unit_and_mismatched_inputs():
    texts, labels, scores = corpus(units=30)
    found = train(texts, labels, scores, CODES + ["never-seen"])
    assert found.per_code["never-seen"].source == "cues"
    assert "never-seen" not in found.decide(["the ward was quiet today"], [{}])[0]
    with pytest.raises(ValueError, match="as long as each other"):
        train(texts, labels[:-1], scores, CODES)


def test_a_code_can_be_learned_from_the_question_a_passage_answers():
    """Answers of filler words: what tells them apart is the question before them, whose cues
    matched "visits" (its own code here, standing for any code of the codebook)."""
    rng = random.Random(0)
    texts = [" ".join(rng.sample(FILLER, 6)) for _ in range(90)]
    labels = [{"visits"} if i % 3 == 0 else set() for i in range(90)]
    asked = [{"visits": 0.5} if i % 3 == 0 else {} for i in range(90)]
    model = train(texts, labels, [{}] * 90, ["visits"], asked=asked)
    assert model.per_code["visits"].source == "learned"
    answers = ["the staff were really quite good", "my mum was in the room"]
    assert model.decide(answers, [{}, {}], [{"visits": 0.5}, {}]) == [{"visits"}, set()]
    assert model.decide(answers, [{}, {}]) == [set(), set()]  # no question: nothing to go on
    found, _ = model.suggest(answers, [{}, {}], [{"visits": 0.5}, {}])
    assert found[1] == {} and found[0]["visits"].asked == ["visits"]  # said to come after the question
    with pytest.raises(ValueError, match="as long as each other"):
        train(texts, labels, [{}] * 90, ["visits"], asked=asked[:-1])


def test_a_code_learned_from_another_codes_cues_says_so():
    """Passages of filler words whose only sign is that the cues of "parking" matched them,
    where the coders gave them "visits": a learned "visits" suggestion names those cues, where
    its words explain nothing."""
    rng = random.Random(1)
    texts = [" ".join(rng.sample(FILLER, 6)) for _ in range(90)]
    labels = [{"visits"} if i % 3 == 0 else set() for i in range(90)]
    scores = [{"parking": 0.5} if i % 3 == 0 else {} for i in range(90)]
    model = train(texts, labels, scores, ["visits", "parking"])
    assert model.per_code["visits"].source == "learned"
    found, _ = model.suggest(["the staff were really quite good"], [{"parking": 0.5}])
    assert found[0]["visits"].cues == ["parking"] and found[0]["visits"].asked == []


def test_units_that_answer_no_question_give_the_question_no_weight(model):
    """Units that answer no question (a survey's): `asked` of empty scores is no `asked`, and
    the question's columns, all 0, get weight 0, so the words and cues decide as they did
    before questions were read."""
    texts, labels, scores = corpus()
    same = train(texts, labels, scores, CODES, asked=[{}] * len(texts))
    probe = ["the lunch menu was tasty", "car park full", "the ward was quiet today"]
    cues = [{}, {"parking": 0.6}, {"cues-perfect": 0.5}]
    assert same.suggest(probe, cues) == model.suggest(probe, cues)
    assert all((same.per_code[c].coef[-len(CODES):] == 0).all() for c in same.learned_codes)


def test_no_units_or_no_words_leave_every_code_to_its_cues():
    empty = train([], [], [], ["a"])
    assert empty.learned_from == {"units": 0, "positives": {"a": 0}, "known": {"a": 0}}
    assert empty.decide(["x", "y"], [{"a": 0.5}, {"a": 0.2}]) == [{"a"}, set()]
    assert empty.decide([], []) == [] and empty.suggest([], []) == ([], [])
    marks = train(["-", ".", "!"] * 3, [{"a"}, set(), set()] * 3, [{}] * 9, ["a"])
    assert marks.per_code["a"].source == "cues"


def test_macro_precision_is_undefined_when_no_code_has_a_precision():
    """As micro's is: nothing was suggested at all. A code nothing suggested counts 0 only
    beside codes that have one (scikit-learn's zero_division=0)."""
    from copcode.learn import evaluate

    texts = ["one", "two", "three", "four"]
    rows = {row["code"]: row for row in evaluate(texts, [{"a"}, set(), {"a"}, {"b"}], [{}] * 4, ["T1", "T1", "T2", "T2"],
                                                 ["a", "b"], folds=2)}
    assert (rows["micro"]["cues_precision"], rows["macro"]["cues_precision"]) == (None, None)
    assert rows["macro"]["cues_recall"] == 0.0
    rows = {row["code"]: row for row in evaluate(texts, [{"a"}, set(), {"a"}, {"b"}], [{"a": 0.5}, {}, {}, {}],
                                                 ["T1", "T1", "T2", "T2"], ["a", "b"], folds=2)}
    assert (rows["a"]["cues_precision"], rows["b"]["cues_precision"], rows["macro"]["cues_precision"]) == (1.0, None, 0.5)


def test_cue_scores_are_copcode_suggestions_for_each_text():
    from copcode.codebook import load_codebook
    from copcode.learn import cue_scores

    codebook = load_codebook(ROOT / "codebooks" / "cop.yaml")
    found = cue_scores(codebook, ["They used so much jargon and acronyms, it went over my head.", "", "Hello."])
    assert set(found[0]) == {"shared-language"} and found[0]["shared-language"] >= 0.35
    assert found[1:] == [{}, {}]


def test_evaluate_scores_each_group_with_a_model_that_never_saw_it():
    from copcode.learn import evaluate

    texts, labels, scores = corpus(units=120)
    groups = [f"T{i // 20}" for i in range(120)]  # six transcripts of 20 units
    rows = evaluate(texts, labels, scores, groups, CODES, folds=3)
    by_code = {row["code"]: row for row in rows}
    assert [row["code"] for row in rows] == CODES + ["micro", "macro"]
    assert by_code["food"]["gold"] == 40
    assert (by_code["food"]["cues_f1"], by_code["food"]["learning_f1"]) == (0.0, 1.0)
    assert by_code["cues-perfect"]["cues_f1"] == by_code["cues-perfect"]["learning_f1"] == 1.0
    assert by_code["cues-perfect"]["best_cue_threshold"] is None  # perfect at min_score: nothing to change
    assert by_code["parking"]["learning_f1"] == by_code["parking"]["cues_f1"] == 1.0
    assert by_code["micro"]["learning_f1"] == 1.0 and by_code["macro"]["learning_f1"] == 1.0
    # cue scores only on passages without the code: no threshold helps, so none is given
    misleading = [{**s, "food": 0.4} if "food" not in found else s for s, found in zip(scores, labels)]
    food = next(r for r in evaluate(texts, labels, misleading, groups, CODES, folds=3) if r["code"] == "food")
    assert (food["cues_f1"], food["best_cue_threshold"]) == (0.0, None)
    # lower cue scores on half the passages without the code: a threshold above them is the hint
    noisy = [{**s, "cues-perfect": 0.4} if "cues-perfect" not in found and i % 2 else s
             for i, (s, found) in enumerate(zip(scores, labels))]
    perfect = next(r for r in evaluate(texts, labels, noisy, groups, CODES, folds=3) if r["code"] == "cues-perfect")
    assert (perfect["cues_f1"] < 1.0, perfect["best_cue_threshold"]) == (True, 0.5)
    told = []
    assert evaluate(texts, labels, scores, groups, CODES, folds=3, on_progress=lambda *fold: told.append(fold)) == rows
    # the folds to come, then each fold as it is done, for `copcode evaluate`'s progress bar
    assert told == [(0, 3), (1, 3), (2, 3), (3, 3)]


PATIENT = ROOT.parent / "shared" / "data" / "patient-feedback"


@pytest.mark.skipif(not (PATIENT / "train.csv").exists(), reason="the shared patient comments are not beside the repo")
def test_learning_benchmark_runs_end_to_end_and_prints_the_tables():
    script = ROOT / "benchmarks" / "learning.py"
    result = subprocess.run([sys.executable, str(script), "--limit", "300", "--sizes", "50,100",
                             "--comments", "1000", "--decisions", "200", "--choices", "2"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.startswith("| ")]
    assert rows[0] == ("| trained on | cues alone micro / macro | cues + learning micro / macro | codes learned "
                       "| training s |")
    assert [row.split(" | ")[0] for row in rows[2:5]] == ["| 50", "| 100", "| all (240)"]
    assert rows[5] == "| | micro F1 | macro F1 | codes learned | training s |"
    assert [row.split(" | ")[0] for row in rows[7:9]] == ["| cues alone", "| cues + learning"]
    assert rows[9] == "| | micro F1 | macro F1 |"
    assert [row.split(" | ")[0] for row in rows[11:13]] == ["| cues alone", "| cues + learning"]
    assert rows[13] == "| | micro F1 | gain over the cues |"
    assert [row.split(" | ")[0] for row in rows[15:18]] == ["| cues alone", "| cues + learning",
                                                             "| without the definitions"]
    assert "Demo, 2 random choices of the seven coded transcripts (random.Random(12345))" in result.stdout
    assert any(line.startswith("Scale: train on 200 coded comments, then predict 1,000: ") for line in lines)


def test_folds_whose_other_transcripts_hold_one_class_are_left_at_zero():
    """Whole transcripts dealt to folds can leave a fold's training part with positives only
    (here the negatives are all in one transcript): that fold learns nothing, and no error."""
    texts = ["we ate a tasty lunch", "lunch was tasty", "a tasty meal", "the meal was good",
             "parking was hard", "no parking at all", "parking costs", "car park full"]
    labels = [{"food"}] * 4 + [set()] * 4
    groups = ["A", "A", "B", "B", "C", "C", "C", "C"]
    model = train(texts, labels, [{} for _ in texts], ["food"], groups=groups)
    assert model.per_code["food"].positives == 4
    import numpy

    from copcode.learn import FOLDS, _cross_validated, _vectorizer

    # two folds: A's units held out (B and C teach), then B's and C's (A alone teaches: positives only)
    words = _vectorizer().fit(texts).transform(texts)
    held_out = _cross_validated(words, numpy.array([1] * 4 + [0] * 4), FOLDS, groups)
    assert (held_out[:2] > 0).all() and (held_out[2:] == 0).all()
    # 0.67 cross-validated, no better than suggesting it everywhere: kept to its cues
    assert (model.per_code["food"].source, model.per_code["food"].cv_f1_learned) == ("cues", 0.6667)


def test_a_learned_suggestions_evidence_names_the_cues_and_the_question_that_pushed_it():
    from copcode.tables import evidence_shown

    item = {"kind": "learned", "words": [], "cues": ["stigma", "cost-of-living"], "asked": ["income-shock"],
            "passages": 20, "positives": 4, "threshold": 0.4}
    assert evidence_shown([item]) == ["learned: - (from 20 coded passages, 4 with the code; with the cues of "
                                      "stigma, cost-of-living; after a question on income-shock)"]
    older = {k: v for k, v in item.items() if k not in ("cues", "asked")}  # stored before either was kept
    assert evidence_shown([older]) == ["learned: - (from 20 coded passages, 4 with the code)"]
