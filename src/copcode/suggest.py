"""Cue matches + similarity to each code's description -> scored suggestions with evidence.

score = 0.75 * cue_part + 0.25 * similarity_part, both in [0, 1]:
- cue_part = 1 - 0.5 ** (sum of the weights of the distinct cues that matched): one cue 0.5,
  two 0.75, three 0.875. An exclusion phrase of the code in the passage vetoes the code.
- similarity_part = cosine similarity of the passage's lemmas to the code's label, definition,
  include note and examples (idf-weighted over the codebook's codes), capped at 1 from 0.25.
A passage without any cue of a code is never suggested for it."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from copcode import ENGINE_VERSION
from copcode.codebook import Codebook
from copcode.model import Segment
from copcode.segment import word_count

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

CUE_SHARE = 0.75
SIMILARITY_FULL = 0.25
MIN_QUOTE_WORDS = 12
# Words that open a sentence which points back at the one before it.
_LEANS_BACK = re.compile(r"(?:And|But|So|That|This|These|Those|Which|Then|It|Also)\b")


@dataclass
class Suggestion:
    segment: str
    code: str
    score: float
    quote_start: int
    quote_end: int
    evidence: list[dict] = field(default_factory=list)
    engine: str = ENGINE_VERSION

    def relative(self, segment: Segment) -> dict:
        """For the cache: offsets relative to the segment, which may move in its transcript."""
        shift = segment.start
        return {"code": self.code, "score": self.score, "quote": [self.quote_start - shift, self.quote_end - shift],
                "evidence": [{**e, "start": e["start"] - shift, "end": e["end"] - shift} if "start" in e else e
                             for e in self.evidence]}

    @classmethod
    def placed(cls, cached: dict, segment: Segment) -> Suggestion:
        shift = segment.start
        return cls(segment.id, cached["code"], cached["score"], cached["quote"][0] + shift,
                   cached["quote"][1] + shift,
                   [{**e, "start": e["start"] + shift, "end": e["end"] + shift} if "start" in e else e
                    for e in cached["evidence"]])


def cache_key(codebook: Codebook, min_score: float, text: str) -> str:
    """What a segment's suggestions depend on: its words, the codebook, the threshold, the engine,
    and the versions of spaCy and of its lemma table (spacy-lookups-data)."""
    import hashlib

    return hashlib.sha1(f"{engine_versions()}\0{codebook.sha256}\0{min_score}\0{text}".encode()).hexdigest()


@lru_cache(maxsize=1)
def engine_versions() -> str:
    """ENGINE_VERSION and the installed versions of spaCy and spacy-lookups-data, read once
    from the packages' metadata (spaCy is not imported)."""
    from copcode import versions

    found = versions()
    return f"{ENGINE_VERSION}\0spacy {found['spacy']}\0spacy-lookups-data {found['spacy-lookups-data']}"


class Parser:
    """Suggestions for batch after batch of segments, in this process or in a pool of
    `workers` processes. The pipeline (or the pool) is made at the first segment to parse,
    so a run that the cache answers whole never loads spaCy. Use it as a context manager:
    the pool is shut down on the way out."""

    def __init__(self, codebook: Codebook, min_score: float, workers: int = 1):
        self.codebook, self.min_score, self.workers = codebook, min_score, workers
        self._suggester: Suggester | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __call__(self, segments: list[Segment], on_progress=None) -> list[Suggestion]:
        if not segments:
            return []
        if self.workers <= 1:
            if self._suggester is None:
                from copcode.nlp import build_pipeline

                self._suggester = Suggester(build_pipeline(self.codebook), self.codebook, self.min_score)
            return self._suggester(segments, on_progress)
        if self._pool is None:
            import os
            from concurrent.futures import ProcessPoolExecutor

            # one per processor at most: each loads its own spaCy (`copcode code` says so)
            self._pool = ProcessPoolExecutor(max_workers=min(self.workers, processors()), initializer=_start_worker,
                                             initargs=(self.codebook, self.min_score, os.getpid()))
        return _parallel(self._pool, segments, on_progress)


