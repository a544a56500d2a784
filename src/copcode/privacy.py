"""Pseudonymisation of everything copcode writes or shows, and the scan for what may still
identify someone. The store keeps the original words, so offsets stay true; redaction
happens on the way out.

copcode.yaml:
    privacy:
      identifiers:                 # each listed identifier and its replacement
        "Firstname Surname": "[name]"
        "Ashford": "[town]"
      detect: [email, phone, postcode, nhs_number, date]   # the default: all of them

Listed identifiers match whole words, in any case ("ASHFORD", "ashford's"), with any white
space or a hyphen between their words (line breaks, no-break spaces; "Margaret-Hughes"), after Unicode normalisation
(composed or decomposed accents, compatibility forms, accents dropped: "Zoë" also matches
"Zoe\u0308" and "Zoe"; curly apostrophes and primes for "'"), and in their mojibake form
(UTF-8 read as Windows-1252: "ZoÃ«"). Detected identifiers are replaced by "[email]",
"[phone]", "[postcode]", "[NHS number]" (a number with a valid check digit only) and "[date]".

Every output passes through one `Redactor` (`redactor_for`; `IDENTITY` when nothing is
listed or with --no-redact). A passage cut from a transcript (a segment, a quote, a slice of
the HTML report) is redacted with the identifiers found in the whole transcript, so a name
cut in half by a segment boundary is replaced on both sides of the cut."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

from copcode.errors import ProjectError

DETECTORS = ("email", "phone", "postcode", "nhs_number", "date")
ID_COLUMNS = {"segment", "transcript", "participant", "group", "theme", "code", "parent", "status", "kind",
              "decision", "other_code", "verdict", "coder", "at"}
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
PATTERNS = {
    "email": (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    "phone": (re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"),
              "[phone]"),
    "postcode": (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I), "[postcode]"),
    "nhs_number": (re.compile(r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)"), "[NHS number]"),
    "date": (re.compile(
        r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
        rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+\d{{4}})?"
        rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b", re.I), "[date]"),
}


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check digit."""
    digits = re.sub(r"\D", "", digits)
    if len(digits) != 10:
        return False
    remainder = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    check = 11 - remainder
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    text: str
    kind: str  # "listed", a detector's name, or "speaker" (a label written as `redact_mapped` is told)
    replacement: str


# Told apart by nothing a reader would notice: these are read as an ASCII apostrophe.
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018\u02bc\u2032\u02b9\uff07"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SPACES = {"\u200b", "\u2060", "\ufeff"}  # zero-width: between two words they are a space
# A listed name's words match across any white space and across a hyphen or en dash
# ("Margaret-Hughes", a line broken at "Margaret-\nHughes"), whichever of them the list writes:
# ASCII, U+2010 (U+2011, the no-break hyphen, is U+2010 once normalised), U+2013. Otherwise a
# listed "Margaret" leaves "[name]-Hughes".
_BETWEEN_WORDS = r"(?:\s*[-\u2010\u2011\u2013]\s*|\s+)"  # the hyphen first: "Jean - Paul" is two words


