"""Suggestions learned from the coders' decisions, combined with the codebook's cues.

A unit is a passage (a segment, or a survey answer) of a document someone coded, with the set
of codes it carries; every other code is a negative for it (the absence a coded document
implies). Per code, a logistic regression reads the TF-IDF weights of the passage's words, the
cue scores of every code (`cue_scores`: copcode's own suggestions as the store keeps them, 0
where a code is not suggested) and the cue scores of the interviewer's question just before
the passage (`asked`: what the passage answers; none in a survey). The codebook's own words
join every fit: each code's label, definition and include text (`definition_texts`) count as
DEFINITION_WEIGHT passages that carry the code and no other, so a model that has seen a few
dozen coded passages already knows the words a researcher used to define each code. They are
never scored, and they never make a code learnable. A code is learned when it
has at least `min_positives` positive units, not every unit positive, in two transcripts or
more (`groups`), and, cross-validated inside the training units (a transcript's units held
out together), the model beats both the cues' F1 for it and suggesting it everywhere: then
it is suggested when its probability reaches the
threshold with the best cross-validated F1 ("learned"), or when that or its cues say so,
whichever of the two did better ("either"). Otherwise it is suggested from its cues alone, as
without learning.

The vocabulary and its IDF weights are fitted once on all the training units, so the folds
that choose each code's threshold see the held-out units' words (not their codes): a slight
optimism in those cross-validated figures, which only choose; `evaluate` fits everything
afresh per fold, and is the figure to quote.

Everything is deterministic: fixed folds, fixed seeds, and solvers without randomness. Heavy
imports (scikit-learn, numpy, scipy) happen inside functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

# Below this many positive units a code keeps to its cues: 3 folds need one positive each.
# On the patient comments 3, 5 and 8 gave figures within 0.03 of each other, 3 the best with
# 100 coded comments (benchmarks/learning.py); cross-validation guards the rest.
MIN_POSITIVES = 3
FOLDS = 3
# The cue scores are multiplied by this before they join the word features (whose rows have
# length 1); 0.5, 1 and 3 were measured on the patient comments and the demo, 1 was best or
# within 0.01 on both.
CUE_FEATURE_SCALE = 1.0
STRONGEST = 5
# A code's definition counts as this many passages coded with it (`definition_texts`). Over 40
# random choices of seven coded demo transcripts, 2 to 8 gave a mean gain over the cues within
# 0.002 of 4's, and no definitions 0.015 less; on the patient comments (benchmarks/learning.py)
# 2 to 8 were within 0.02 of each other at every size (docs/design.md).
DEFINITION_WEIGHT = 4
# A learned code chosen on more than FLOOD times the share of passages its coders gave it (or
# its cues suggest it on, if more) keeps to its cues. On the patient comments (benchmarks/
# learning.py) this dropped one to three codes a run below 1,000 coded comments, with micro
# precision of 0.02 to 0.23, and raised micro F1 by 0.01 to 0.04; 2 did as well or a little
# better, 5 missed most of them. Below FLOOD_MIN texts a share says too little.
FLOOD = 3
FLOOD_MIN = 50
# Words that explain nothing to a reader, beside scikit-learn's stop words: what is left of
# "isn't" or "we've" once the tokenizer drops the apostrophe, and transcription marks. Words
# with digits are left out too (the end of a postcode or a phone number is no explanation).
UNEXPLAINING = frozenset("""aren couldn didn doesn don hadn hasn haven isn ll mustn needn shan shouldn ve wasn weren
    won wouldn yeah yes okay ok um uh er erm mm hmm laughs laughter pause inaudible crosstalk unclear""".split())


class Learned(NamedTuple):
    """A learned code's suggestion on a text (`Model.suggest`)."""

    score: float
    words: list[str]  # the text's words that push it most towards the code
    cues: list[str]  # the other codes whose cues in the text push it
    asked: list[str]  # the codes whose cues in the question before the text push it
    by_model: bool  # the model suggests it (else an "either" code's cues alone did)


@dataclass
class CodeModel:
    """How one code is decided: `source` is "learned" (the learned probability reaches
    `threshold`), "either" (that, or the cue score reaches the model's `min_score`) or "cues"
    (the cue score reaches `threshold`, as without learning)."""

    code: str
    source: str
    threshold: float
    positives: int
    cv_f1_learned: float | None = None
    cv_f1_cues: float | None = None
    coef: Any = None  # the code's weights over the features (a numpy array), when learned
    intercept: float = 0.0


