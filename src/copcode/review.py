"""Reviewing suggestions: the queue of what a coder has not decided yet, a session that turns
keys into decisions (and undoes them), and the spreadsheet round trip for teams that review
in Excel. Nothing here reads keys or prints; the command line does that."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from copcode.codebook import Codebook
from copcode.decisions import check_coder, coding_state, current_code_id, find_segment, moved_segment, record_many
from copcode.errors import CopcodeError, LookupFailed
from copcode.store import Store

SHEET_COLUMNS = ["segment", "participant", "group", "theme", "code", "label", "score", "quote",
                 "text", "decision", "other_code", "note", "coder"]
SHEET_DECISIONS = ("accept", "reject", "")
ORDERS = ("transcript", "uncertain")


@dataclass
class ReviewItem:
    segment: str
    code: str
    participant: str
    group: str
    theme: str
    score: float
    start: int  # of the segment, in its transcript
    text: str
    evidence: list[dict]
    quote_start: int
    quote_end: int
    transcript: str = ""
    question: str = ""  # the question the passage answers (tables.question_spans; "" when none)
    question_start: int = 0  # of the question, in the transcript


def review_queue(store: Store, codebook: Codebook, coder: str, *, theme: str | None = None,
                 code: str | None = None, participant: str | Sequence[str] | None = None,
                 group: str | Sequence[str] | None = None, min_score: float = 0.0, order: str = "transcript",
                 cue_threshold: float = 0.35) -> list[ReviewItem]:
    """The suggestions this coder has not decided yet, filtered, each with the interviewer's
    question just before its passage (verbatim: the screen redacts it). A coder who stops and
    comes back starts where they left off. `order`: "transcript" (in transcript order) or
    "uncertain": those nearest the score they needed first (a learned suggestion's
    threshold, else `cue_threshold`), so that each decision teaches the model the most."""
    check_coder(coder)  # before the screen opens, not at the first key
    if order.lower() not in ORDERS:
        raise CopcodeError(f"unknown order {order!r}", fix=f"use one of: {', '.join(ORDERS)}.")
    order = order.lower()  # `--order Uncertain` as well
    from copcode.tables import ProjectView, question_spans

    view = ProjectView(store, codebook)
    theme_id, code_id = view.theme_and_code(theme, code)
    wanted = view.people_filter(participant or None, group or None)
    items = []
    for c in view.codings:
        if (c.segment, c.code, coder) in view.state.states or c.origin in ("tagged", "withdrawn"):
            continue  # decided by this coder already, or not a suggestion (now)
        if (theme_id and c.theme != theme_id) or (code_id and c.code != code_id) or \
                not wanted(c.participant, c.group) or c.score < min_score:
            continue
        items.append(ReviewItem(c.segment, c.code, c.participant, c.group, c.theme, c.score, c.start,
                                c.text, c.evidence_list(), *c.suggested, c.transcript))
    spans = question_spans(store, {i.segment for i in items})
    for item in items:
        if item.segment in spans:
            _, item.question_start, item.question = spans[item.segment]
    if order == "uncertain":
        items.sort(key=lambda i: abs(i.score - _needed(i.evidence, cue_threshold)))  # stable: ties keep their order
    return items


def _needed(evidence: list[dict], cue_threshold: float) -> float:
    """The score a suggestion needed: its learned threshold, else the cues'."""
    return next((e["threshold"] for e in evidence if e.get("kind") == "learned"), cue_threshold)


