"""The spaCy pipeline: a blank English tokenizer, lower-cased lookup lemmas, and one component
that matches the codebook's cues and writes them to `doc.spans["cues"]`. Nothing is downloaded."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

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
        # thinc's Ints2d alias does not name numpy arrays, which spaCy takes here
        doc.from_array([LEMMA], numpy.array(lemmas, dtype="uint64").reshape(-1, 1))  # type: ignore[arg-type]
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
    for place, code in codebook.places():
        for p, pattern in enumerate(code.cues.patterns):
            loc = [*place, "cues", "patterns", p]
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


def lemma_form(nlp: Language, phrase: str) -> str:
    """The phrase as the lemma matcher sees it: each word's lemma, lower-cased lookup."""
    return " ".join(token.lemma_ for token in nlp.get_pipe("copcode_lemmas")(nlp.make_doc(phrase)))


def _lower_form(nlp: Language, phrase: str) -> str:
    return " ".join(token.lower_ for token in nlp.make_doc(phrase))


# Words that nearly every passage has, for `cue_warnings`: not spaCy's stop words, which hold
# "call", "side" and "show", good cues for some codes.
FUNCTION_WORDS = frozenset("""a an the and or but nor so if as of to in on at by for with from into about than then
    is are was were be been being am do does did have has had will would can could should may might must
    i me my you your he him his she her it its we us our they them their this that these those there here
    what which who whom whose not no yes very just also too""".split())


def cue_warnings(codebook: Codebook, min_score: float = 0.35, nlp: Language | None = None) -> list[str]:
    """What in a valid codebook probably does not do what its writer meant, each with its line:
    codes that share a label, a code without keywords or patterns (never suggested from cues),
    a keyword that is one stop word ("the" matches nearly every passage), keywords matched by a
    lemma that is another word (one warning for a code's), two keywords of a code that match
    the same words (a passage with them counts twice; not also warned as a lemma), and cue
    weights that cannot reach `min_score` alone (see suggest.py's score)."""
    from copcode.codebook import locator
    from copcode.suggest import CUE_SHARE

    nlp = nlp or build_pipeline(codebook)
    line = locator(codebook)
    # a cue alone scores CUE_SHARE * (1 - 0.5 ** weight); the similarity part adds at most 1 - CUE_SHARE
    alone = _weight_for(min_score / CUE_SHARE)
    helped = _weight_for((min_score - (1 - CUE_SHARE)) / CUE_SHARE)
    warnings = []
    labelled: dict[str, str] = {}  # a label, case-folded -> the first code with it
    for place, code in codebook.places():
        first = labelled.setdefault(" ".join(code.label.casefold().split()), code.id)
        if first != code.id:
            warnings.append(f"line {line([*place, 'label'])}: codes {first} and {code.id} have the same label "
                            f"\"{code.label}\"; give each its own, so that coders, reports and a table imported "
                            "by labels can tell them apart")
    for place, code in codebook.places():
        where = [*place, "cues"]
        if not code.codes and not (code.cues.keywords or code.cues.patterns) and (1 - CUE_SHARE) < min_score:
            warnings.append(f"line {line(place)}: code {code.id} has no keywords or patterns, so it is never "
                            "suggested from cues (only when learned from the coders' decisions); add cues, or "
                            "leave it for coders to tag")
        seen: dict[str, tuple[str, bool, int]] = {}  # the words a keyword matches -> its phrase, exact, index
        forms_of = [(_lower_form(nlp, keyword.phrase), lemma_form(nlp, keyword.phrase))
                    for keyword in code.cues.keywords]
        doubled: set[int] = set()  # keywords warned of as matching the same words
        found = []
        for k, keyword in enumerate(code.cues.keywords):
            at = f"line {line(where + ['keywords', k])}: code {code.id}"
            lower, lemma = forms_of[k]
            if lower in FUNCTION_WORDS:  # one word; a phrase of them ("other side") can mean much
                found.append(f"{at}: keyword \"{keyword.phrase}\" is a word like \"the\" or \"and\", which nearly "
                             "every passage has; use words that say something of the code")
            forms = [(lower, True)] if keyword.exact else [(lemma, False)]
            if keyword.exact and lemma != lower:
                forms.append((lemma, False))  # a lemma keyword of that lemma matches it too
            for form, exact in forms:
                other = seen.get(form)
                if other is not None and other[0] != keyword.phrase and (not exact or other[1] or form == lower):
                    doubled |= {k, other[2]}
                    found.append(
                        f"{at}: keywords \"{other[0]}\" and \"{keyword.phrase}\" match the same words "
                        f"(\"{form}\"), so a passage with them counts twice; keep one")
                    break
            for form, exact in forms[:1]:
                seen.setdefault(form, (keyword.phrase, exact, k))
        as_lemmas = [(line(where + ["keywords", k]), keyword.phrase, lower, lemma)
                     for k, (keyword, (lower, lemma)) in enumerate(zip(code.cues.keywords, forms_of))
                     if not keyword.exact and lemma != lower and k not in doubled]
        if as_lemmas:
            warnings.append(_as_lemmas(code.id, as_lemmas))
        warnings += found
        cues = [("keywords", k, f"keyword \"{kw.phrase}\"", kw.weight) for k, kw in enumerate(code.cues.keywords)]
        cues += [("patterns", p, f"pattern \"{pattern.key}\"", pattern.weight)
                 for p, pattern in enumerate(code.cues.patterns)]
        for kind, index, name, weight in cues:
            if weight >= alone:
                continue
            at = f"line {line(where + [kind, index])}: code {code.id}"
            score = CUE_SHARE * (1 - 0.5 ** weight)
            if weight >= helped:
                warnings.append(
                    f"{at}: {name} (weight {weight:g}) cannot suggest the code alone: it scores "
                    f"{_below(score, min_score)}, below min_score {min_score:g}, and reaches it only with another cue or "
                    f"in a passage like the code's description; give it weight {_up(alone)} or more "
                    f"to suggest alone")
            else:
                warnings.append(
                    f"{at}: {name} (weight {weight:g}) never suggests the code alone, even in a passage "
                    f"like the code's description (at most {_below(score + 1 - CUE_SHARE, min_score)}, below min_score "
                    f"{min_score:g}); only with another cue; give it weight {_up(alone)} or more to "
                    f"suggest alone")
    return warnings