@dataclass
class Model:
    """A trained model: per code, how it is decided. `learned_from` counts the units (and
    their positives per code) the model was trained on."""

    codes: list[str]
    per_code: dict[str, CodeModel]
    vectorizer: Any  # a fitted sklearn TfidfVectorizer; None when no code could be learned
    min_score: float
    learned_from: dict = field(default_factory=dict)

    @property
    def learned_codes(self) -> list[str]:
        """The codes decided (wholly or partly) by what was learned."""
        return [c for c in self.codes if self.per_code[c].source != "cues"]

    def decide(self, texts: Sequence[str], cue_scores: Sequence[dict[str, float]],
               asked: Sequence[dict[str, float]] | None = None) -> list[set[str]]:
        """Per text, the codes to suggest: for a learned code, its probability reaching the
        code's threshold, or for a code whose source is "either", also a cue score reaching
        `min_score`; for the others, and a learned code that would flood these texts (see
        `_choices`), the cue score reaching `min_score`. `asked`: the cue scores of the
        question before each text, as `train` took them."""
        import numpy

        decided: list[set[str]] = [set() for _ in texts]
        learned = {}
        if self.learned_codes:
            features = self._features(texts, cue_scores, asked)
            learned = {code: chosen for code, _, _, chosen, flooded in self._choices(texts, cue_scores, features)
                       if not flooded}
        for code in self.codes:
            chosen = learned.get(code)
            if chosen is None:
                chosen = numpy.array([scores.get(code, 0.0) for scores in cue_scores]) >= self.min_score
            for i in numpy.flatnonzero(chosen):
                decided[i].add(code)
        return decided

    def _choices(self, texts, cue_scores, features):
        """Per learned code: (code, its probabilities, where they reach its threshold, where it
        is chosen, whether it floods); `features`: `_features` of the texts.
        A code floods when, over at least FLOOD_MIN texts, it would be chosen on more than
        FLOOD times the larger of the share of coded passages its coders gave it and the share
        its cues suggest it on here: a model that learned from a handful of examples can rate
        half a survey above a low threshold."""
        import numpy

        for code in self.learned_codes:
            plan = self.per_code[code]
            probability = _probability(features, plan)
            cue = numpy.array([scores.get(code, 0.0) for scores in cue_scores]) >= self.min_score
            learned = probability >= plan.threshold
            chosen = learned | cue if plan.source == "either" else learned
            share = plan.positives / max(1, self.learned_from["known"][code])
            flooded = len(texts) >= FLOOD_MIN and chosen.sum() > FLOOD * len(texts) * max(share, cue.mean())
            yield code, probability, learned, chosen, flooded

    def suggest(self, texts: Sequence[str], cue_scores: Sequence[dict[str, float]],
                asked: Sequence[dict[str, float]] | None = None, limit: int = STRONGEST) \
            -> tuple[list[dict[str, Learned]], list[str]]:
        """Per text, for each learned code `decide` suggests, a `Learned`: its score (the
        learned probability, or for an "either" code suggested by its cues alone, not by the
        model, the cue score), the words of the text that push it most towards the code,
        strongest first, leaving out words like "the" or "they", which the model may weigh but
        which explain nothing to a reader, the other codes whose cues in the text, and the
        codes whose cues in the question before it (`asked`), push it towards the code,
        strongest first, and whether the model suggests it. One pass over the texts for every
        suggestion at once. Second, the learned codes that would flood these texts, which keep
        to their cues (none of them in the first)."""
        import numpy

        out: list[dict[str, Learned]] = [{} for _ in texts]
        flooding: list[str] = []
        if not self.learned_codes:
            return out, flooding
        features = self._features(texts, cue_scores, asked)
        vocabulary, codes = len(self.vectorizer.vocabulary_), len(self.codes)
        words = features[:, :vocabulary].tocsr()
        cues = features[:, vocabulary:vocabulary + codes].toarray()
        questions = features[:, vocabulary + codes:].toarray()
        for code, probability, learned, chosen, flooded in self._choices(texts, cue_scores, features):
            if flooded:
                flooding.append(code)
                continue
            plan = self.per_code[code]
            rows = numpy.flatnonzero(chosen)
            pushes = words[rows].multiply(plan.coef[:vocabulary]).tocsr()
            cue_pushes = cues[rows] * plan.coef[vocabulary:vocabulary + codes]
            cue_pushes[:, self.codes.index(code)] = 0  # its own cues are the suggestion's cue items
            asked_pushes = questions[rows] * plan.coef[vocabulary + codes:]
            # most rows: no other code's cues, no question matching a cue (looked at once, here)
            by_cues, by_question = (cue_pushes > 0).any(axis=1), (asked_pushes > 0).any(axis=1)
            for n, i in enumerate(rows):
                score = float(probability[i]) if learned[i] else float(cue_scores[int(i)].get(code, 0.0))
                out[i][code] = Learned(round(score, 3), self._strongest(pushes, n, limit),
                                       self._pushing(cue_pushes[n]) if by_cues[n] else [],
                                       self._pushing(asked_pushes[n]) if by_question[n] else [], bool(learned[i]))
        return out, flooding

    def _pushing(self, pushes) -> list[str]:
        """The codes whose column in `pushes` (one per code) is above 0, strongest first."""
        return [c for _, c in sorted((-push, c) for c, push in zip(self.codes, pushes) if push > 0)]

    def _strongest(self, pushes, n: int, limit: int) -> list[str]:
        """Row `n` of `pushes` (a CSR matrix of each word's push towards a code): its words that
        push most, strongest first (ties by word), without function words."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        names = self._names
        # the row's entries read straight from the CSR arrays: a getrow() per suggestion cost
        # seconds on 80,000 suggestions
        at = slice(pushes.indptr[n], pushes.indptr[n + 1])
        strongest = sorted((-float(v), str(names[c])) for c, v in zip(pushes.indices[at], pushes.data[at])
                           if v > 0 and names[c] not in ENGLISH_STOP_WORDS and names[c] not in UNEXPLAINING
                           and names[c].isalpha())
        return [word for _, word in strongest[:limit]]

    @cached_property
    def _names(self):
        """The vocabulary's words by column, built once (every suggestion looks them up)."""
        return self.vectorizer.get_feature_names_out()

    def _features(self, texts, cue_scores, asked=None):
        """The words' TF-IDF weights, then the cue scores of each code for the text, then
        those of its question (`asked`; all 0 when none)."""
        import numpy
        from scipy import sparse

        def matrix(scores_of):
            return numpy.array([[scores.get(c, 0.0) for c in self.codes] for scores in scores_of],
                               dtype=float).reshape(len(texts), len(self.codes)) * CUE_FEATURE_SCALE

        words = self.vectorizer.transform(list(texts)) if len(texts) else \
            sparse.csr_matrix((0, len(self.vectorizer.vocabulary_)))
        questions = matrix(asked) if asked is not None else numpy.zeros((len(texts), len(self.codes)))
        return sparse.hstack([words, sparse.csr_matrix(matrix(cue_scores)), sparse.csr_matrix(questions)],
                             format="csr")


def _probability(features, plan: CodeModel):
    """The learned probability of `plan`'s code for each row of `features`."""
    import numpy

    return 1.0 / (1.0 + numpy.exp(-(numpy.asarray(features @ plan.coef).ravel() + plan.intercept)))


