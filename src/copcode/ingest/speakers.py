"""Who speaks where: speaker labels found in a transcript's text, and each speaker's role.

A turn starts at a line that opens with a speaker label and runs to the next one. The
conventions read (see README, 'Transcripts'):
- `Label: words` (a label of up to four words, before a colon; `**Label:**` too), with a time
  before or after the label (`[00:01:23] Interviewer:`, `Speaker 1 (00:01:23):`);
- a label line on its own, with a time (`Speaker 1  0:03`, as Otter and Teams write it) or a
  colon (`Interviewer:`), or bare (`Sarah`, a bold paragraph in Word), then the words on the
  next lines;
- in any of these, a placeholder in square brackets, as copcode's pseudonymised outputs write a
  listed name (`[name]: words`, `[name]  0:08`, `[name]` alone), unless it is a transcriber's
  mark (`[laughs]`); one placeholder for every speaker is no labels.
A label counts when it is a known word (Interviewer, Q, A, P1, the transcript's own id, a name
the file or the reader lists) or opens two turns or more; so "Two reasons: time and money"
inside an answer is not a label. Offsets are exact: `text[start:end]` is the words, without
labels or times.

Roles: the header's `speakers:` mapping first; then `interviewer_labels:` from copcode.yaml;
then known interviewer words; then the speaker whose turns are mostly questions, and shorter.
Every other speaker is a participant, each with their own id when there are several.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from copcode.model import Turn

# known words, compared case-folded; a number may follow ("Interviewer 2", "INT1")
INTERVIEWER_WORDS = ["Interviewer", "Q", "INT", "Int", "I", "IV", "Facilitator", "Moderator",
                     "Question", "Co-facilitator"]
PARTICIPANT_WORDS = ["Participant", "Respondent", "Interviewee", "A", "R", "RESP", "Resp", "P",
                     "Answer"]
SPEAKER_WORDS = ["Speaker", "Person", "Voice", "Unknown speaker", "Guest"]
PARTICIPANT_ID = re.compile(r"^[^\W\d_]{1,3}\d{1,3}$")
# words that open a line with a colon without being anyone: a note, metadata, a link
NOT_SPEAKERS = {"note", "notes", "nb", "ps", "date", "time", "location", "place", "duration",
                "title", "subject", "transcript", "transcriber", "recording", "file", "source",
                "summary", "comment", "comments", "edit", "update", "example", "e.g", "i.e", "re",
                "http", "https", "www", "tel", "email", "agenda", "action", "actions", "step",
                "keywords", "total", "end", "start", "present", "attendees", "cc", "to", "from"}
# one-word lines that are answers, not names, when a line stands alone
ANSWERS = {"yes", "no", "yeah", "yep", "nope", "ok", "okay", "right", "sure", "thanks", "thank you",
           "mm", "mm-hmm", "mhm", "hmm", "uh-huh", "exactly", "absolutely", "definitely", "great",
           "good", "fine", "true", "maybe", "sorry", "well", "so", "and", "but", "indeed", "totally",
           "interesting", "lovely", "brilliant", "perfect", "cool", "wow", "oh", "ah", "um", "er"}
# what transcribers write in square brackets at a line's start that is no speaker ("[laughs]:")
MARKS = {"laughs", "laughing", "laughter", "inaudible", "crosstalk", "cross talk", "cross-talk", "overtalk",
         "overlapping", "overlapping speech", "pause", "pauses", "long pause", "silence", "sic", "unclear",
         "indistinct", "translation", "translated", "translator", "interpreter", "music", "noise",
         "background noise", "coughs", "cough", "sighs", "sigh", "applause", "interruption", "phone rings",
         "break", "end", "end of recording", "recording ends", "recording stops", "technical issue",
         "chuckles", "chuckle", "chuckling", "giggles", "giggling", "both laugh", "all laugh", "crying", "cries",
         "sobbing", "tearful", "upset", "sniffs", "clears throat", "yawns", "whispers", "whispering",
         "unintelligible", "phone ringing", "knock", "knocking", "door opens", "door closes",
         "redacted", "name redacted", "removed", "name removed", "gap", "audio cuts out", "connection lost"}
# The first words of placeholders that stand for a person (`_stands_for_a_person`).
PLACEHOLDER_WORDS = {"name", "interviewer", "participant", "respondent", "interviewee", "researcher", "facilitator",
                     "moderator", "speaker", "person", "staff", "carer", "client", "patient", "user", "service",
                     "worker", "member", "anon", "anonymous", "pseudonym", "initials"}
PARTICLES = {"de", "van", "von", "der", "den", "da", "di", "du", "la", "le", "bin", "al", "del", "dos", "y"}

_TS = r"\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d{1,3})?(?!\d|:\d)"  # a whole time, never its first part
_TIME = rf"(?:\[{_TS}\]|\({_TS}\)|{_TS})"
_B = r"(?:\*\*|__)?"  # Markdown bold around a label
_LABEL = r"[^\W\d_][\w'’.\-]*(?:[ \t]+(?!\d{1,2}:\d)[\w'’.\-]+){0,3}"
# the last words of labels that name a role, not a person ("Social worker:", "Practice nurse:"):
# such a label is read in any case, and `privacy scan` does not list it as a possible name
ROLE_NOUNS = frozenset("""worker nurse manager officer carer assistant therapist practitioner coordinator co-ordinator
    lead leader member parent mother father mum dad daughter son wife husband partner friend relative doctor gp
    consultant student volunteer advocate commissioner director chair clinician pharmacist paramedic receptionist
    adviser advisor navigator specialist midwife visitor matron administrator teacher counsellor psychologist
    psychiatrist physiotherapist researcher interpreter translator observer""".split())
# first words that make a role label in sentence case a phrase of someone's words, not a speaker
# ("My social worker: she said ...", "her manager: no."); "An Nguyen:" is written as a name
DETERMINERS = frozenset("my our your his her their its a an".split())
# the words before a person's name that are no part of it (as `fold` gives them)
TITLES = frozenset("dr mr mrs ms mx miss prof professor sir dame lady lord nurse sister rev cllr".split())
# a title before a placeholder: "Dr [interviewer]:" is "Dr Sam Lee:" with the listed name replaced
_TITLE = rf"(?:(?i:{'|'.join(sorted(TITLES))})\.?[ \t]+(?=\[))?"
_INLINE = re.compile(
    rf"^[ \t]*{_B}(?:{_TIME}[ \t]+)?{_B}{_TITLE}\[?(?P<label>{_LABEL})\]?(?:[ \t]*{_TIME})?[ \t]*{_B}[ \t]*:{_B}"
    rf"[ \t]*(?:(?:\[{_TS}\]|\({_TS}\))[ \t]*)?")  # a bare time after the colon may be the words
_ALONE_TIME = re.compile(
    rf"^[ \t]*{_B}(?:{_TITLE}\[?(?P<label>{_LABEL})\]?{_B}[ \t]*(?:[-–|][ \t]*)?{_TIME}"
    rf"|{_TIME}[ \t]+(?:[-–|][ \t]*)?{_TITLE}\[?(?P<label2>{_LABEL})\]?{_B})[ \t]*$")
_BARE = re.compile(rf"^[ \t]*{_B}{_TITLE}(?P<open>\[)?(?P<label>{_LABEL})(?(open)\]){_B}[ \t]*$")
_TIMELINE = re.compile(rf"^[ \t]*\[?{_TS}\]?(?:[ \t]*-->[ \t]*\[?{_TS}\]?)?[ \t]*$")
_WORD = re.compile(r"\S+")


@dataclass
class Body:
    """What a reader makes of a file: the transcript's text, the header's fields, and what
    the reader knows of its speakers."""
    text: str
    header: dict
    format: str  # as the preview names it: "text", "Word", "WebVTT captions", ...
    turns: list[tuple[str, int, int]] | None = None  # (speaker, start, end) when the file says (captions, a Word table)
    label_lines: frozenset[int] = frozenset()  # lines that hold only a label (bold Word paragraphs)


def fold(label: str) -> str:
    """The label as compared: case-folded, white space as one space, no end dots."""
    return " ".join(label.split()).casefold().rstrip(".")


def _matches(label: str, words) -> bool:
    folded = fold(label)
    return any(re.fullmatch(re.escape(fold(w)) + r"[ \t]*\d{0,2}", folded) for w in words)


def is_interviewer(label: str, words) -> bool:
    """"Interviewer", and numbered variants such as "Interviewer 2" or "INT1"."""
    return _matches(label, words)


def _misspelt_interviewer(label: str) -> str | None:
    """The long interviewer word a label misspells ("Interveiwer", "Moderater"), if any: a
    typo must not turn the interviewer's questions into a participant's words."""
    import difflib

    folded = fold(label)
    for word in ("Interviewer", "Facilitator", "Moderator"):
        if folded != fold(word) and difflib.SequenceMatcher(None, folded, fold(word)).ratio() >= 0.8:
            return word
    return None


def is_known(label: str, participant: str, listed=(), configured=()) -> bool:
    """A label that is a speaker's wherever it stands: listed by the file or its reader,
    configured, a known interviewer, participant or speaker word, or a participant id."""
    folded = fold(label)
    return (folded in {fold(x) for x in listed}
            or _matches(label, [*configured, *INTERVIEWER_WORDS, *PARTICIPANT_WORDS, *SPEAKER_WORDS])
            or folded == fold(participant)
            or bool(PARTICIPANT_ID.match(label.strip()))
            or _misspelt_interviewer(label) is not None)


def _name_like(label: str) -> bool:
    """A label written as a name (each word capitalised: "Sam Lee", "Social Worker") or naming a
    role in any case ("Social worker", "practice nurse") unless a possessive or an article opens
    it ("My social worker", "a nurse": someone's words, quoting or naming another; "An
    Nguyen", written as a name, is one)."""
    words = label.split()
    if fold(label) in NOT_SPEAKERS or label.rstrip().endswith((".", ",", "?", "!", "-")):
        return False
    return all(w[0].isupper() or w[0].isdigit() or w.casefold() in PARTICLES for w in words) or \
        (len(words) > 0 and fold(words[-1]) in ROLE_NOUNS and fold(words[0]) not in DETERMINERS)


@dataclass
class Candidate:
    line: int  # 0-based line number
    line_start: int  # offset of the line in the text
    label: str
    kind: str  # "inline" (words on the line), "alone" (colon or time, words below), "bare"
    words_at: int | None  # where the words start; None: at the next line
    # written in square brackets ("[name]:"), as copcode's pseudonymised outputs write a listed
    # name: a label when it opens two turns or more, whatever its case, unless it is a
    # transcriber's mark ("[laughs]:", "[Interviewer's note]:")
    bracketed: bool = False


@dataclass
class RawTurn:
    label: str
    start: int
    end: int
    line: int  # 0-based line of the label


@dataclass
class Detection:
    turns: list[RawTurn]
    convention: str
    joined: list[tuple[int, str, str]] = field(default_factory=list)  # (line, label, joined to)


def _lines(text: str) -> list[tuple[int, int]]:
    spans, at = [], 0
    for line in text.split("\n"):
        spans.append((at, at + len(line)))
        at += len(line) + 1
    return spans


def _candidates(text: str, lines: list[tuple[int, int]], label_lines=frozenset()) -> list[Candidate]:
    found = []
    for number, (start, end) in enumerate(lines):
        line = text[start:end]
        if ":" in line:
            m = _INLINE.match(line)
            if m:
                rest = line[m.end():]
                bracketed = _placeholder(line, m, "label")
                if rest.strip():
                    found.append(Candidate(number, start, m["label"], "inline", start + m.end(), bracketed))
                else:
                    found.append(Candidate(number, start, m["label"], "alone", None, bracketed))
                continue
            m = _ALONE_TIME.match(line)
            if m:
                group = "label" if m["label"] else "label2"
                found.append(Candidate(number, start, m[group], "alone", None, _placeholder(line, m, group)))
                continue
        m = _BARE.match(line)
        if m and len(m["label"].split()) <= 4:
            # alone on its line, only a placeholder for a person is a label: a transcriber's
            # "[Chuckles]" or "[long silence]" stays in the turn
            bracketed = _placeholder(line, m, "label") and _stands_for_a_person(m["label"])
            if m["open"] and not bracketed:
                continue
            after = _nonblank(text, lines, number, 1)
            if after is None or _TIMELINE.match(after):
                continue
            before = _nonblank(text, lines, number, -1) or ""
            kind = "alone" if (_TIMELINE.match(before) and before.strip()) or number in label_lines else "bare"
            found.append(Candidate(number, start, m["label"], kind, None, bracketed))
    return found


def _placeholder(line: str, m: re.Match, group: str) -> bool:
    """Whether the label `m` found in `line` is written in square brackets ("[name]:",
    "[name]  0:08", "[name]" on its own line) and is no transcriber's mark ("[laughs]",
    "[Interviewer's note]")."""
    start, end = m.start(group), m.end(group)
    label = fold(m[group])
    return line[start - 1:start] == "[" and line[end:end + 1] == "]" and label not in MARKS \
        and not {"note", "notes"} & set(label.split())


def _stands_for_a_person(label: str) -> bool:
    """Whether a placeholder's words name a person, as the replacements of listed names do
    ("name", "Interviewer", "Participant 7", "P1", "NAME"), rather than what a transcriber
    notes ("Chuckles", "long silence", "Translator's comment")."""
    words = fold(label).split()
    return bool(words) and (words[0] in PLACEHOLDER_WORDS or label.isupper() or bool(PARTICIPANT_ID.match(label))
                            or _matches(label, [*INTERVIEWER_WORDS, *PARTICIPANT_WORDS, *SPEAKER_WORDS]))


def _nonblank(text: str, lines: list[tuple[int, int]], number: int, step: int) -> str | None:
    """The nearest line after (step 1) or before (step -1) line `number` that is not blank."""
    at = number + step
    while 0 <= at < len(lines):
        line = text[lines[at][0]:lines[at][1]]
        if line.strip():
            return line
        at += step
    return None


def detect(text: str, participant: str, listed=(), configured=(), label_lines=frozenset()) -> Detection:
    """The turns of `text` as its labels open them (see the module's docstring)."""
    lines = _lines(text)
    candidates = _candidates(text, lines, label_lines)
    counts: dict[str, int] = {}
    for c in candidates:
        if c.kind != "bare":
            counts[fold(c.label)] = counts.get(fold(c.label), 0) + 1

    cache: dict[str, bool] = {}

    def known(label):
        if label not in cache:
            cache[label] = is_known(label, participant, listed, configured)
        return cache[label]

    def labelled(c):
        if fold(c.label) in NOT_SPEAKERS and fold(c.label) not in {fold(x) for x in listed}:
            return False
        return known(c.label) or (counts.get(fold(c.label), 0) >= 2 and (c.bracketed or _name_like(c.label))
                                  and fold(c.label) not in ANSWERS)

    accepted = [c for c in candidates if c.kind != "bare" and labelled(c)]
    if any(c.bracketed for c in accepted):  # placeholders label this file: one that opens one turn too
        accepted += [c for c in candidates if c.kind != "bare" and c.bracketed and c not in accepted
                     and fold(c.label) not in NOT_SPEAKERS and _stands_for_a_person(c.label)]
    if accepted and all(c.bracketed and not known(c.label) for c in accepted) and \
            len({fold(c.label) for c in accepted}) == 1:
        accepted = []  # one placeholder for every speaker ("[name]:"): who asks cannot be told
    convention = _convention(accepted)
    if accepted:
        names = {fold(c.label) for c in accepted}
        accepted += [c for c in candidates if c.kind == "bare" and fold(c.label) in names]
    else:
        bare = [c for c in candidates if c.kind == "bare" and fold(c.label) not in ANSWERS
                and fold(c.label) not in NOT_SPEAKERS and (known(c.label) or c.bracketed or _name_like(c.label))]
        bare_counts: dict[str, int] = {}
        for c in bare:
            bare_counts[fold(c.label)] = bare_counts.get(fold(c.label), 0) + 1
        names = {k for k, n in bare_counts.items() if n >= 2}
        if any(c.bracketed and fold(c.label) in names for c in bare):  # as above
            names |= {fold(c.label) for c in bare if c.bracketed}  # (bare ones stand for a person)
        if len(names) >= 2 or any(known(c.label) for c in bare if fold(c.label) in names):
            accepted = [c for c in bare if fold(c.label) in names]
            convention = "a label line, then the words"
    accepted.sort(key=lambda c: c.line)
    turns = []
    for i, c in enumerate(accepted):
        start = c.words_at
        if start is None:
            start = lines[c.line + 1][0] if c.line + 1 < len(lines) else len(text)
        end = accepted[i + 1].line_start if i + 1 < len(accepted) else len(text)
        end = _trimmed_end(text, start, end)
        while start < end and text[start].isspace():
            start += 1
        turns.append(RawTurn(c.label, start, max(start, end), c.line))
    taken = {c.line for c in accepted}
    starts = [t.line for t in turns]
    joined = []
    for c in candidates:
        if c.line in taken or c.kind == "bare" or not (_name_like(c.label) or fold(c.label) in NOT_SPEAKERS):
            continue
        before = bisect.bisect_left(starts, c.line)
        if before:
            joined.append((c.line, c.label, turns[before - 1].label))
    return Detection(turns, convention, joined)


def _convention(accepted: list[Candidate]) -> str:
    if not accepted:
        return ""
    inline = sum(c.kind == "inline" for c in accepted)
    return "Label: words" if inline * 2 >= len(accepted) else "a label line, then the words"


def _trimmed_end(text: str, start: int, end: int) -> int:
    """`end` moved back over white space and lines that hold only a time."""
    while True:
        while end > start and text[end - 1].isspace():
            end -= 1
        line_start = text.rfind("\n", start, end) + 1 or start
        line_start = max(line_start, start)
        if end > start and _TIMELINE.match(text[line_start:end]) and text[line_start:end].strip():
            end = line_start
            continue
        return end


@dataclass
class Speaker:
    """One speaker of a transcript: the label as first written, the role and how it was
    decided, the participant id (empty for an interviewer), and how much they say."""
    label: str
    role: str
    decided: str
    participant: str = ""
    turns: int = 0
    words: int = 0
    questions: int = 0


def assign_roles(turns: list[RawTurn], text: str, transcript_id: str, *, configured=(), mapping=None,
                 csv_ids=None) -> tuple[list[Turn], list[Speaker], list[str]]:
    """The turns with roles and participant ids, the speakers, and notes on the decision
    (a speaker left as a participant because no interviewer could be told apart).
    `mapping`: the header's `speakers:` mapping (name -> interviewer, participant or an id);
    `csv_ids`: participant ids by speaker from participants.csv (folded speaker -> id)."""
    mapping = {fold(k): v for k, v in (mapping or {}).items()}
    csv_ids = csv_ids or {}
    speakers: dict[str, Speaker] = {}
    for turn in turns:
        s = speakers.setdefault(fold(turn.label), Speaker(turn.label, "", ""))
        words = text[turn.start:turn.end]
        s.turns += 1
        s.words += len(words.split())
        s.questions += "?" in words
    notes: list[str] = []
    for key, s in speakers.items():
        value = mapping.get(key)
        if value is not None:
            s.role = "interviewer" if value.casefold() == "interviewer" else "participant"
            s.decided = "the file's header (speakers:)"
            if value.casefold() not in ("interviewer", "participant"):
                s.participant = value
    undecided = [s for s in speakers.values() if not s.role]
    configured_hits = [s for s in undecided if configured and is_interviewer(s.label, configured)]
    for s in configured_hits:
        s.role, s.decided = "interviewer", "interviewer_labels in copcode.yaml"
    if not configured_hits:
        for s in undecided:
            if is_interviewer(s.label, INTERVIEWER_WORDS):
                s.role, s.decided = "interviewer", "a known interviewer label"
            elif (meant := _misspelt_interviewer(s.label)) is not None:
                s.role, s.decided = "interviewer", f"a misspelling of {meant}"
                notes.append(f"'{s.label}' is read as the interviewer: it looks like a misspelling of "
                             f"'{meant}'; correct it, or map it in the header's `speakers:`")
    if not any(s.role == "interviewer" for s in speakers.values()):
        guess = _questioner([s for s in speakers.values() if not s.role
                             and not _is_participant_word(s.label, transcript_id)], list(speakers.values()))
        if guess:
            guess.role = "interviewer"
            shorter = guess.words / guess.turns < sum(s.words for s in speakers.values() if s is not guess) / max(
                1, sum(s.turns for s in speakers.values() if s is not guess))
            guess.decided = (f"asks the questions in {guess.questions} of {guess.turns} turns"
                             + (", in shorter turns" if shorter else ""))
        elif len(speakers) > 1:
            notes.append("no interviewer found, so every speaker is read as a participant; name the "
                         "interviewer with `interviewer_labels:` in copcode.yaml or `speakers:` in the header")
    for s in speakers.values():
        if not s.role:
            s.role = "participant"
            s.decided = ("the transcript's id" if fold(s.label) == fold(transcript_id)
                         else "a known participant label" if _is_participant_word(s.label, transcript_id)
                         else "not the interviewer")
    participants = [s for s in speakers.values() if s.role == "participant"]
    for s in participants:
        if s.participant:
            continue
        if len(participants) == 1 or fold(s.label) == fold(transcript_id):
            s.participant = transcript_id
        else:
            s.participant = csv_ids.get(fold(s.label)) or f"{transcript_id}-{'-'.join(s.label.split())}"
    result = [Turn(t.label, speakers[fold(t.label)].role, t.start, t.end, speakers[fold(t.label)].participant)
              for t in turns]
    return result, list(speakers.values()), notes


def _is_participant_word(label: str, transcript_id: str) -> bool:
    return (_matches(label, PARTICIPANT_WORDS) or fold(label) == fold(transcript_id)
            or bool(PARTICIPANT_ID.match(label.strip())) and not is_interviewer(label, INTERVIEWER_WORDS))


def _questioner(candidates: list[Speaker], everyone: list[Speaker]) -> Speaker | None:
    """The speaker whose turns are mostly questions and shorter than the others', if one
    stands out: at least 40% of their turns hold a question, at least half as many again as
    anyone else's, and their turns are shorter on average than everyone else's together (or,
    if not shorter, nobody else asks in more than a quarter of their turns)."""
    if len(everyone) < 2 or not candidates:
        return None
    def share(s):
        return s.questions / s.turns if s.turns else 0.0
    best = max(candidates, key=lambda s: (share(s), -s.words / max(1, s.turns)))
    others = [s for s in everyone if s is not best]
    other_share = max(share(s) for s in others)
    other_words = sum(s.words for s in others) / max(1, sum(s.turns for s in others))
    shorter = best.words / max(1, best.turns) < other_words
    if share(best) >= 0.4 and share(best) >= 1.5 * other_share and (shorter or other_share <= 0.25):
        return best
    return None