def processors() -> int:
    """The processors this process may run on (a container's share, where the machine has more)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def text_entries(texts, parse) -> list[list[dict]]:
    """Per text (not a transcript's: a question, a code's definition, a survey answer scored
    in memory), its suggestions as the cache keeps a segment's (offsets in the text), by
    `parse` (a Parser, or a Suggester), each text one passage."""
    from copcode.segment import split_sentences

    segments = [Segment(str(i), "", 0, 0, len(text), text,
                        tuple(split_sentences(text, 0, len(text))) or ((0, len(text)),))
                for i, text in enumerate(texts)]
    out: list[list[dict]] = [[] for _ in segments]
    for found in parse(segments):
        out[int(found.segment)].append(found.relative(segments[int(found.segment)]))
    return out


def _parallel(pool, segments: list[Segment], on_progress=None) -> list[Suggestion]:
    """The segments in chunks of whole transcripts (at most 400 segments) over the pool; the
    suggestions come back in order, and only they travel back."""
    chunks: list[list[Segment]] = []
    for segment in segments:
        if chunks and chunks[-1][-1].transcript == segment.transcript and len(chunks[-1]) < 400:
            chunks[-1].append(segment)
        else:
            chunks.append([segment])
    done, results = 0, []
    for chunk, found in zip(chunks, pool.map(_work, chunks, chunksize=4)):
        results.extend(found)
        done += len(chunk)
        if on_progress:
            on_progress(done)
    return results


_WORKER: dict = {}


def _start_worker(codebook: Codebook, min_score: float, parent: int) -> None:
    _die_with_parent(parent)
    from copcode.nlp import build_pipeline

    _WORKER["suggest"] = Suggester(build_pipeline(codebook), codebook, min_score)


def _die_with_parent(copcode: int) -> None:
    """End this worker when the copcode process `copcode` ends, even by kill -9: a worker
    waits on a queue whose other end it holds itself, so it would never see copcode go.
    On Linux the kernel kills it when its parent dies (PR_SET_PDEATHSIG); its parent is copcode
    itself, or with the `forkserver` start method (Python 3.14's default) the fork server,
    which ends with copcode. As a second line, everywhere, a thread ends the worker once the
    copcode process is gone."""
    import os
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def gone() -> bool:
        try:
            os.kill(copcode, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a process of another user took the number: copcode is gone
            return True
        return False

    if gone():  # copcode died before the lines above took effect
        os._exit(1)

    def watch():
        import time

        while not gone():
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="copcode-parent-watch", daemon=True).start()


def _work(chunk: list[Segment]) -> list[Suggestion]:
    return _WORKER["suggest"](chunk)


class Suggester:
    """`suggest` with the codebook's cues and profiles compiled once, for batch after batch."""

    def __init__(self, nlp, codebook: Codebook, min_score: float):
        from spacy.lang.en.stop_words import STOP_WORDS

        from copcode.nlp import compile_cues

        self.nlp, self.min_score = nlp, min_score
        self.cues = compile_cues(codebook)
        self.strings = nlp.vocab.strings
        self.stop_lemmas = {self.strings.add(word) for word in STOP_WORDS}
        self.profiles, self.idf = _code_profiles(nlp, codebook, self.stop_lemmas)

    def __call__(self, segments: list[Segment], on_progress=None) -> list[Suggestion]:
        from copcode.nlp import SPANS_KEY, lemma_counts

        suggestions = []
        texts = (segment.text for segment in segments)
        for done, (segment, doc) in enumerate(zip(segments, self.nlp.pipe(texts, batch_size=64)), 1):
            by_code: dict[str, list] = {}
            for span in doc.spans[SPANS_KEY]:
                by_code.setdefault(span.label_, []).append(span)
            if by_code:
                bag = _weighted(lemma_counts(doc, self.stop_lemmas), self.idf)
                for code_id, spans in by_code.items():
                    found = _score(segment, spans, self.cues, bag, self.profiles[code_id],
                                   self.min_score, self.strings)
                    if found:
                        suggestions.append(found)
            if on_progress:
                on_progress(done)
        return suggestions


def suggest(nlp, codebook: Codebook, segments: list[Segment], min_score: float,
            on_progress=None) -> list[Suggestion]:
    """Suggestions for every segment whose score for a code reaches `min_score`."""
    return Suggester(nlp, codebook, min_score)(segments, on_progress)


def _score(segment, spans, cues, bag, profile, min_score, strings):
    evidence, strength = [], {}
    for span in spans:
        cue = cues[int(span.id_)]
        if cue["kind"] == "exclude":
            return None
        strength[cue["key"]] = max(strength.get(cue["key"], 0), cue["weight"])
        evidence.append({"cue": cue["key"], "kind": cue["kind"],
                         "start": segment.start + span.start_char,
                         "end": segment.start + span.end_char, "text": span.text})
    similarity = _cosine(bag, profile)
    score = CUE_SHARE * (1 - 0.5 ** sum(strength.values())) + \
        (1 - CUE_SHARE) * min(1.0, similarity / SIMILARITY_FULL)
    if score < min_score:
        return None
    shared = sorted(set(bag) & set(profile), key=lambda w: (-bag[w] * profile[w], strings[w]))[:5]
    evidence.append({"kind": "similarity", "value": round(similarity, 3),
                     "shared": [strings[w] for w in shared]})
    start, end = quote_span(segment, [(e["start"], e["end"]) for e in evidence if "start" in e])
    return Suggestion(segment.id, spans[0].label_, round(score, 3), start, end, evidence)


def quote_span(segment: Segment, located: list[tuple[int, int]]) -> tuple[int, int]:
    """The shortest run of the segment's whole sentences that holds every located piece of
    evidence, widened by neighbouring sentences (earlier first) to at least MIN_QUOTE_WORDS."""
    sentences = list(segment.sentences)
    if not located or not sentences:
        return segment.start, segment.end
    lo = min(s for s, _ in located)
    hi = max(e for _, e in located)
    first = next(i for i, (s, e) in enumerate(sentences) if e > lo)
    last = max(i for i, (s, e) in enumerate(sentences) if s < hi)
    text = segment.text

    def words(i, j):
        return word_count(text[sentences[i][0] - segment.start: sentences[j][1] - segment.start])

    def leans_back(i):  # "That in time...", "But it...": the sentence needs the one before
        return _LEANS_BACK.match(text, sentences[i][0] - segment.start) is not None

    for _ in range(2):
        if first > 0 and leans_back(first):
            first -= 1
    while words(first, last) < MIN_QUOTE_WORDS and (first > 0 or last < len(sentences) - 1):
        if first > 0:
            first -= 1
        else:
            last += 1
    return sentences[first][0], sentences[last][1]


def _code_profiles(nlp, codebook: Codebook, stop_lemmas: set[int]):
    """Per code, the idf-weighted lemma counts of its label, definition, include note, examples."""
    from copcode.nlp import lemma_counts

    lemmatize = nlp.get_pipe("copcode_lemmas")
    bags = {}
    for code in codebook.codes:
        text = "\n".join([code.label, code.definition, code.include, *code.example_quotes()])
        bags[code.id] = lemma_counts(lemmatize(nlp.make_doc(text)), stop_lemmas)
    df = Counter(word for bag in bags.values() for word in bag)
    idf = {word: math.log(1 + len(bags) / n) for word, n in df.items()}
    return {code: _weighted(bag, idf) for code, bag in bags.items()}, idf


def _weighted(bag: Counter, idf: dict) -> dict[str, float]:
    """Counts times idf; a word no code uses is weighted as the rarest (it only adds to the
    passage's length, making the passage less similar)."""
    rarest = max(idf.values(), default=1.0)
    return {word: count * idf.get(word, rarest) for word, count in bag.items()}


def _cosine(a: dict, b: dict) -> float:
    dot = sum(value * b[word] for word, value in a.items() if word in b)
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))