def train(texts: Sequence[str], labels: Sequence[Iterable[str]], cue_scores: Sequence[dict[str, float]],
          codes: Sequence[str], *, min_score: float = 0.35, min_positives: int = MIN_POSITIVES,
          folds: int = FOLDS, known: Sequence[Iterable[str]] | None = None,
          groups: Sequence[str] | None = None, asked: Sequence[dict[str, float]] | None = None,
          definitions: Sequence[tuple[str, str, dict[str, float]]] = ()) -> Model:
    """A model from coded units: `texts[i]` carries the codes `labels[i]` (and none of the
    others), and `cue_scores[i]` are copcode's cue suggestions for it ({code: score}, as
    stored at `min_score`); `asked[i]`, those of the question before it, when it answers one.
    `definitions`: (code, text, cue scores) of the codebook's words for each code
    (`definition_texts`), which join every fit (DEFINITION_WEIGHT times, as units carrying
    their code and no other) and are never scored.
    With `known`, a code teaches only from the units whose `known[i]` holds it (a unit says
    nothing of a theme its coder did not code). With
    `groups` (each unit's transcript), the cross-validation that decides whether and how a
    code is learned keeps a transcript's units together, and a code whose positives are all
    in one transcript is not learned: passages of one interview share their words, so a model
    scored on the interview it learned from looks better than it is. Codes outside `codes`
    are ignored."""
    import numpy

    if any(len(given) != len(texts) for given in (labels, cue_scores, known, groups, asked) if given is not None):
        raise ValueError("texts, labels, cue_scores, known, groups and asked must be as long as each other")
    codes = list(codes)
    sets, rows_of, positives, learnable = _learnable(labels, codes, known, groups, min_positives)
    model = Model(codes, {}, None, min_score,
                  {"units": len(texts), "positives": positives, "known": {c: len(rows_of[c]) for c in codes}})
    definitions = [d for d in definitions if d[0] in codes]
    if learnable:  # else scikit-learn is not even imported (2 s on a busy machine)
        model.vectorizer = _vectorizer()
        try:
            model.vectorizer.fit(list(texts) + [text for _, text, _ in definitions])
        except ValueError:  # no word at all (only punctuation): nothing to learn from words
            model.vectorizer.fit(["nothing"])
        all_features = model._features(texts, cue_scores, asked)
        told = numpy.repeat(numpy.arange(len(definitions)), DEFINITION_WEIGHT)
        told_features = model._features([text for _, text, _ in definitions],
                                         [scores for _, _, scores in definitions])[told]
    for code in codes:
        rows = rows_of[code]
        y = numpy.array([code in sets[i] for i in rows], dtype=int)
        cue = numpy.array([cue_scores[int(i)].get(code, 0.0) for i in rows])
        cues_f1 = _f1(y, cue >= min_score)
        plan = CodeModel(code, "cues", min_score, positives[code], cv_f1_cues=round(cues_f1, 4))
        model.per_code[code] = plan
        if code not in learnable:
            continue
        features = all_features[rows]
        told_y = numpy.array([definitions[i][0] == code for i in told], dtype=int)
        in_groups = [groups[int(i)] for i in rows] if groups is not None else None
        held_out = _cross_validated(features, y, folds, in_groups, (told_features, told_y))
        threshold, learned_f1 = _best_threshold(y, held_out)
        either, either_f1 = _best_threshold(y, held_out, cue >= min_score)
        plan.cv_f1_learned = round(max(learned_f1, either_f1), 4)
        # a model must beat the cues, and also suggesting the code everywhere (which a model
        # that learned nothing does at a low threshold)
        if max(learned_f1, either_f1) <= max(cues_f1, _f1(y, numpy.ones(len(y)))):
            continue
        fitted = _fit(features, y, (told_features, told_y))
        if either_f1 > learned_f1:
            plan.source, plan.threshold = "either", either
        else:
            plan.source, plan.threshold = "learned", threshold
        plan.coef, plan.intercept = fitted.coef_.ravel(), float(fitted.intercept_[0])
    return model


def learnable(labels: Sequence[Iterable[str]], codes: Sequence[str], *, known: Sequence[Iterable[str]] | None = None,
              groups: Sequence[str] | None = None, min_positives: int = MIN_POSITIVES) -> list[str]:
    """The codes `train` would try to learn from these units (it keeps those that beat their
    cues): at least `min_positives` positive units, not all of them, in two groups or more."""
    return _learnable(labels, list(codes), known, groups, min_positives)[3]


def _learnable(labels, codes: list[str], known, groups, min_positives):
    """`learnable`, with what it found on the way: each unit's codes (a set), the rows that
    know each code, and each code's positives."""
    import numpy

    sets = [set(found) for found in labels]
    knows = [set(k) for k in known] if known is not None else None
    rows_of = {c: numpy.array([i for i, k in enumerate(knows) if c in k], dtype=int) if knows is not None
               else numpy.arange(len(sets)) for c in codes}
    positives = {c: sum(c in sets[i] for i in rows_of[c]) for c in codes}
    found = [c for c in codes if min_positives <= positives[c] < len(rows_of[c]) and
             (groups is None or len({groups[int(i)] for i in rows_of[c] if c in sets[i]}) >= 2)]
    return sets, rows_of, positives, found


def cue_scores(codebook, texts: Sequence[str], min_score: float = 0.35, nlp=None) -> list[dict[str, float]]:
    """Per text, copcode's cue suggestions for it as {code: score} (only scores reaching
    `min_score`, as the store keeps them). Texts are scored as one passage each, in memory."""
    from copcode.suggest import Suggester, text_entries

    if nlp is None:
        from copcode.nlp import build_pipeline

        nlp = build_pipeline(codebook)
    return [{found["code"]: found["score"] for found in entries}
            for entries in text_entries(texts, Suggester(nlp, codebook, min_score))]


