"""Participant turns -> segments with stable ids. A turn is one segment unless it is long; a
long turn is cut at sentence boundaries into pieces of about equal length."""

from __future__ import annotations

import hashlib
import math
import re

from copcode.model import Segment, Transcript

# A sentence ends at . ! ? (or an ellipsis) with any closing quotes or brackets, before white
# space and a capital, digit, quote or bracket; "...  a good" (an elision) does not end one.
_BOUNDARY = re.compile(r"""(?<=[.!?])(?P<close>["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])""")
_ABBREVIATIONS = ("Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "e.g.", "i.e.", "etc.", "St.", "vs.")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# Characters in one segment at most: far above any real passage (120 words are ~700), far
# below spaCy's max_length, so a pasted blob or a run without white space cannot stop a run.
MAX_CHARS = 10_000


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as absolute (start, end) offsets, trimmed of white space.
    Paragraph breaks end a sentence too."""
    spans = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p_start = start + para.start()
        chunk = para.group()
        cut = 0
        for match in _BOUNDARY.finditer(chunk):
            if chunk[: match.start()].endswith(_ABBREVIATIONS):
                continue
            spans.append((p_start + cut, p_start + match.end("close")))
            cut = match.end()
        spans.append((p_start + cut, p_start + len(chunk)))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def word_count(text: str) -> int:
    """Words as white space separates them (what a reader counts; fast)."""
    return len(text.split())


def segment_transcript(transcript: Transcript, max_words: int = 120) -> list[Segment]:
    """The participant's turns as segments; interviewer turns are never segmented."""
    text = transcript.text
    segments: list[Segment] = []
    seen: dict[str, int] = {}
    for index, turn in enumerate(transcript.turns):
        if turn.role != "participant":
            continue
        sentences = [part for sentence in split_sentences(text, turn.start, turn.end)
                     for part in _bounded(text, sentence, max_words)]
        for piece in _pieces(sentences, text, max_words):
            start, end = piece[0][0], piece[-1][1]
            passage = text[start:end]
            if not _WORD.search(passage):
                continue
            segment_id = stable_id(transcript.id, passage, seen)
            segments.append(Segment(segment_id, transcript.id, index, start, end, passage, tuple(piece)))
    return segments


def _bounded(text: str, sentence: tuple[int, int], max_words: int) -> list[tuple[int, int]]:
    """A "sentence" of more than twice max_words words (text without full stops, a pasted
    table) cut at white space into runs of max_words words."""
    start, end = sentence
    if word_count(text[start:end]) <= 2 * max_words:
        runs = [sentence]
    else:
        spaces = [m.start() for m in re.finditer(r"\s+", text[start:end])]
        cuts = [start + spaces[i] for i in range(max_words - 1, len(spaces), max_words)]
        bounds = [start, *cuts, end]
        runs = [_trim(text, a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]
    return [piece for run in runs for piece in _short(text, run)]


def _short(text: str, run: tuple[int, int]) -> list[tuple[int, int]]:
    """A run of more than MAX_CHARS characters cut into pieces of at most that many: at the
    last white space that keeps a piece short enough, or, in text without any, at the limit."""
    start, end = run
    pieces = []
    while end - start > MAX_CHARS:
        space = max(text.rfind(" ", start + 1, start + MAX_CHARS), text.rfind("\n", start + 1, start + MAX_CHARS))
        cut = space if space > start else start + MAX_CHARS
        pieces.append(_trim(text, start, cut))
        start = _trim(text, cut, end)[0]
    pieces.append((start, end))
    return [p for p in pieces if p[1] > p[0]]


def _pieces(sentences, text, max_words):
    """Group consecutive sentences into about equal pieces of at most ~max_words words."""
    counts = [word_count(text[s:e]) for s, e in sentences]
    total = sum(counts)
    if total <= max_words and (not sentences or sentences[-1][1] - sentences[0][0] <= MAX_CHARS):
        return [sentences] if sentences else []
    target = total / max(1, math.ceil(total / max_words))
    pieces, current, before = [], [], 0
    for sentence, count in zip(sentences, counts):
        # cut before the sentence whose middle passes the next multiple of the target length,
        # or that would take the piece over MAX_CHARS (each sentence alone is within it)
        if current and (before + count / 2 > target * (len(pieces) + 1)
                        or sentence[1] - current[0][0] > MAX_CHARS):
            pieces.append(current)
            current = []
        current.append(sentence)
        before += count
    pieces.append(current)
    return pieces


def transcript_of_id(segment_id: str) -> str:
    """The transcript id a segment id (`stable_id`) begins with ("" when it is not shaped like
    one): "E05" of "E05-3fa2c1" and of "E05-3fa2c1-2"."""
    match = re.fullmatch(r"(.+)-[0-9a-f]{6}(?:-[0-9]+)?", segment_id)
    return match.group(1) if match else ""


def stable_id(transcript_id: str, passage: str, seen: dict[str, int]) -> str:
    """"E05-3fa2c1": the transcript id and a hash of the words (white space folded), so the id
    survives edits elsewhere in the transcript; a repeat of the same words gets "-2", "-3"."""
    digest = hashlib.sha1(" ".join(passage.split()).encode("utf-8")).hexdigest()[:6]
    base = f"{transcript_id}-{digest}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"
