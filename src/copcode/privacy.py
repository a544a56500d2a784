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
space between their words. Detected identifiers are replaced by "[email]", "[phone]",
"[postcode]", "[NHS number]" (a number with a valid check digit only) and "[date]"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copcode.errors import ProjectError

DETECTORS = ("email", "phone", "postcode", "nhs_number", "date")
ID_COLUMNS = {"segment", "transcript", "participant", "group", "theme", "code", "status", "kind",
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
    kind: str  # "listed", or a detector's name
    replacement: str


class Redactor:
    """Replaces listed and detected identifiers in any text."""

    def __init__(self, identifiers: dict[str, str], detect: tuple[str, ...] = DETECTORS):
        self.identifiers = identifiers
        self.detect = detect
        listed = sorted(identifiers, key=len, reverse=True)  # "Ashford Road" before "Ashford"
        self.listed = [(re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)",
                                   re.I), identifiers[name]) for name in listed if name.strip()]

    def findings(self, text: str) -> list[Finding]:
        """Every identifier in `text`, earliest first, overlaps resolved for the longest."""
        found = [Finding(m.start(), m.end(), m.group(), "listed", replacement)
                 for pattern, replacement in self.listed for m in pattern.finditer(text)]
        for kind in self.detect:
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
        return kept

    def redact(self, text: str) -> str:
        return self.redact_mapped(text)[0]

    def redact_mapped(self, text: str):
        """(redacted text, a function from an offset in `text` to one in the redacted text)."""
        pieces, shifts, at = [], [], 0
        for f in self.findings(text):
            pieces += [text[at:f.start], f.replacement]
            shifts.append((f.start, f.end, len(f.replacement) - (f.end - f.start)))
            at = f.end
        pieces.append(text[at:])

        def mapped(offset: int) -> int:
            moved = offset
            for start, end, shift in shifts:
                if offset >= end:
                    moved += shift
                elif offset > start:  # inside an identifier: to the end of its replacement
                    moved += (end - offset) + shift
                    break
                else:
                    break
            return moved
        return "".join(pieces), mapped

    def redact_frame(self, frame):
        """A copy of a DataFrame with its text redacted; columns that hold ids (segment,
        participant, code, ...) are left alone, so the ids still work."""
        from copcode.export import map_text_cells

        ids = [c for c in frame.columns if c in ID_COLUMNS]
        redacted = map_text_cells(frame.drop(columns=ids), self.redact)
        for column in ids:
            redacted[column] = frame[column]
        return redacted[list(frame.columns)]


def redactor_for(project, *, enabled: bool = True) -> Redactor | None:
    """The project's redactor, or None when copcode.yaml has no `privacy:` (or `enabled` is
    False, as with --no-redact)."""
    settings = project.settings.privacy
    if not enabled or settings is None:
        return None
    if not isinstance(settings, dict) or set(settings) - {"identifiers", "detect"}:
        raise ProjectError("`privacy:` takes `identifiers:` and `detect:`", where="copcode.yaml",
                           fix="see README, 'Privacy'.")
    identifiers = settings.get("identifiers") or {}
    detect = settings.get("detect", list(DETECTORS))
    unknown = [d for d in detect if d not in DETECTORS]
    if not isinstance(identifiers, dict) or unknown:
        raise ProjectError(
            f"unknown detector(s) {', '.join(map(str, unknown))}" if unknown else
            "`identifiers:` must map each identifier to its replacement",
            where="copcode.yaml",
            fix=f"detectors are {', '.join(DETECTORS)}; identifiers look like \"Ashford\": \"[town]\".")
    return Redactor({str(k): str(v) for k, v in identifiers.items()}, tuple(detect))


def scan(store, redactor: Redactor | None):
    """What may still identify someone, per transcript with offsets: listed and detected
    identifiers, and capitalised words inside sentences (likely names of people, places or
    services) that are not listed. For a person to confirm, then list in copcode.yaml."""
    import pandas as pd
    import spacy
    from spacy.matcher import Matcher

    from copcode.segment import split_sentences

    nlp = spacy.blank("en")
    names = Matcher(nlp.vocab)
    names.add("name", [[{"IS_TITLE": True, "IS_STOP": False},
                        {"IS_TITLE": True, "IS_STOP": False, "OP": "*"}]], greedy="LONGEST")
    redactor = redactor or Redactor({})
    listed = {name.casefold() for name in redactor.identifiers}
    rows = []
    for transcript_id, text in store.db.execute("SELECT id, text FROM transcripts ORDER BY id"):
        findings = redactor.findings(text)
        spans = {(f.start, f.end) for f in findings}
        for f in findings:
            rows.append({"transcript": transcript_id, "start": f.start, "end": f.end, "text": f.text,
                         "kind": f.kind, "replacement": f.replacement})
        turns = store.db.execute('SELECT start, "end" FROM turns WHERE transcript = ?', (transcript_id,)).fetchall()
        for turn in turns:
            for s_start, s_end in split_sentences(text, turn["start"], turn["end"]):
                doc = nlp.make_doc(text[s_start:s_end])
                for _, first, last in names(doc):
                    span = doc[first:last]
                    start, end = s_start + span.start_char, s_start + span.end_char
                    if first == 0 or doc[first - 1].text in ("]", '"', "“", "'", "(") or \
                            span.text.casefold() in listed or span.text in _COMMON or \
                            any(a <= start < b for a, b in spans):
                        continue  # a sentence's first word (also after "[laughs]") is capitalised anyway
                    rows.append({"transcript": transcript_id, "start": start, "end": end,
                                 "text": span.text, "kind": "capitalised", "replacement": ""})
    return pd.DataFrame(rows, columns=["transcript", "start", "end", "text", "kind", "replacement"])


_COMMON = {
    "I", "Interviewer", "Mm", "Yeah", "Yes", "No", "OK", "Okay", "Oh", "Well", "So", "And", "But",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "English", "British", "Christmas", "Easter",
    "Kent", "University", "Teams", "Zoom", "Care Act", "Workforce", "Complex Conditions",
}