def _vectorizer():
    """Word unigrams: on the patient comments and the demo, adding bigrams, English stop
    words or character 2-5-grams changed F1 by at most 0.02 either way, and cost time."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, strip_accents="unicode")


def _classifier():
    from sklearn.linear_model import LogisticRegression

    # liblinear's dual solver is deterministic and fast when there are about as many features
    # as units or more (0.2 s a code on 5,000 comments, against 0.5 s primal and 6 s lbfgs);
    # balanced weights keep a code with few positives from being learned as "never"; C=4 was
    # within 0.02 of C=1 and C=10.
    return LogisticRegression(solver="liblinear", dual=True, C=4.0, class_weight="balanced",
                              max_iter=1000, random_state=0)


def _fit(features, y, told=None):
    """The code's classifier fitted on `features` and `y`, and the rows of `told` (features,
    y: the codebook's definitions, `train`); liblinear's "failed to converge" after max_iter
    is not shown (the library prints nothing, and the weights are usable)."""
    import warnings

    import numpy
    from scipy import sparse
    from sklearn.exceptions import ConvergenceWarning

    if told is not None and told[0].shape[0]:
        features, y = sparse.vstack([features, told[0]], format="csr"), numpy.concatenate([y, told[1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _classifier().fit(features, y)


def _cross_validated(features, y, folds: int, groups=None, told=None):
    """Held-out probabilities for every unit, from `folds` stratified folds (fixed seed);
    with `groups`, a group's units are held out together; `told` (the definitions, `_fit`)
    joins every fold's fit."""
    import numpy

    splits = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if groups is not None:
        splits = min(splits, len({g for g, v in zip(groups, y) if v}), len(set(groups)))
    out = numpy.zeros(len(y))
    if splits < 2:
        return out
    for fit_rows, score_rows in _folds(y, groups, splits):
        if len(set(y[fit_rows].tolist())) < 2:
            continue  # (whole groups) the others hold one class only: nothing to learn, all 0 here
        fitted = _fit(features[fit_rows], y[fit_rows], told)
        out[score_rows] = fitted.predict_proba(features[score_rows])[:, 1]
    return out


def _folds(y, groups, splits: int):
    """(fit rows, score rows) of `splits` folds that share out the positives evenly, keeping
    each group's units in one fold: groups (each unit its own, without `groups`) are dealt in
    turn to the folds, those with the most positives first, ties in a fixed random order. One
    pass over the units: scikit-learn's StratifiedGroupKFold took 45 s on 5,000 survey answers
    (a group each) for 40 codes."""
    import numpy

    if groups is None:
        groups = range(len(y))
    positives: dict = {}
    for group, value in zip(groups, y):
        positives[group] = positives.get(group, 0) + int(value)
    names = sorted(positives, key=str)
    shuffle = dict(zip(names, numpy.random.RandomState(0).permutation(len(names))))
    fold_of = {group: n % splits for n, group in
               enumerate(sorted(names, key=lambda g: (-positives[g], shuffle[g])))}
    assigned = numpy.array([fold_of[group] for group in groups])
    for fold in range(splits):
        yield numpy.flatnonzero(assigned != fold), numpy.flatnonzero(assigned == fold)


def _best_threshold(y, probabilities, also=None) -> tuple[float, float]:
    """The threshold (of 0.1, 0.15, ... 0.9) with the best F1, ties to the one nearest 0.5;
    with `also`, a unit counts as positive when it is either over the threshold or `also`."""
    import numpy

    also = numpy.zeros(len(y), dtype=bool) if also is None else also
    best = (0.5, _f1(y, (probabilities >= 0.5) | also))
    for step in range(2, 19):
        threshold = step / 20
        f1 = _f1(y, (probabilities >= threshold) | also)
        if f1 > best[1] + 1e-9 or (abs(f1 - best[1]) <= 1e-9 and abs(threshold - 0.5) < abs(best[0] - 0.5)):
            best = (threshold, f1)
    return best