def _as_lemmas(code: str, keywords: list[tuple[int, str, str, str]]) -> str:
    """The warning for a code's keywords (line, phrase, lower-cased words, lemmas) matched as
    a lemma that is another word: one keyword alone, or the code's keywords in one warning, a
    line each (a codebook of natural phrases has many), first those where a word becomes
    another word ("further" -> "far", "more" -> "much") rather than loses an ending. Writing
    the lemma is not offered: the lookup table's "fee back" for "feed back" is no advice."""
    if len(keywords) == 1:
        first, phrase, _, lemma = keywords[0]
        return (f"line {first}: code {code}: keyword \"{phrase}\" is matched as its lemma \"{lemma}\", with "
                f"every word of that lemma; to match it as written use {{phrase: {phrase}, exact: true}}")
    ordered = sorted(keywords, key=lambda k: not _another_word(k[2], k[3]))
    listed = "".join(f"\n  line {at}: \"{phrase}\" as \"{lemma}\"" for at, phrase, _, lemma in ordered)
    before = "; first those where a word becomes another word" if _another_word(ordered[0][2], ordered[0][3]) else ""
    return (f"line {keywords[0][0]}: code {code}: {len(keywords)} keywords are matched as their lemmas, with "
            f"every word of those lemmas (to match one as written use {{phrase: ..., exact: true}}){before}:{listed}")


def _another_word(lower: str, lemma: str) -> bool:
    """Whether a word of `lower` (the phrase's words, lower-cased) becomes another word in
    `lemma` rather than loses an ending ("answered" -> "answer", "varied" -> "vary"); a
    guess from the letters, for the order of the warning ("feed" -> "fee" passes for an
    ending). Both come from the same tokens, so the words pair up."""
    return any(w != m and not (len(m) >= 3 and w.startswith(m[:-1]))
               for w, m in zip(lower.split(), lemma.split()))


def _below(score: float, min_score: float) -> str:
    """A score below min_score, shown below it (0.3499 as 0.34, where rounding said 0.35)."""
    import math

    shown = f"{score:.2f}"
    return shown if float(shown) < min_score else f"{math.floor(score * 100) / 100:.2f}"


def _weight_for(cue_part: float) -> float:
    """The smallest total weight whose cue part (1 - 0.5 ** weight) reaches `cue_part`."""
    import math

    if cue_part <= 0:
        return 0.0
    if cue_part >= 1:
        return math.inf
    return math.log2(1 / (1 - cue_part))


def _up(weight: float) -> str:
    import math

    return "∞" if math.isinf(weight) else f"{math.ceil(weight * 100) / 100:g}"


def cue_listing(codebook: Codebook, passages: dict[str, str], code_id: str | None = None,
                verdicts: dict[tuple[str, str, str], str] | None = None,
                nlp: Language | None = None) -> list[dict[str, Any]]:
    """Each cue of the codebook (or of one code) with the form it is matched in, the number of
    `passages` ({segment id: text}) it matched, and of the decisions on its code for those
    passages (`verdicts`: {(segment, code, coder): "accepted" | "rejected"}, the coding state)
    how many there are and how many accepted: {code, kind, cue, matched_as, weight, passages,
    decided, accepted}."""
    nlp = nlp or build_pipeline(codebook)
    if code_id is not None:
        codebook.code(code_id)  # an unknown code is refused with the codes to choose from
    cues = compile_cues(codebook)
    matched: list[list[str]] = [[] for _ in cues]
    ids = list(passages)
    for segment, doc in zip(ids, nlp.pipe((passages[i] for i in ids), batch_size=64)):
        for index in {int(span.id_) for span in doc.spans[SPANS_KEY]}:
            matched[index].append(segment)
    by_passage: dict[tuple[str, str], list[str]] = {}
    for (segment, code, _coder), verdict in (verdicts or {}).items():
        by_passage.setdefault((segment, code), []).append(verdict)
    rows = []
    for cue, segments in zip(cues, matched):
        if code_id is not None and cue["code"] != code_id:
            continue
        if cue["kind"] == "pattern":
            form = "token pattern"
        elif cue["kind"] == "exact":
            form = f"{_lower_form(nlp, cue['phrase'])} (as written)"
        else:
            form = lemma_form(nlp, cue["phrase"])
        decided = [v for segment in segments for v in by_passage.get((segment, cue["code"]), [])]
        rows.append({"code": cue["code"], "kind": cue["kind"], "cue": cue["key"], "matched_as": form,
                     "weight": cue["weight"], "passages": len(segments), "decided": len(decided),
                     "accepted": decided.count("accepted")})
    return rows