@dataclass
class ReviewSession:
    """One coder going through a queue. Each action appends decisions; undo appends `undo`
    decisions for the last action and goes back to its item. A suggestion the coder decided
    on the way (re-coding a passage with a code also suggested there) is not asked again."""
    store: Store
    codebook: Codebook
    coder: str
    items: list[ReviewItem]
    index: int = 0
    history: list[tuple[int, list]] = field(default_factory=list)
    decided: int = 0

    @property
    def current(self) -> ReviewItem | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def _item(self) -> ReviewItem:
        """The current item; an action is taken only while there is one (the review loop
        stops when `current` is None)."""
        item = self.current
        assert item is not None, "no item left to review"
        return item

    def accept(self, note: str = "") -> None:
        self._decide([("accept", self._item().code, note)])

    def reject(self, note: str = "") -> None:
        self._decide([("reject", self._item().code, note)])

    def recode(self, code_id: str, note: str = "") -> None:
        """The passage carries another code, not the suggested one."""
        new = current_code_id(self.codebook, code_id)
        if new == self._item().code:  # the code suggested is the one chosen: an accept
            self.accept(note)
            return
        self._decide([("reject", self._item().code, note), ("tag", new, note)])

    def skip(self) -> None:
        self.history.append((self.index, []))
        self._next()

    def undo(self) -> bool:
        """Take back the last action (its decisions stay in the log, cancelled by `undo`). A
        CopcodeError when another command took one of them back already (`copcode undo`):
        nothing is recorded, and the action leaves the history (the next undo takes back the
        one before it)."""
        if not self.history:
            return False
        index, decisions = self.history.pop()
        rows = [(d.segment, d.code, "undo", "") for d in reversed(decisions)]  # record_many notes what each undoes
        if rows:
            with self.store.transaction():
                record_many(self.store, self.codebook, rows, self.coder)
            self.decided -= 1
        self.index = index
        return True

    def _decide(self, actions) -> None:
        item = self._item()
        rows = [(item.segment, code, verdict, note) for verdict, code, note in actions]
        with self.store.transaction():
            decisions = record_many(self.store, self.codebook, rows, self.coder)
        self.history.append((self.index, decisions))
        self.decided += 1
        self._next()

    @property
    def left(self) -> int:
        """The items of the queue this session has not decided, skipped ones included."""
        done = self._done()
        return sum((item.segment, item.code) not in done for item in self.items)

    def _done(self) -> set[tuple[str, str]]:
        """The (segment, code) pairs this session decided (and did not undo)."""
        return {(d.segment, d.code) for _, decisions in self.history for d in decisions}

    def _next(self) -> None:
        """On to the next item that this session has not decided already."""
        done = self._done()
        self.index += 1
        while self.index < len(self.items) and (self.items[self.index].segment, self.items[self.index].code) in done:
            self.index += 1


def review_sheet(items: list[ReviewItem], codebook: Codebook, coder: str):
    """The queue as a table with empty `decision`, `other_code` and `note` columns, and the
    coder it is for, so that importing it records their decisions whoever imports it."""
    import pandas as pd

    labels = {code.id: code.label for code in codebook.codes}
    return pd.DataFrame([{
        "segment": i.segment, "participant": i.participant, "group": i.group, "theme": i.theme,
        "code": i.code, "label": labels.get(i.code, ""), "score": i.score,
        "quote": i.text[i.quote_start - i.start:i.quote_end - i.start], "text": i.text,
        "decision": "", "other_code": "", "note": "", "coder": coder,
    } for i in items], columns=SHEET_COLUMNS)


def import_review_sheet(store: Store, codebook: Codebook, path: Path, coder: str | None,
                        shown_as=lambda name: name) -> tuple[str, dict[str, int]]:
    """Apply a filled-in review sheet: every row is checked first, and either all of its
    decisions are recorded or, when any row is wrong, none (each bad row is named; two rows
    that give and reject one code on one segment, a re-code's other_code and a reject of
    that code say, are both wrong). A row
    that repeats the coder's current decision is counted as unchanged, not recorded again.
    Ids a CSV export escaped with a leading apostrophe (`'=1-3fa2c1`) are read as written.
    The decisions are the sheet's coder's (its `coder` column, as `shown_as` writes a name
    in outputs) or `coder`'s, which must then be the same; with neither, the default coder.
    Returns the coder and the counts."""
    frame = _read_sheet(path)
    missing = [c for c in ("segment", "code", "decision") if c not in frame.columns]
    if missing:
        raise CopcodeError(
            f"the sheet has no column {', '.join(repr(m) for m in missing)}",
            where=str(path),
            fix="use the sheet that `copcode review --export` wrote; keep its header row.")
    coder = _sheet_coder(frame, path, coder, shown_as)
    problems, rows = [], []
    counts = {"accept": 0, "reject": 0, "recode": 0, "skipped": 0, "unchanged": 0, "moved": 0}
    current = coding_state(store, codebook).states
    said: dict[tuple[str, str], tuple[int, bool]] = {}  # (segment, code) -> the first row on it, gives it
    for number, record in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        decision = _cell(record.get("decision")).lower()
        other = _cell(record.get("other_code"))
        note = _cell(record.get("note"))
        segment, code = _cell(record.get("segment")), _cell(record.get("code"))
        try:
            if decision not in SHEET_DECISIONS:
                raise CopcodeError(f"unknown decision {decision!r}: write accept, reject, or "
                                   "leave it empty to skip")
            if decision == "accept" and other:
                raise CopcodeError("accept and other_code together: to re-code, write reject "
                                   "(or nothing) in decision and the new code in other_code")
            segment, moved = _sheet_segment(store, segment, _cell(record.get("text")))
            counts["moved"] += moved
            code = _code_id(codebook, code)
            if other:
                other = _code_id(codebook, other)
            if decision == "accept" and (segment, code) not in store.suggested({segment}):
                raise CopcodeError(f"{code} is not (or no longer) suggested on {segment}: the code column "
                                   "says what was suggested; to give another code, write reject and the code "
                                   "in other_code")
        except CopcodeError as exc:
            problems.append(f"row {number}: {exc.what}")
            continue
        def now(code_id, segment=segment):
            return current.get((segment, current_code_id(codebook, code_id), coder))

        for said_code, gives in ([(code, False), (other, True)] if other else
                                 [(code, decision == "accept")] if decision else []):
            earlier = said.setdefault((segment, said_code), (number, gives))
            if earlier[1] != gives and earlier[0] != number:  # applied in order, the later row would silently undo the earlier
                problems.append(f"row {number}: {'gives' if gives else 'rejects'} {said_code} on {segment}, but "
                                f"row {earlier[0]} {'rejects' if gives else 'gives'} it; keep one of the two")
                break  # one problem a row: the count says how many rows
        if (other and now(code) == "rejected" and now(other) == "accepted") or \
                (decision and not other and now(code) == {"accept": "accepted", "reject": "rejected"}[decision]):
            counts["unchanged"] += 1  # the sheet was imported before: nothing new to record
        elif other:
            rows += [(segment, code, "reject", note), (segment, other, "tag", note)]
            counts["recode"] += 1
        elif decision:
            rows.append((segment, code, decision, note))
            counts[decision] += 1
        else:
            counts["skipped"] += 1
    if problems:
        raise CopcodeError(
            f"{len(problems)} row(s) cannot be applied, so none were:\n" +
            "\n".join(f"  {p}" for p in problems),
            where=str(path), fix="correct those rows and import the sheet again.")
    with store.transaction():
        record_many(store, codebook, rows, coder)
    return coder, counts