def _f1(y, predicted) -> float:
    import numpy

    predicted = numpy.asarray(predicted, dtype=bool)
    truth = numpy.asarray(y, dtype=bool)
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def evaluate(texts: Sequence[str], labels: Sequence[Iterable[str]], cue_scores: Sequence[dict[str, float]],
             groups: Sequence[str], codes: Sequence[str], *, min_score: float = 0.35,
             folds: int = 5, known: Sequence[Iterable[str]] | None = None,
             asked: Sequence[dict[str, float]] | None = None,
             definitions: Sequence[tuple[str, str, dict[str, float]]] = (), on_progress=None) -> list[dict]:
    """How good the suggestions are against `labels`, cross-validated by group (transcript):
    the model never sees the group it is scored on. One row per code, then "micro" and
    "macro": gold units, and precision, recall and F1 for the cues alone and for cues with
    learning, plus the cue-score threshold that would have given the best F1 for the code
    (None where none does better than `min_score`).
    With `known`, a code is scored (and learned) only on the units whose `known[i]` holds it;
    `asked` and `definitions`: the cue scores of the question before each unit, and the
    codebook's definitions, as `train` takes them;
    `on_progress(done, total)` is told the number of folds before the first, then each fold as
    it is done (a survey's folds take seconds each)."""
    import numpy
    from sklearn.model_selection import GroupKFold

    codes = list(codes)

    def questions(rows):
        return [asked[i] for i in rows] if asked is not None else None
    sets = [set(found) for found in labels]
    knows = [set(k) for k in known] if known is not None else [set(codes)] * len(texts)
    cues = [{c for c, v in scores.items() if v >= min_score} for scores in cue_scores]
    learned: list[set[str]] = [set() for _ in texts]
    splits = min(folds, len(set(groups)))
    if splits >= 2:
        if on_progress is not None:
            on_progress(0, splits)
        for fold, (fit_rows, score_rows) in enumerate(GroupKFold(splits).split(numpy.zeros(len(texts)),
                                                                                groups=list(groups)), 1):
            model = train([texts[i] for i in fit_rows], [sets[i] for i in fit_rows],
                          [cue_scores[i] for i in fit_rows], codes, min_score=min_score,
                          known=[knows[i] for i in fit_rows], groups=[groups[i] for i in fit_rows],
                          asked=questions(fit_rows), definitions=definitions)
            for i, found in zip(score_rows, model.decide([texts[i] for i in score_rows],
                                                         [cue_scores[i] for i in score_rows],
                                                         questions(score_rows))):
                learned[i] = found
            if on_progress is not None:
                on_progress(fold, splits)
    else:
        learned = cues
    rows: list[dict[str, Any]] = []
    totals = {"cues": [0, 0, 0], "learning": [0, 0, 0]}
    for code in codes:
        scored_rows = [i for i, k in enumerate(knows) if code in k]
        row: dict[str, Any] = {"code": code, "gold": sum(code in sets[i] for i in scored_rows)}
        for name, predicted in (("cues", cues), ("learning", learned)):
            counts = _counts(code, [sets[i] for i in scored_rows], [predicted[i] for i in scored_rows])
            totals[name] = [a + b for a, b in zip(totals[name], counts)]
            row.update(_figures(name, *counts))
        values = numpy.array([cue_scores[i].get(code, 0.0) for i in scored_rows])
        truth = numpy.array([code in sets[i] for i in scored_rows])
        candidates = sorted({round(v, 3) for v in values if v > 0})
        best = max(candidates, key=lambda t: (_f1(truth, values >= t), -t), default=None)
        # none where no cue score beats `min_score` itself (the scores kept are those reaching
        # it, so the lowest of them suggests what min_score does): nothing to change
        row["best_cue_threshold"] = best if row["gold"] and best is not None and \
            _f1(truth, values >= best) > _f1(truth, values >= min_score) + 1e-9 else None
        rows.append(row)
    micro: dict[str, Any] = {"code": "micro", "gold": sum(r["gold"] for r in rows), "best_cue_threshold": None}
    macro: dict[str, Any] = {"code": "macro", "gold": micro["gold"], "best_cue_threshold": None}
    scored = [r for r in rows if r["gold"]]
    for name in ("cues", "learning"):
        micro.update(_figures(name, *totals[name]))
        for what in ("precision", "recall", "f1"):
            key = f"{name}_{what}"
            # a code with gold that nothing suggested counts 0 (scikit-learn's zero_division=0);
            # undefined for every code, the mean is undefined too, as micro's is
            defined = scored if any(r[key] is not None for r in scored) else []
            macro[key] = round(sum(r[key] or 0.0 for r in defined) / len(defined), 3) if defined else None
    return rows + [micro, macro]


def _counts(code, truth, predicted) -> tuple[int, int, int]:
    tp = sum(code in t and code in p for t, p in zip(truth, predicted))
    fp = sum(code not in t and code in p for t, p in zip(truth, predicted))
    fn = sum(code in t and code not in p for t, p in zip(truth, predicted))
    return tp, fp, fn


def _figures(name: str, tp: int, fp: int, fn: int) -> dict:
    """Precision, recall and F1; None where undefined (nothing suggested, no gold, neither)."""
    def ratio(part: int, whole: int) -> float | None:
        return round(part / whole, 3) if whole else None

    return {f"{name}_precision": ratio(tp, tp + fp), f"{name}_recall": ratio(tp, tp + fn),
            f"{name}_f1": ratio(2 * tp, 2 * tp + fp + fn)}


# ---------------------------------------------------------------- from the project's store

@dataclass
class Decided:
    """The units a model learns from: the segments of the transcripts the coders coded (for a
    theme: any decision on a code of that theme, as agreement counts them), each with the
    codes accepted or tagged on it (`labels`) and the codes it says something about
    (`known`): those of the themes coded there, except a code suggested on the segment (by its
    cues or by the learned model, or before and kept as shown: `Store.keep_shown`) that none
    of these coders has decided (pending: not yet an absence), unless a coder marked the
    whole document as coded (`copcode import FILE.csv`) or coded it by tagging alone, without
    accepting or rejecting any suggestion there (the NVivo way: what they did not tag is
    absent; `CodingState.reviewing`). A segment on which a coder decided every suggestion of
    its cues, one at least, is coded in full: every code is known there (what they did not tag is absent, even
    a learned suggestion made there since), as a reviewer who goes through a passage's
    suggestions and tags what they missed has coded it."""

    segments: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[set[str]] = field(default_factory=list)
    known: list[set[str]] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)  # coder -> their decisions here
    everyone: list[str] = field(default_factory=list)  # every coder with a decision, learned from or not


