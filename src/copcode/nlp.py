"""The spaCy pipeline: a blank English tokenizer, lower-cased lookup lemmas, and one component
that matches the codebook's cues and writes them to `doc.spans["cues"]`. Nothing is downloaded."""

from __future__ import annotations

import re
from typing import Any

from collections import Counter

from spacy.attrs import IS_ALPHA, IS_STOP, LEMMA, LENGTH, LOWER
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from copcode.codebook import Codebook
from copcode.errors import CodebookError
from copcode.yamlsafe import MAX_BYTES

SPANS_KEY = "cues"


@Language.factory("copcode_lemmas")
def make_lookup_lemmas(nlp: Language, name: str):
    return LookupLemmas()


class LookupLemmas:
    """Lemmas from spacy-lookups-data's English table, looked up lower-cased (spaCy's own
    lookup lemmatizer is case-sensitive, so "Carers" at a sentence start would stay as it is)
    and cached per word."""

    def __init__(self):
        from spacy.lookups import load_lookups

        self.table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        self.by_hash: dict[int, int] = {}  # lower-case form's hash -> lemma's hash

    def __call__(self, doc: Doc) -> Doc:
        # Whole arrays of hashes, not Token objects: several times faster per word.
        import numpy

        strings, by_hash = doc.vocab.strings, self.by_hash
        lemmas = []
        for lower in doc.to_array(LOWER).tolist():
            lemma = by_hash.get(lower)
            if lemma is None:
                word = strings[lower]
                lemma = by_hash[lower] = strings.add(self.table.get(word, word))
            lemmas.append(lemma)
        doc.from_array([LEMMA], numpy.array(lemmas, dtype="uint64").reshape(-1, 1))
        return doc


def lemma_counts(doc: Doc, stop_lemmas: set[int]) -> Counter:
    """Counts of the lemma hashes of a doc's content words: alphabetic, longer than two
    letters, neither the word nor its lemma a stop word."""
    rows = doc.to_array([LEMMA, IS_ALPHA, LENGTH, IS_STOP]).tolist()
    return Counter(lemma for lemma, alpha, length, stop in rows
                   if alpha and length > 2 and not stop and lemma not in stop_lemmas)


@Language.factory("copcode_cues", default_config={"cues": []})
def make_cue_matcher(nlp: Language, name: str, cues: list[dict[str, Any]]):
    return CueMatcher(nlp, cues)


class CueMatcher:
    """Each cue is {"code", "kind", "key", "weight"} plus a "phrase" (keyword, exact,
    exclude: kinds matched on lemmas, or on lower-case words for exact) or a token "pattern".
    Matches become spans labelled with the code, their span id the cue's index."""

    def __init__(self, nlp: Language, cues: list[dict[str, Any]]):
        self.cues = cues
        self.lemma_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.lower_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.token_matcher = Matcher(nlp.vocab, validate=True)
        lemmatize = nlp.get_pipe("copcode_lemmas")
        for index, cue in enumerate(cues):
            key = str(index)
            if cue["kind"] == "pattern":
                self.token_matcher.add(key, [cue["pattern"]])
            elif cue["kind"] == "exact":
                self.lower_matcher.add(key, [nlp.make_doc(cue["phrase"])])
            else:
                self.lemma_matcher.add(key, [lemmatize(nlp.make_doc(cue["phrase"]))])
        # an empty matcher warns on every call (W036): keep only those with patterns
        self.matchers = [m for m in (self.lemma_matcher, self.lower_matcher, self.token_matcher) if len(m)]

    def __call__(self, doc: Doc) -> Doc:
        strings = doc.vocab.strings
        spans = []
        for matcher in self.matchers:
            for match_id, start, end in matcher(doc):
                key = strings[match_id]
                spans.append(Span(doc, start, end, label=self.cues[int(key)]["code"], span_id=key))
        doc.spans[SPANS_KEY] = spans
        return doc


def compile_cues(codebook: Codebook) -> list[dict[str, Any]]:
    """The codebook's cues as the flat list the cue matcher takes."""
    cues = []
    for code in codebook.codes:
        for keyword in code.cues.keywords:
            kind = "exact" if keyword.exact else "keyword"
            cues.append({"code": code.id, "kind": kind, "key": keyword.phrase,
                         "phrase": keyword.phrase, "weight": keyword.weight})
        for pattern in code.cues.patterns:
            cues.append({"code": code.id, "kind": "pattern", "key": pattern.key,
                         "pattern": pattern.pattern, "weight": pattern.weight})
        for phrase in code.cues.exclude:
            cues.append({"code": code.id, "kind": "exclude", "key": phrase, "phrase": phrase,
                         "weight": 0.0})
    return cues


def build_pipeline(codebook: Codebook) -> Language:
    """A blank English pipeline with lemmas and the codebook's cue matcher."""
    import spacy

    nlp = spacy.blank("en")
    # segments are at most segment.MAX_CHARS long; the codebook's texts (bounded by the
    # codebook's size cap) are parsed whole. A blank pipeline needs little memory per character.
    nlp.max_length = max(nlp.max_length, MAX_BYTES + 1)
    nlp.add_pipe("copcode_lemmas")
    problems = pattern_problems(codebook)
    if problems:
        raise CodebookError(codebook.path, problems)
    nlp.add_pipe("copcode_cues", config={"cues": compile_cues(codebook)})
    return nlp


def pattern_problems(codebook: Codebook) -> list[str]:
    """Token patterns that spaCy's Matcher refuses, each with its place in the codebook."""
    import spacy
    from copcode.codebook import REGEX_REFUSED, locate, uses_regex

    vocab = spacy.blank("en").vocab
    problems = []
    for t, theme in enumerate(codebook.themes):
        for c, code in enumerate(theme.codes):
            for p, pattern in enumerate(code.cues.patterns):
                loc = ["themes", t, "codes", c, "cues", "patterns", p]
                if uses_regex(pattern.pattern):  # load_codebook refuses it too; never reach spaCy
                    problems.append(f"{locate(codebook.file, loc)}: {REGEX_REFUSED}")
                    continue
                try:
                    Matcher(vocab, validate=True).add("check", [pattern.pattern])
                except Exception as exc:  # spaCy raises MatchPatternError or ValueError
                    problems.append(f"{locate(codebook.file, loc)}: not a valid spaCy token "
                                    f"pattern: {_pattern_error(exc)}")
    return problems


def _pattern_error(exc: Exception) -> str:
    """spaCy's validation report, one clause per token attribute: "token 1 OP: Input ..."."""
    found = re.findall(r"\[pattern -> (\d+) -> (\w+)(?:[^][]|\[[^]]*\])*\] ([^\n]+)", str(exc))
    clauses = dict.fromkeys(f"token {int(i) + 1} {key}: {msg.strip()}" for i, key, msg in found)
    return "; ".join(list(clauses)[:1] if found else [" ".join(str(exc).split())[:200]])