def _sheet_segment(store: Store, segment_id: str, words: str) -> tuple[str, bool]:
    """(the id of the segment a sheet's row is on, whether it moved): the row's own, or, when
    its transcript was edited after the sheet was written (the segment's id went with its
    words), the segment that holds the row's words (its `text` column) now."""
    try:
        return find_segment(store, segment_id)["id"], False
    except LookupFailed:
        moved = moved_segment(store, segment_id, words)
        if moved is None:
            raise LookupFailed(f"unknown segment {segment_id!r}, and its words (the text column) are not found in "
                               "the project either: its transcript changed since the sheet was written") from None
        return moved, True


def _sheet_coder(frame, path: Path, coder: str | None, shown_as) -> str:
    """Whose decisions the sheet holds: see `import_review_sheet`."""
    from copcode.decisions import default_coder

    named = sorted({_cell(v) for v in frame["coder"]} - {""}) if "coder" in frame.columns else []
    if len(named) > 1:
        raise CopcodeError(f"the sheet's coder column names several coders ({', '.join(named)})", where=str(path),
                           fix="import one coder's sheet at a time: `copcode review --export` writes one per coder.")
    if not named:
        return default_coder() if coder is None else coder
    if coder is None:
        if named[0] != shown_as(named[0]) or named[0].startswith("["):  # pseudonymised in the sheet
            raise CopcodeError(f"the sheet's coder is shown as {named[0]!r}, pseudonymised", where=str(path),
                               fix="give the coder's name with --coder NAME.")
        return named[0]
    if named[0] not in (coder, shown_as(coder)):
        raise CopcodeError(f"the sheet is {named[0]}'s (its coder column), not {coder}'s", where=str(path),
                           fix=f"import it with --coder {named[0]}, or, if {coder} filled it in, clear the coder "
                               "column first.")
    return coder


def _code_id(codebook: Codebook, code_id: str) -> str:
    """The code's current id; one a CSV export wrote with a leading apostrophe (`'-x`, so
    that a spreadsheet shows it as text) is read as it was (`-x`)."""
    try:
        return current_code_id(codebook, code_id)
    except CopcodeError:
        if code_id.startswith("'"):
            try:
                return current_code_id(codebook, code_id[1:])
            except CopcodeError:
                pass
        raise


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # empty or NaN
        return ""
    return str(value).strip()


def _read_sheet(path: Path):
    import pandas as pd

    from copcode.ingest.zipsafe import UnsafeArchive, check_workbook

    path = Path(path)
    if not path.is_file():
        raise CopcodeError("the sheet does not exist", where=str(path),
                           fix="give the path of the sheet `copcode review --export` wrote.")
    try:
        if path.suffix.lower() == ".xlsx":
            check_workbook(path)
            return pd.read_excel(path, dtype=str, engine="openpyxl")
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnsafeArchive as exc:
        raise CopcodeError(f"a sheet too large to open safely: {exc}", where=str(path),
                           fix="check where it came from; export the queue again with `copcode review --export`.") from None
    except Exception as exc:  # pandas and openpyxl raise many kinds for a damaged file
        raise CopcodeError(f"cannot read the sheet ({type(exc).__name__})", where=str(path),
                           fix="save it again as .xlsx or .csv.") from None
    raise CopcodeError("a review sheet must be .xlsx or .csv", where=str(path),
                       fix="save it as .xlsx or .csv.")