def decided_units(store, codebook, cues: dict[str, dict[str, float]], coders: Sequence[str] = (),
                  state=None, suggested: set[tuple[str, str]] | None = None) -> Decided:
    """The units of `coders`' decisions (everyone's when empty); `cues`: each segment's cue
    suggestions (`stored_cue_scores`); `state`: decisions.coding_state, when read already;
    `suggested`: the (segment, code) pairs the coders have been shown besides the cues' (the
    learned ones), by default the store's suggestions."""
    from copcode.decisions import coding_state

    state = state or coding_state(store, codebook)
    shown: dict[str, set[str]] = {}  # segment -> the codes suggested there, by the cues or learned
    renamed = codebook.renamed  # a pair kept from before a code was renamed is under its old id
    for segment, code in (store.suggestion_pairs() if suggested is None else suggested) | store.shown_pairs():
        shown.setdefault(segment, set()).add(renamed.get(code, code))
    for segment, scores in cues.items():
        if scores:
            shown.setdefault(segment, set()).update(scores)
    every_code = {code.id for code in codebook.codes}
    wanted = set(coders)
    codes_of = {theme.id: {code.id for code in theme.all_codes} for theme in codebook.themes}
    themes_of: dict[str, set[str]] = {}  # transcript -> its themes coded by these coders
    for coder, pairs in state.covered.items():
        if not wanted or coder in wanted:
            for transcript, theme in pairs:
                themes_of.setdefault(transcript, set()).add(theme)
    accepted: dict[str, set[str]] = {}
    decided: set[tuple[str, str]] = set()
    decisions: dict[str, int] = {}
    by_coder: dict[tuple[str, str], set[str]] = {}  # (coder, segment) -> the codes they decided there
    for (segment, code, coder), verdict in state.states.items():
        if not wanted or coder in wanted:
            decisions[coder] = decisions.get(coder, 0) + 1
            decided.add((segment, code))
            by_coder.setdefault((coder, segment), set()).add(code)
            if verdict == "accepted":
                accepted.setdefault(segment, set()).add(code)
    # coded in full by the cue suggestions a coder decided: a learned suggestion made there since
    # (the model's own false positive on a passage it learned from) does not re-open the passage,
    # or what is learned from the same decisions would change from one run to the next
    in_full = {segment for (_, segment), codes in by_coder.items() if cues.get(segment) and set(cues[segment]) <= codes}
    # a document marked as coded in full (an imported coding), or coded by tagging alone, has no
    # pending suggestion: what its coder did not code there is absent
    whole = {transcript for coder, transcript in store.coded() if not wanted or coder in wanted}
    whole |= {transcript for coder, pairs in state.covered.items() if not wanted or coder in wanted
              for transcript, _ in pairs if (coder, transcript) not in state.reviewing}
    pending: dict[str, set[str]] = {}
    for segment, codes in shown.items():
        for code in codes:
            if (segment, code) not in decided:
                pending.setdefault(segment, set()).add(code)
    units = Decided(decisions=dict(sorted(decisions.items())),
                    everyone=sorted({coder for _, _, coder in state.states} | set(state.covered)))
    for row in store.segments_of(sorted(themes_of)):
        if row["transcript"] in whole:
            pending.pop(row["id"], None)
        units.segments.append(row["id"])
        units.texts.append(row["text"])
        units.labels.append(accepted.get(row["id"], set()))
        if row["id"] in in_full:
            units.known.append(every_code)
        else:
            known = set().union(*(codes_of.get(theme, set()) for theme in themes_of[row["transcript"]]))
            units.known.append(known - pending.get(row["id"], set()))
        units.transcripts.append(row["transcript"])
    return units


@dataclass
class Learning:
    """What `copcode code` learned: from how many decisions of which coders, on how many
    transcripts and passages; the codes now suggested from it (the others keep to their
    cues), and how many learned suggestions were written."""

    decisions: dict[str, int]
    transcripts: int
    units: int
    learned: list[str]
    everyone: list[str] = field(default_factory=list)  # every coder with a decision
    suggestions: int = 0  # learned suggestions written
    uncoded: int = 0  # the documents not learned from, where the learned suggestions are
    passed_over: int = 0  # cue suggestions of the learned codes there that the model did not make
    flooding: list[str] = field(default_factory=list)  # learned, but kept to their cues (`Model._choices`)
    total: int = 0  # every suggestion of the run, learned or not
    learn_from: list[str] = field(default_factory=list)  # the coders asked for (`learn_from:`); none: everyone

    @property
    def left_out(self) -> list[str]:
        """The coders with decisions that `learn_from:` leaves out."""
        return [c for c in self.everyone if self.learn_from and c not in self.learn_from]

    @property
    def unknown(self) -> list[str]:
        """The names in `learn_from:` of no coder with a decision."""
        return [c for c in self.learn_from if c not in self.everyone]


def learn_suggestions(store, codebook, min_score: float, coders: Sequence[str] = (), state=None,
                      shown: set[tuple[str, str]] | None = None) -> Learning:
    """Inside the caller's transaction (after the run's cue suggestions are in the store):
    train on the decisions of `coders` (everyone's when empty) and replace the suggestions of
    every learned code with the model's, on the passages it did not learn from. On those it
    learned from (the transcripts these coders coded) a learned code keeps its cues'
    suggestions: the model would replay the decisions it learned from there, showing one
    coder's decisions to a second coder of the transcript as suggestions, and flattering
    `agreement` with the suggestions. A suggestion of an "either" code that its cues made
    and the model did not stays the cues' (their score, quote and evidence: it needed
    `min_score`). A learned suggestion keeps the cues' quote and evidence where its cues
    matched too, and adds {"kind": "learned", "words", "cues", "asked",
    "passages", "positives", "threshold"}: the strongest words, the other codes whose cues in
    the passage and those whose cues in the question before it pushed it towards this one,
    the passages it learned from (and
    how many carried the code), and the probability it needed. `state`: decisions.coding_state, when
    the caller has read it already; `shown`: the (segment, code) pairs suggested before the run
    replaced them (the last run's learned suggestions among them), which are pending where no
    coder decided them (`decided_units`)."""
    import json

    from copcode.suggest import ENGINE_VERSION

    texts = store.segment_texts()
    cues = stored_cue_scores(store, codebook, min_score, texts)
    units = decided_units(store, codebook, cues, coders, state,
                          None if shown is None else shown | store.suggestion_pairs())
    report = Learning(units.decisions, len(set(units.transcripts)), len(units.segments), [],
                      units.everyone, total=store.count("suggestions"), learn_from=list(coders))
    codes = [code.id for code in codebook.codes]
    if not learnable(units.labels, codes, known=units.known, groups=units.transcripts):
        return report  # nor are spaCy and scikit-learn loaded
    asked = question_scores(store, codebook, min_score, list(texts), remember=True)
    model = train(units.texts, units.labels, [cues.get(s, {}) for s in units.segments], codes,
                  min_score=min_score, known=units.known, groups=units.transcripts,
                  asked=[asked.get(s, {}) for s in units.segments] if asked else None,
                  definitions=definitions_scored(store, codebook, min_score, remember=True))
    if not model.learned_codes:
        return report
    trained_on = set(units.segments)
    ids = [segment for segment in texts if segment not in trained_on]
    report.uncoded = store.count("transcripts") - report.transcripts
    found, report.flooding = model.suggest([texts[i] for i in ids], [cues.get(i, {}) for i in ids],
                                           [asked.get(i, {}) for i in ids] if asked else None)
    report.learned = [code for code in model.learned_codes if code not in report.flooding]
    if not report.learned:
        return report
    earlier = store.suggestions_of_codes(report.learned)
    placed = store.segment_sentences({i for i, per in zip(ids, found) if any((i, c) not in earlier for c in per)})
    rows = []
    for segment, per in zip(ids, found):
        for code, made in per.items():
            plan = model.per_code[code]
            cue = earlier.get((segment, code))
            if cue and not made.by_model:  # an "either" code's cues made it: their suggestion, as it was
                rows.append((segment, code, made.score, cue["quote_start"], cue["quote_end"], cue["evidence"],
                             ENGINE_VERSION))
                continue
            report.suggestions += 1
            evidence = json.loads(cue["evidence"]) if cue else []
            evidence.append({"kind": "learned", "words": made.words, "cues": made.cues, "asked": made.asked,
                             "passages": model.learned_from["known"][code], "positives": plan.positives,
                             "threshold": plan.threshold})
            start, end = (cue["quote_start"], cue["quote_end"]) if cue else _quote(placed[segment], made.words)
            rows.append((segment, code, made.score, start, end, json.dumps(evidence), ENGINE_VERSION))
    written = {(segment, code) for segment, code, *_ in rows}
    report.passed_over = sum(key not in written for key in earlier if key[0] not in trained_on)
    rows += [(segment, code, cue["score"], cue["quote_start"], cue["quote_end"], cue["evidence"], ENGINE_VERSION)
             for (segment, code), cue in earlier.items() if segment in trained_on]
    report.total = store.replace_suggestions(report.learned, rows)
    return report