def normalised(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """`text` as listed identifiers are matched in it: compatibility forms folded (NFKC),
    accents and case dropped, apostrophe variants made `'`, invisible format characters
    (soft hyphen, joiners) removed, zero-width spaces made spaces. With it, for each of its
    characters, where the original character (with its combining marks) starts and ends;
    None for both when nothing moved (plain ASCII)."""
    if text.isascii():
        return text.lower(), None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for run in _NON_ASCII.finditer(text):
        first = run.start() - 1 if unicodedata.combining(text[run.start()]) and run.start() > at else run.start()
        out.append(text[at:first].lower())  # plain ASCII: one character for one
        starts.extend(range(at, first))
        ends.extend(range(at + 1, first + 1))
        i, n = first, run.end()
        while i < n:
            j = i + 1
            while j < n and unicodedata.combining(text[j]):
                j += 1
            cluster = text[i:j]
            if cluster in _SPACES:
                piece = " "
            elif unicodedata.category(cluster[0]) == "Cf":
                piece = ""
            else:
                piece = "".join(c for c in unicodedata.normalize("NFKD", cluster) if not unicodedata.combining(c))
                piece = unicodedata.normalize("NFKC", piece).casefold().translate(_APOSTROPHES)
            out.append(piece)
            starts += [i] * len(piece)
            ends += [j] * len(piece)
            i = j
        at = n
    out.append(text[at:].lower())
    starts.extend(range(at, len(text)))
    ends.extend(range(at + 1, len(text) + 1))
    return "".join(out), starts, ends


def _variants(name: str) -> set[str]:
    """The name, and how it reads when its UTF-8 bytes were decoded as Windows-1252."""
    variants = {name}
    try:
        variants.add(name.encode("utf-8").decode("cp1252"))
    except UnicodeDecodeError:
        pass
    return variants


class _NoPassages:
    """No store to find passages in: each text is redacted on its own."""

    def text(self, transcript):
        return None

    def span(self, segment):
        return None


class Redactor:
    """Replaces listed and detected identifiers in any text. Every output passes through one:
    `Redactor({}, ())` (see `IDENTITY`) changes nothing, so callers never test for None.

    A passage cut from a transcript is redacted with the identifiers found in the whole
    transcript (`redact_slice`, `redact_at`), so a name split by a cut is still replaced."""

    def __init__(self, identifiers: dict[str, str], detect: tuple[str, ...] = DETECTORS, passages=None):
        self.identifiers = identifiers
        self.detect = tuple(detect)
        listed = sorted(identifiers, key=len, reverse=True)  # "Ashford Road" before "Ashford"
        self.listed = []
        for name in listed:
            for variant in sorted(_variants(name)):
                # a listed "Anne-Marie Smith" also matches "Anne Marie Smith" and "Anne–Marie"
                words = [w for w in re.split(_BETWEEN_WORDS, normalised(variant)[0]) if w]
                if words:
                    self.listed.append((re.compile(r"(?<!\w)" + _BETWEEN_WORDS.join(map(re.escape, words)) + r"(?!\w)"),
                                        identifiers[name]))
        self.active = bool(self.listed or self.detect)
        self.passages = passages or _NoPassages()  # where redact_frame finds a passage's transcript
        self._cache: dict[tuple[str, bool], list[Finding]] = {}

    def hider(self, text: str, start: int = 0, end: int | None = None):
        """A test of whether a word shown on its own (a learned suggestion's strongest word)
        stands inside an identifier found in `text` (listed or detected) within `text[start:end]`:
        "harvey" of "William Harvey Hospital", "gmail" of an e-mail address. Redacting the
        evidence's text cannot catch such a word once it stands alone."""
        end = len(text) if end is None else end
        hidden = {word for f in self.findings(text) if f.start < end and start < f.end
                  for word in re.findall(r"\w+", normalised(text[f.start:f.end])[0])}
        return lambda word: normalised(word)[0] in hidden

    def findings(self, text: str, *, detected: bool = True) -> list[Finding]:
        """Every identifier in `text`, earliest first, overlaps resolved for the longest.
        Offsets are into `text` as given."""
        if not self.active or not text:
            return []
        key = (text, detected)
        if key in self._cache:
            return self._cache[key]
        found = []
        if self.listed:
            folded, starts, ends = normalised(text)
            for pattern, replacement in self.listed:
                for m in pattern.finditer(folded):
                    if starts is None or ends is None:  # normalised() gives None for both, or for neither
                        start, end = m.start(), m.end()
                    else:
                        start, end = starts[m.start()], ends[m.end() - 1]
                    found.append(Finding(start, end, text[start:end], "listed", replacement))
        for kind in self.detect if detected else ():
            pattern, replacement = PATTERNS[kind]
            for m in pattern.finditer(text):
                if kind == "nhs_number" and not nhs_number_valid(m.group()):
                    continue
                found.append(Finding(m.start(), m.end(), m.group(), kind, replacement))
        found.sort(key=lambda f: (f.start, -(f.end - f.start), f.kind != "listed"))
        kept, end = [], -1
        for finding in found:
            if finding.start >= end:
                kept.append(finding)
                end = finding.end
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[key] = kept
        return kept

    def redact(self, text: str) -> str:
        """A free-standing text (a label, a definition, an attribute value) redacted."""
        return self.redact_slice_mapped(text)[0]

    def redact_names(self, text: str) -> str:
        """Listed identifiers only: for ids, coder names and dates, which the detectors
        would mangle."""
        return self.redact_slice_mapped(text, detected=False)[0]

    def redact_mapped(self, text: str, labels: Sequence[tuple[int, int, str]] = ()):
        """(redacted text, a function from an offset in `text` to one in the redacted text).
        `labels`: (start, end, what to write) of speaker labels written otherwise than as
        their identifiers' replacements (export.refi: a named speaker as their id)."""
        return self.redact_slice_mapped(text, labels=[Finding(a, b, text[a:b], "speaker", shown)
                                                      for a, b, shown in labels])

    def speaker(self, turn, transcript) -> str:
        """A turn's speaker label as the report shows it: as written, or when it holds an
        identifier ("Margaret Okafor"), the participant's id ("FG1-P1", "P05"), or for the
        interviewer "Interviewer": a focus group's "[name]:" on every line loses who spoke.
        `transcript`: its id and participant (a turn stored before turns had one)."""
        label = turn["speaker"]
        if self.redact(label) == label:
            return label
        if turn["role"] == "interviewer":
            return "Interviewer"
        return self.redact_names(turn["participant"] or transcript["participant"])

    def redact_slice(self, text: str, start: int = 0, end: int | None = None) -> str:
        """`text[start:end]` redacted with the identifiers of the whole `text`: the part of
        an identifier that the slice holds is shown as the identifier's replacement."""
        return self.redact_slice_mapped(text, start, end)[0]

    def redact_slice_mapped(self, text: str, start: int = 0, end: int | None = None, *, detected: bool = True,
                            labels: Sequence[Finding] = ()):
        """(`text[start:end]` redacted, a function from an offset relative to `start` to one
        in the redacted slice). `labels`: findings written instead of any identifier they
        overlap; what such an identifier holds outside them ("Carter" of a label line "Ben"
        above "Carter and the staff", "Ben Carter" listed) is still replaced."""
        end = len(text) if end is None else end
        pieces, shifts, at = [], [], start
        findings = self.findings(text, detected=detected)
        if labels:
            labels = sorted(labels, key=lambda f: f.start)
            starts = [label.start for label in labels]
            findings = sorted([*labels, *(part for f in findings for part in _outside(f, labels, starts, text))],
                              key=lambda f: f.start)
        for f in findings:
            if f.start >= end:
                break
            if f.end <= start:
                continue
            s, e = max(f.start, start), min(f.end, end)
            pieces += [text[at:s], f.replacement]
            shifts.append((s - start, e - start, len(f.replacement) - (e - s)))
            at = e
        pieces.append(text[at:end])

        def mapped(offset: int) -> int:
            moved = offset
            for s, e, shift in shifts:
                if offset >= e:
                    moved += shift
                elif offset > s:  # inside an identifier: to the end of its replacement
                    moved += (e - offset) + shift
                    break
                else:
                    break
            return moved
        return "".join(pieces), mapped

    def redact_at_mapped(self, text: str, transcript: str | None = None, start: int | None = None, *,
                         segment: str | None = None):
        """`text`, which was cut from `transcript` (or from the transcript of `segment`) at
        `start`, redacted with that transcript's identifiers when it is still there (else on
        its own), and the offset map (offsets relative to `text`)."""
        if not self.active:
            return text, lambda i: i
        if transcript is None and segment is not None:
            transcript = (self.passages.span(segment) or (None,))[0]
        whole = self.passages.text(transcript) if transcript is not None else None
        if whole is not None and start is not None and whole[start:start + len(text)] == text:
            return self.redact_slice_mapped(whole, start, start + len(text))
        return self.redact_slice_mapped(text)

    def redact_at(self, text: str, transcript: str | None = None, start: int | None = None, *,
                  segment: str | None = None) -> str:
        return self.redact_at_mapped(text, transcript, start, segment=segment)[0]

    def redact_frame(self, frame):
        """A copy of a DataFrame with its text redacted. Passages (`text`, `quote`) are found
        in their transcript (by `transcript`/`start`/`end` or `segment`) and redacted with the
        whole transcript's identifiers. Columns that hold ids (segment, participant, code, ...)
        get listed identifiers only, so ids and dates still work."""
        if not self.active:
            return frame
        frame = frame.copy()
        records = frame.to_dict("records")
        for column in frame.columns:
            values = list(frame[column])
            if not any(isinstance(v, str) for v in values):
                continue
            if column in ID_COLUMNS:
                frame[column] = [self.redact_names(v) if isinstance(v, str) else v for v in values]
            elif column in PASSAGE_COLUMNS:
                frame[column] = [self._passage(v, row) if isinstance(v, str) else v
                                 for v, row in zip(values, records)]
            else:
                frame[column] = [self.redact(v) if isinstance(v, str) else v for v in values]
        return frame

    def _passage(self, value: str, row: dict) -> str:
        transcript, low, high = None, 0, None
        span = self.passages.span(row["segment"]) if isinstance(row.get("segment"), str) else None
        if span is not None:
            transcript, low, high = span
        elif isinstance(row.get("transcript"), str):
            transcript = row["transcript"]
        whole = self.passages.text(transcript) if transcript is not None else None
        if whole is None or not value:
            return self.redact(value)
        start, end = row.get("start"), row.get("end")
        if isinstance(start, Integral) and isinstance(end, Integral) and whole[int(start):int(end)] == value:
            return self.redact_slice(whole, int(start), int(end))
        at = whole.find(value, low, len(whole) if high is None else high)
        return self.redact(value) if at < 0 else self.redact_slice(whole, at, at + len(value))

    def redact_codebook(self, codebook):
        """A copy of the codebook with every text a reader sees redacted (title, labels,
        descriptions, definitions, include/exclude notes, examples, pattern names); ids and
        cues stay as they are, so it still works with the store."""
        if not self.active:
            return codebook
        r = self.redact

        def code(c):  # and the codes inside it: a tree is at most MAX_CODE_DEPTH deep
            return c.model_copy(update={
                "label": r(c.label), "definition": r(c.definition), "include": r(c.include),
                "exclude": r(c.exclude), "codes": [code(child) for child in c.codes],
                "examples": [e.model_copy(update={"quote": r(e.quote)}) for e in c.examples]})
        themes = [t.model_copy(update={"label": r(t.label), "description": r(t.description),
                                       "codes": [code(c) for c in t.codes]}) for t in codebook.themes]
        return codebook.model_copy(update={"title": r(codebook.title), "description": r(codebook.description),
                                           "name": r(codebook.name), "themes": themes,
                                           "path": self.redact_names(codebook.path)})


PASSAGE_COLUMNS = {"text", "quote"}
IDENTITY = Redactor({}, ())
"""Changes nothing: the redactor when the project lists nothing, or with --no-redact."""


def _outside(finding: Finding, labels: Sequence[Finding], starts: Sequence[int], text: str) -> list[Finding]:
    """The parts of `finding` outside every one of `labels` (sorted, apart from each other;
    `starts`: theirs; white space at the parts' ends left out), each with the finding's
    replacement."""
    import bisect

    parts = [(finding.start, finding.end)]
    at = bisect.bisect_left(starts, finding.end)
    while at > 0 and labels[at - 1].end > finding.start:  # the labels it overlaps, last first
        at -= 1
        label = labels[at]
        parts = [piece for a, b in parts for piece in ((a, min(b, label.start)), (max(a, label.end), b))
                 if piece[0] < piece[1]]
    kept = []
    for a, b in parts:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            kept.append(Finding(a, b, text[a:b], finding.kind, finding.replacement))
    return kept


def label_spans(text: str, turns) -> list[tuple[int, int] | None]:
    """Where each of `turns` (speaker, start, end, as the store keeps them) has its speaker
    label written in `text`: the label's last place between the turn before and the turn's
    words (on the turn's line, `Sam Lee: ...`, or on a line of its own above it, `Sam Lee
    0:02`); None when the text does not hold it (captions, a Word table)."""
    spans: list[tuple[int, int] | None] = []
    previous_end = 0
    for turn in turns:
        at = text.rfind(turn["speaker"], previous_end, turn["start"])
        spans.append((at, at + len(turn["speaker"])) if at >= 0 and turn["speaker"] else None)
        previous_end = max(previous_end, turn["end"])
    return spans


def redactor_for(project, *, enabled: bool = True, store=None) -> Redactor:
    """The project's redactor, or `IDENTITY` when copcode.yaml has no `privacy:` or
    `enabled` is False (--no-redact). Passages are matched to their transcripts in `store`,
    or else in the project's store, read when first needed."""
    settings = project.settings.privacy
    if not enabled or settings is None:
        return IDENTITY
    if not isinstance(settings, dict) or set(settings) - {"identifiers", "detect"}:
        raise ProjectError("`privacy:` takes `identifiers:` and `detect:`", where="copcode.yaml",
                           fix="see README, 'Privacy'.")
    identifiers = settings.get("identifiers") or {}
    detect = settings.get("detect", list(DETECTORS))
    if not isinstance(detect, list):
        detect = [detect]
    unknown = [d for d in detect if d not in DETECTORS]
    if not isinstance(identifiers, dict) or unknown:
        raise ProjectError(
            f"unknown detector(s) {', '.join(map(str, unknown))}" if unknown else
            "`identifiers:` must map each identifier to its replacement",
            where="copcode.yaml",
            fix=f"detectors are {', '.join(DETECTORS)}; identifiers look like \"Ashford\": \"[town]\".")
    return Redactor({str(k): str(v) for k, v in identifiers.items()}, tuple(detect),
                    _Passages(store, project.store_path))


def checked_ids(project, transcripts):
    """The transcripts, one by one; stops at one whose participant id (a file name, or a
    header's `participant:`) is a listed identifier: ids are shown as they are in every
    output, so they must not name anyone."""
    redactor = redactor_for(project)
    for t in transcripts:
        for value in dict.fromkeys((t.id, t.participant)):
            found = _listed_in_id(redactor, value)
            if found:
                raise ProjectError(
                    f"the participant id {value!r} is a listed identifier ({found})", where=t.source,
                    fix=("give that row another id, such as R0007" if "#row" in t.source else
                         "rename the file to a code such as P07.txt, or set `participant: P07` in its header")
                    + "; ids are shown unredacted in every output.")
        # a focus group's speakers are participants of their own, named after their label
        for turn in {turn.participant: turn for turn in t.turns if turn.participant}.values():
            found = _listed_in_id(redactor, turn.participant)
            if found and turn.participant not in (t.id, t.participant):
                raise ProjectError(
                    f"the participant id {turn.participant!r} of the speaker {turn.speaker!r} is a listed "
                    f"identifier ({found})", where=t.source,
                    fix=f"map the speaker to an id in the transcript's header, e.g. `speakers: "
                    f"{{{turn.speaker}: {t.id}-P1}}`; ids are shown unredacted in every output.")
        yield t


def check_codebook_ids(project, codebook) -> None:
    """Theme and code ids are shown as they are in every output (labels are redacted, ids are
    keys): a codebook whose id holds a listed identifier is refused."""
    redactor = redactor_for(project)
    for kind, item in [("theme", t) for t in codebook.themes] + [("code", c) for c in codebook.codes]:
        found = _listed_in_id(redactor, item.id)
        if found:
            raise ProjectError(f"the {kind} id {item.id!r} holds a listed identifier ({found})",
                               where=codebook.path,
                               fix=f"give the {kind} another id (its label may name anyone: labels are "
                                   "pseudonymised, ids are not).")


def _listed_in_id(redactor, value: str) -> str | None:
    """The listed identifier an id spells, with - _ . read as spaces ("margaret-okafor")."""
    found = redactor.findings(re.sub(r"[_.-]+", " ", value), detected=False)
    return found[0].text if found else None


class _Passages:
    """Transcript texts and segment spans from the store, read when first asked for; only
    the most recent transcripts are kept, so a large corpus is not held in memory."""

    def __init__(self, store=None, path=None):
        from functools import lru_cache

        self.store, self.path = store, path
        self.text = lru_cache(maxsize=64)(self._text)
        self.span = lru_cache(maxsize=4096)(self._span)

    def _opened(self):
        if self.store is None and self.path is not None and self.path.exists():
            from copcode.store import open_store

            self.store = open_store(self.path, create=False, readonly=True)
        return self.store

    def _text(self, transcript: str) -> str | None:
        store = self._opened()
        return store.transcript_text(transcript) if store is not None else None

    def _span(self, segment: str) -> tuple[str, int, int] | None:
        store = self._opened()
        return store.segment_span(segment) if store is not None else None



def scan(store, redactor: Redactor):
    """What may still identify someone, per transcript with offsets: listed and detected
    identifiers; speaker labels that look like names (not role words or participant ids:
    they are shown in the `speaker` column and in exports), kind "speaker"; and capitalised
    words (likely names of people, places or services; a sentence's first word as said
    below), kind "capitalised", as whole words of the text. Listed names are left out of the
    last two.
    For a person to confirm, then list in copcode.yaml."""
    import pandas as pd
    import spacy
    from spacy.matcher import Matcher

    from copcode.ingest.speakers import TITLES, fold
    from copcode.segment import split_sentences

    nlp = spacy.blank("en")
    names = Matcher(nlp.vocab)
    names.add("name", [[{"IS_TITLE": True, "IS_STOP": False},
                        {"IS_TITLE": True, "IS_STOP": False, "OP": "*"}]], greedy="LONGEST")
    if not redactor.active:  # nothing listed: the detectors still say what they find
        redactor = Redactor({})
    listed = {" ".join(normalised(name)[0].split()) for name in redactor.identifiers}
    participant_of = {row["id"]: row["participant"] for row in store.transcript_rows()}
    texts = list(store.transcripts_with_text())
    # the words written in lower case somewhere: a sentence's capitalised first word that never
    # is ("Graham Hill was my keyworker") may be a name
    lower = {word for _, text in texts for word in _LOWER_WORD.findall(_ADDRESS.sub(" ", text))}
    english = _english_words()
    # the words of listed names of two words or more, titles aside: "Okafor" alone is not
    # "Margaret Okafor". A place's words count too ("Road" of a listed "Ashford Road"): leaving
    # out such words would leave out surnames (Hill, Green, Hall)
    parts = {word for name in listed if len(name.split()) > 1 for word in name.split()} - {fold(t) for t in TITLES}
    rows = []
    for transcript_id, text in texts:
        findings = redactor.findings(text)
        spans = {(f.start, f.end) for f in findings}
        for f in findings:
            rows.append({"transcript": transcript_id, "start": f.start, "end": f.end, "text": f.text,
                         "kind": f.kind, "replacement": f.replacement})
        turns = store.turns_of(transcript_id)
        rows += _speaker_rows(transcript_id, text, turns, participant_of.get(transcript_id, transcript_id),
                              redactor)
        runs: list[tuple[int, int, int | None]] = []
        for turn in turns:
            for s_start, s_end in split_sentences(text, turn["start"], turn["end"]):
                runs += _capitalised_runs(nlp.make_doc(text[s_start:s_end]), names, text, s_start)
        # a run that opens a sentence keeps its first word when that word is capitalised inside
        # a sentence somewhere in the transcript ("Gareth Jones came" where "met Gareth" is
        # too), or is written in lower case nowhere and is no common opening word ("Graham
        # Hill was my keyworker", "Priya did too."): "Thanks Bob" is "Bob", "Good." nothing
        inside = {word for start, end, rest in runs if rest is None for word in normalised(text[start:end])[0].split()}
        for start, end, rest in runs:
            if rest is not None:
                first = text[start:rest].strip()
                folded = re.sub(r"['’]s$", "", first.casefold())  # "Online's" as "online"
                # alone, also no English word ("Priya did too.", not "Weird.")
                if not (set(normalised(first)[0].split()) <= inside or
                        (folded not in lower and folded not in OPENERS and (rest < end or not english(folded)))):
                    if rest >= end:
                        continue
                    start = rest
            words = text[start:end]
            # what the listed and detected identifiers leave of the run: nothing, or a title
            # alone ("Dr" of "Dr Hannah Whitfield", Hannah Whitfield listed), says nothing new
            # (a word's possessive and the punctuation after it are not the word: "Kerry's")
            run = [(start + m.start(), m.group()) for m in re.finditer(r"\S+", words)]
            run = [(at, re.sub(r"(?:['’]s)?\W*$", "", word) or word) for at, word in run]
            left = [word for at, word in run if not any(a <= at and at + len(word) <= b for a, b in spans)]
            if " ".join(normalised(words)[0].split()) in listed or words in _COMMON or \
                    (len(left) < len(run) and all(fold(word) in TITLES for word in left)):
                continue
            partly = any(normalised(word)[0] in parts for word in left)
            rows.append({"transcript": transcript_id, "start": start, "end": end,
                         "text": words, "kind": "part of a listed name" if partly else "capitalised",
                         "replacement": ""})
    return pd.DataFrame(rows, columns=["transcript", "start", "end", "text", "kind", "replacement"])


def _capitalised_runs(doc, names, text: str, offset: int) -> list[tuple[int, int, int | None]]:
    """The runs of capitalised words of a sentence (`doc`, at `offset` in `text`), as whole
    words of the text: (start, end, None), or (start, end, where the words after the first
    start, or `end` for a word alone) for a run that opens the sentence (also after
    "[laughs]" or a quotation mark), whose first word is capitalised anyway."""
    found: list[tuple[int, int, int | None]] = []
    for _, first, last in sorted(names(doc), key=lambda m: m[1]):
        opens = first == 0 or doc[first - 1].text in ("]", '"', "“", "'", "(")
        span = doc[first:last]
        start, end = _whole_words(text, offset + span.start_char, offset + span.end_char)
        rest = None
        if opens:
            rest = _whole_words(text, offset + doc[first + 1].idx, end)[0] if last - first > 1 else end
        if found and not text[found[-1][1]:start].strip():  # next to (or over) the one before:
            before = found.pop()  # one name that spaCy cut in two ("Dare" + "nt Valley")
            start, end, rest = min(before[0], start), max(before[1], end), before[2]
        found.append((start, end, rest))
    return found


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) widened to the word boundaries of `text`: spaCy's tokenizer may cut a word
    ("Darent" is "Dare" + "nt", "Mary-Jane" three tokens), and the scan reports words as the
    text has them, a hyphenated name whole (listing "Jane Okafor" of "Mary-Jane Okafor" would
    leave "Mary-[name]")."""
    def inside(i: int) -> bool:  # a letter, or a hyphen or apostrophe between two ("Mary-Jane", "O'Neill")
        return text[i].isalnum() or (text[i] in "-'’\u2010\u2011" and 0 < i < len(text) - 1
                                     and text[i - 1].isalnum() and text[i + 1].isalnum())

    while start > 0 and inside(start - 1):
        start -= 1
    while end < len(text) and inside(end):
        end += 1
    return start, end


def _speaker_rows(transcript_id: str, text: str, turns, participant: str, redactor: Redactor) -> list[dict]:
    """A row for each speaker label of the transcript that looks like a person's name, where
    it is first written: the label itself, found between the turn before and its turn's words
    (on the turn's line, `Sam Lee: ...`, or on a line of its own above it, `Sam Lee  0:02`);
    at its turn's start, with no length, when the text does not hold it."""
    from copcode.ingest.speakers import NOT_SPEAKERS, PARTICLES, ROLE_NOUNS, fold, is_known

    rows, seen = [], set()
    for turn, span in zip(turns, label_spans(text, turns)):
        label = " ".join(turn["speaker"].split())
        if fold(label) in seen:
            continue
        seen.add(fold(label))
        words = label.split()
        if not words or is_known(label, participant) or fold(label) in NOT_SPEAKERS or \
                fold(label) in _ROLES or fold(words[-1]) in ROLE_NOUNS or any(c.isdigit() for c in label) or \
                not all(w[:1].isupper() or w.casefold() in PARTICLES for w in words):
            continue
        hidden = sum(f.end - f.start for f in redactor.findings(label, detected=False))
        if hidden >= len(label.replace(" ", "")):
            continue  # listed already
        start, end = span or (turn["start"], turn["start"])
        rows.append({"transcript": transcript_id, "start": start, "end": end, "text": turn["speaker"],
                     "kind": "speaker", "replacement": ""})
    return rows


# speaker labels that name no person ("Staff: ...", "All: ..."), beside those whose last word is a
# role (speakers.ROLE_NOUNS: "Nurse", "Social worker")
_ROLES = {"staff", "note taker", "notetaker", "host", "all", "everyone", "group", "others", "both",
          "audience", "unknown", "inaudible", "crosstalk", "multiple speakers", "various"}


def _english_words():
    """Whether a lower-case word is one spacy-lookups-data's English lemma tables know (a form
    or a lemma); names such as "Graham" or "Sue" are among them."""
    from spacy.lookups import load_lookups

    tables = load_lookups("en", ["lemma_lookup", "lemma_index"])
    forms = tables.get_table("lemma_lookup")  # keyed by the forms' hashes
    lemmas = set(forms.values()) | {word for words in tables.get_table("lemma_index").values() for word in words}
    return lambda word: word in lemmas or word in forms


# what holds no word of the text's own: an e-mail address, a web address ("graham-hill@nhs.uk",
# "calendly.com/book?with=priya")
_ADDRESS = re.compile(r"\S*[@/=]\S*|\S*\w\.\w\S*")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*")
# Words that open sentences, capitalised there, and that a transcript may never write in lower
# case: a run they open is reported without them ("Thanks Bob" is "Bob"), and alone they are
# not reported. spaCy's stop words ("and", "then", "so") are not here: the scan's matcher never
# starts a run with one.
OPENERS = frozenset("""absolutely actually afternoon ah apparently basically brilliant bye certainly cheers clearly
    congratulations dear definitely er erm evening exactly finally fine firstly fortunately generally good goodbye
    great hello hey hi hiya hmm honestly hopefully instead interestingly lastly later like lovely luckily maybe
    mhm mm mm-hmm morning nope obviously oh ok okay overall perfect personally plus probably right sadly second
    secondly sorry sure thank thanks thirdly today tomorrow uh-huh uh-uh um unfortunately usually welcome yeah
    yep yes yesterday""".split())
_COMMON = {
    "I", "Interviewer", "Mm", "Yeah", "Yes", "No", "OK", "Okay", "Oh", "Well", "So", "And", "But",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "English", "British", "Christmas", "Easter",
    "Kent", "University", "Teams", "Zoom", "Care Act", "Workforce", "Complex Conditions",
}