def keep_dropped(store, state, shown: set[tuple[str, str]]) -> None:
    """Inside the run's transaction, after its suggestions are final: the (segment, code)
    pairs of `shown` (the suggestions before the run) that the run no longer makes, on a
    transcript a coder has coded (a learned suggestion there, since coded transcripts keep to
    their cues; a cue's, after the codebook changed), stay shown (`Store.keep_shown`), so
    that the next run, which does not see them among the suggestions, counts them pending as
    this one did, with learning or without: the same decisions give the same suggestions.
    `state`: decisions.coding_state."""
    dropped = shown - store.suggestion_pairs()
    if not dropped:
        return
    coded = {transcript for pairs in state.covered.values() for transcript, _ in pairs}
    transcript_of = store.segment_transcripts({segment for segment, _ in dropped})
    store.keep_shown({(segment, code) for segment, code in dropped if transcript_of.get(segment) in coded})


def question_scores(store, codebook, min_score: float, segments: Iterable[str], *,
                    remember: bool = False) -> dict[str, dict[str, float]]:
    """Segment id -> the cue scores ({code: score}, those reaching `min_score`) of the
    question the segment answers (`tables.question_spans`), of the `segments` whose question
    matches a cue (`cached_entries`; with `remember`, inside the caller's transaction, what
    was parsed joins the cache)."""
    from copcode.tables import questions

    asked = questions(store, segments)
    scored = _scored(store, codebook, min_score, set(asked.values()), remember)
    return {segment: scored[question] for segment, question in asked.items() if scored[question]}


def definition_texts(codebook) -> list[tuple[str, str]]:
    """(code, text) for each code: its label, definition and include text, the words the
    codebook gives it (`train`'s `definitions`). Not its examples: they are usually passages
    of the project's own transcripts, which teach as the coders' decisions once coded, and
    which `evaluate` would then score a model on that had been shown them."""
    # a part that repeats another (a codebook imported from NVivo without descriptions has
    # its label as its definition) is said once
    return [(code.id, " ".join(dict.fromkeys(part.strip() for part in (code.label, code.definition, code.include)
                                             if part.strip())))
            for code in codebook.codes]


def definitions_scored(store, codebook, min_score: float, *, remember: bool = False) \
        -> list[tuple[str, str, dict[str, float]]]:
    """`definition_texts` with the cue scores of each text, for `train` (`cached_entries`;
    with `remember`, inside the caller's transaction, what was parsed joins the cache)."""
    texts = definition_texts(codebook)
    scored = _scored(store, codebook, min_score, {text for _, text in texts}, remember)
    return [(code, text, scored[text]) for code, text in texts]


def _scored(store, codebook, min_score: float, texts: set[str], remember: bool) -> dict[str, dict[str, float]]:
    """Text -> its cue scores ({code: score}), `cached_entries`; with `remember`, what was
    parsed joins the cache."""
    entries, new = cached_entries(store, codebook, min_score, texts)
    if remember and new:
        store.remember(new)
    return {text: {found["code"]: found["score"] for found in found_in} for text, found_in in entries.items()}


def cached_entries(store, codebook, min_score: float, texts: set[str], parse=None) \
        -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """Text -> its cue suggestions as the cache keeps a segment's, and the entries parsed here
    (cache key -> entries), which the caller caches. A text is looked up in the store's cache
    like a segment (by its words, `cache_key`) and parsed only when it is not there, with
    `parse` (a run's suggest.Parser) or a pipeline built here. `copcode code` keeps in the
    cache the questions of its transcripts and the codebook's definitions (`coding`): a run
    that changed nothing loads no spaCy."""
    from copcode.suggest import Suggester, cache_key, text_entries

    keys = {text: cache_key(codebook, min_score, text) for text in texts}
    cached = store.cached(set(keys.values()))
    todo = sorted(text for text, key in keys.items() if key not in cached)
    new: dict[str, list[dict]] = {}
    if todo:
        if parse is None:
            from copcode.nlp import build_pipeline

            parse = Suggester(build_pipeline(codebook), codebook, min_score)
        new = dict(zip((keys[text] for text in todo), text_entries(todo, parse)))
        cached.update(new)
    return {text: cached[key] for text, key in keys.items()}, new


def stored_cue_scores(store, codebook, min_score: float, texts: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """Segment id -> {code: score} of its cue suggestions, as the last run cached them (the
    store's suggestions may be learned ones); `texts`: the segments' texts, when read already.
    CopcodeError when the cache does not hold them at this `min_score` (or for this engine):
    the settings changed since `copcode code`, and a segment without them would read as one
    its cues did not suggest anything on."""
    from copcode.suggest import cache_key

    texts = store.segment_texts() if texts is None else texts
    keys = {segment: cache_key(codebook, min_score, text) for segment, text in texts.items()}
    cached = store.cached(set(keys.values()))
    if len(cached) < len(set(keys.values())):
        raise _not_cached(store, min_score)
    return {segment: {found["code"]: found["score"] for found in cached[key]} for segment, key in keys.items()}


def _not_cached(store, min_score: float):
    """The error for cue scores missing from the cache (the run prunes it to its own keys):
    copcode's engine, or else `min_score`, changed since the last run (the codebook is checked
    before)."""
    from copcode import versions
    from copcode.errors import CopcodeError

    run, found = store.last_run(), versions()
    if run is not None and (run["engine"], run["spacy"], run["lookups"]) != \
            (found["engine"], found["spacy"], found["spacy-lookups-data"]):
        return CopcodeError("copcode's engine or spaCy has changed since the transcripts were last coded: the "
                            "cue scores it gives are not in the store",
                            fix="run `copcode code` first, then `copcode evaluate`.")
    return CopcodeError(f"min_score has changed since the transcripts were last coded: the cue scores at "
                        f"{min_score} are not in the store", where="copcode.yaml",
                        fix="run `copcode code` first (it suggests again at this min_score), then `copcode evaluate`.")


def _quote(segment: tuple[int, int, str, list], words: list[str]) -> tuple[int, int]:
    """The sentence of the segment that holds most of `words` (the first of equals; the whole
    segment when it has no sentences)."""
    import re

    start, end, text, sentences = segment
    wanted = set(words)

    def holds(span) -> int:
        return len(wanted & {w.lower() for w in re.findall(r"\w+", text[span[0] - start:span[1] - start])})

    best = max(sentences, key=holds, default=None)
    return (best[0], best[1]) if best else (start, end)


EVALUATION_COLUMNS = ["code", "gold", "cues_precision", "cues_recall", "cues_f1", "learning_precision",
                      "learning_recall", "learning_f1", "best_cue_threshold"]


@dataclass
class Evaluation:
    """`evaluate` against the decisions of `units` (a tables.Table of EVALUATION_COLUMNS),
    with the number of folds it was cross-validated in (0: fewer than two coded transcripts,
    so nothing was learned)."""

    table: Any
    units: Decided
    folds: int

    def with_context(self, name: Callable[[str], str] = str) -> Any:
        """The table with what the figures stand on in every row, for a file read away from
        the terminal's title: the coders (each through `name`, the redaction of the output),
        the coded transcripts and passages, and the folds."""
        table = self.table.copy()
        for column, value in (("coders", ", ".join(name(c) for c in self.units.decisions)),
                              ("transcripts", len(set(self.units.transcripts))),
                              ("passages", len(self.units.segments)), ("folds", self.folds)):
            table[column] = [value] * len(table)
        return table


def evaluate_project(store, codebook, min_score: float, coders: Sequence[str] = (), folds: int = 5,
                     on_progress=None) -> Evaluation:
    """How good the suggestions are against `coders`' decisions (everyone's when empty),
    cross-validated by transcript; CopcodeError when no transcript is coded yet.
    `on_progress(done, total)`: as for `evaluate`, the folds."""
    from copcode.errors import CopcodeError
    from copcode.tables import Table

    run = store.last_run()
    if run is not None and run["codebook_sha256"] != codebook.sha256:
        raise CopcodeError("the codebook has changed since the transcripts were last coded",
                           where=codebook.path, fix="run `copcode code` first, then `copcode evaluate`.")
    cues = stored_cue_scores(store, codebook, min_score)
    units = decided_units(store, codebook, cues, coders)
    unknown = [c for c in coders if c not in units.everyone]
    if unknown:
        raise CopcodeError(f"no decision by {', '.join(map(repr, unknown))}",
                           fix="name a coder who has decided something: " +
                               (", ".join(units.everyone[:10]) + (", ..." if len(units.everyone) > 10 else "")
                                if units.everyone else "nobody has yet") + " (repeat --coder for several).")
    if not units.segments:
        who = f" by {', '.join(coders)}" if coders else ""
        raise CopcodeError(f"no coded transcript{who} to evaluate the suggestions against",
                           fix="code some passages first (copcode review, copcode tag), or import a coding "
                               "(copcode import FILE.csv --coder NAME).")
    groups = sorted(set(units.transcripts))
    asked = question_scores(store, codebook, min_score, units.segments)
    rows = evaluate(units.texts, units.labels, [cues.get(s, {}) for s in units.segments], units.transcripts,
                    [code.id for code in codebook.codes], min_score=min_score, folds=folds, known=units.known,
                    asked=[asked.get(s, {}) for s in units.segments] if asked else None,
                    definitions=definitions_scored(store, codebook, min_score), on_progress=on_progress)
    table = Table(EVALUATION_COLUMNS, [{c: r[c] for c in EVALUATION_COLUMNS} for r in rows])
    return Evaluation(table, units, min(folds, len(groups)) if len(groups) >= 2 else 0)
