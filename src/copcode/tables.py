"""Views of the store: the codings as data, and the tables made from them (coded segments,
every segment, exemplar quotes, the coding summary, the Framework matrix, co-occurrence).

A command builds one `ProjectView` (store + codebook) and hands it to every view it shows:
the decisions' state and the codings are computed once, when first asked for. A coding's
status, accepting coders and origin are fields (`Coding`); the text "accepted by a, b" is made
only where a table is shown or written, and nothing reads it back.

The views that the reading commands print (`quotes`, `segments`) return a `Table`, a light
list of rows that the csv/json/md/terminal renderers take, so those commands never import
pandas; the matrix and co-occurrence use pandas."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import groupby

from copcode.codebook import Codebook
from copcode.errors import CopcodeError, LookupFailed

STATUSES = ("accepted", "suggested", "all")
SEGMENT_COLUMNS = ["segment", "transcript", "participant", "group", "theme", "code", "start",
                   "end", "text", "score", "status"]
QUOTE_COLUMNS = ["segment", "transcript", "participant", "group", "theme", "code", "start",
                 "end", "quote", "score", "status"]
SEGMENT_LIST_COLUMNS = ["segment", "transcript", "participant", "group", "speaker", "start", "end",
                        "text", "codes"]
CHUNK_ROWS = 5000  # quote texts fetched together


# ---------------------------------------------------------------- a light table

class Table:
    """Columns and rows (dicts), the small part of a pandas DataFrame's interface that the
    renderers (export.render_table, the terminal, privacy.Redactor.redact_frame, xlsx) use;
    `to_frame()` gives a real DataFrame where one is needed."""

    def __init__(self, columns, rows=()):
        self.columns = list(columns)
        self.rows = [dict(r) for r in rows]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def empty(self) -> bool:
        return not self.rows

    def __getitem__(self, column: str) -> list:
        return [row.get(column) for row in self.rows]

    def __setitem__(self, column: str, values) -> None:
        if column not in self.columns:
            self.columns.append(column)
        for row, value in zip(self.rows, values, strict=True):
            row[column] = value

    def copy(self) -> Table:
        return Table(self.columns, self.rows)

    def rename(self, columns: dict[str, str]) -> Table:
        """A copy with columns renamed, as DataFrame.rename(columns=...)."""
        return Table([columns.get(c, c) for c in self.columns],
                     [{columns.get(c, c): v for c, v in row.items()} for row in self.rows])

    def where(self, keep) -> Table:
        return Table(self.columns, [r for r in self.rows if keep(r)])

    def to_dict(self, orient: str = "records") -> list[dict]:
        assert orient == "records"
        return [{c: row.get(c) for c in self.columns} for row in self.rows]

    def itertuples(self, index: bool = False):
        assert not index
        return (tuple(row.get(c) for c in self.columns) for row in self.rows)

    def to_csv(self, index: bool = False) -> str:
        """As pandas writes it: a header, "\\n" line ends, quotes only where needed."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.itertuples())
        return out.getvalue()

    def to_json(self, orient: str = "records", force_ascii: bool = False, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=force_ascii, indent=indent)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.to_dict(), columns=self.columns)


# ---------------------------------------------------------------- codings as data

@dataclass(slots=True)
class Coding:
    """A code on a segment. `status`: "accepted" (some coder's current decision is accept or
    tag), "rejected" (every coder who decided rejected it) or "suggested" (nobody decided).
    `coders`: who accepted it, in name order (any characters). `origin`: "suggested" (the
    engine suggested it and nobody accepted it yet), "accepted" (suggested, then accepted),
    "tagged" (a coder tagged or imported it; never suggested) or "withdrawn" (rejected, and no
    longer suggested: its transcript is coded now and has its cues' suggestions, the learned
    model was taught by the rejection, or the codebook changed; so the rejection stays listed). A tag has score 1.0, a withdrawn one 0.0; both have the whole
    segment as their quote and no evidence. An accepted coding whose coders chose exact spans
    has those words as its quote (from the first span's start to the last one's end; an accept
    without a span counts as the suggestion's words)."""
    segment: str
    transcript: str
    participant: str
    group: str
    theme: str
    code: str
    start: int  # of the segment, in its transcript
    end: int
    text: str  # the segment's words
    score: float
    quote_start: int
    quote_end: int
    evidence: str  # JSON list, as stored
    status: str
    coders: tuple[str, ...]
    origin: str
    # the suggestion's own quote (start, end), before the coders' spans: what a coder who has not
    # decided yet is shown (review), so that no one sees the words another coder chose
    suggested: tuple[int, int]

    @property
    def quote(self) -> str:
        """The quote, verbatim: `text[quote_start:quote_end]` of the transcript."""
        return self.text[self.quote_start - self.start:self.quote_end - self.start]

    @property
    def shown_status(self) -> str:
        """The status as the tables show it: "accepted by a, b", "suggested", "rejected"."""
        return "accepted by " + ", ".join(self.coders) if self.status == "accepted" else self.status

    def evidence_list(self) -> list[dict]:
        return json.loads(self.evidence)


class ProjectView:
    """The coding state of one command: built once from the store and the codebook, passed
    to every view; the decisions' state, the codings and the participants are read when
    first needed and kept. Build it inside the command's snapshot (`store.snapshot()`)."""

    def __init__(self, store, codebook: Codebook, state=None, level: int | None = None):
        """`level` (--level): a coding of a code nested deeper than `level` counts as a coding
        of its ancestor at that depth (1: the codes directly under a theme)."""
        self.store = store
        self.codebook = codebook
        self.theme_of = {code.id: theme.id for theme in codebook.themes for code in theme.all_codes}
        self.order = {code.id: i for i, code in enumerate(codebook.codes)}
        if level is not None and level < 1:
            raise CopcodeError(f"--level {level}: levels count the codes below a theme, from 1",
                               fix="use --level 1 for the codes directly under each theme, 2 for the codes "
                               "inside those, and so on; --theme or --columns themes for themes.")
        self.level = level
        self.rolled = {c.id: codebook.at_level(c.id, level) if level else c.id for c in codebook.codes}
        if state is not None:
            self.__dict__["state"] = state

    def code_ids(self) -> list[str]:
        """The codes this view shows, in codebook order: those at `level` or above, or every one."""
        return [c.id for c in self.codebook.codes if self.rolled[c.id] == c.id]

    def code_id(self, query: str) -> str:
        """The id of a code asked for (--code), which must be one this view shows."""
        code_id = self.codebook.code(query).id
        if self.rolled[code_id] != code_id:
            raise CopcodeError(f"code {code_id} is at level {self.codebook.depth(code_id)}, below --level {self.level}: "
                               f"its codings count under {self.rolled[code_id]}",
                               fix=f"ask for --code {self.rolled[code_id]}, or give --level "
                               f"{self.codebook.depth(code_id)} or more.")
        return code_id

    def theme_and_code(self, theme: str | None, code: str | None) -> tuple[str | None, str | None]:
        """The ids of a --theme and a --code asked for (None for one not asked); a code outside
        the theme asked for is refused: the table would be empty, as if nothing were coded."""
        theme_id = self.codebook.find_theme(theme).id if theme else None
        code_id = self.code_id(code) if code else None
        if theme_id is not None and code_id is not None and self.theme_of[code_id] != theme_id:
            raise LookupFailed(f"code {code_id} is in theme {self.theme_of[code_id]}, not in {theme_id}",
                               fix=f"give --theme {self.theme_of[code_id]}, or --code alone.")
        return theme_id, code_id

    def people_filter(self, participant: str | Sequence[str] | None = None,
                      group: str | Sequence[str] | None = None) -> Callable[[str, str], bool]:
        """Whether a (participant, group) is among those asked for (--participant and --group,
        each one or several; none asked: everyone), ids and groups compared case aside. One
        that names no one in the store is refused, listing the known ones: an empty table
        would read as "nothing coded" when the id is misspelt."""
        from copcode.export import from_spreadsheet_cell

        known = [p for p, _ in self.people]
        folded = {p.casefold() for p in known}
        # an id as a CSV export writes one that a spreadsheet would run ("'=1") is that id
        asked_for = [p if p.casefold() in folded else from_spreadsheet_cell(p) for p in _many(participant)]
        participants, groups = {p.casefold() for p in asked_for}, {g.casefold() for g in _many(group)}
        for asked in asked_for:
            if asked.casefold() not in folded:
                raise LookupFailed(f"unknown participant {asked!r}", fix=f"use one of: {_first(known)}.")
        known_groups = sorted({g for _, g in self.people if g})
        for asked in _many(group):
            if asked.casefold() not in {g.casefold() for g in known_groups}:
                raise LookupFailed(f"unknown group {asked!r}",
                                   fix=f"use one of: {_first(known_groups)}." if known_groups else
                                   "no participant has a group: set `groups:` in copcode.yaml or a `group` "
                                   "column in participants.csv.")
        return lambda who, in_group: (not participants or who.casefold() in participants) and \
            (not groups or in_group.casefold() in groups)

    @cached_property
    def state(self):
        """decisions.CodingState: every coder's current verdicts."""
        from copcode.decisions import coding_state

        return coding_state(self.store, self.codebook)

    @cached_property
    def _verdicts(self) -> dict[tuple[str, str], dict[str, list[str]]]:
        verdicts: dict[tuple[str, str], dict[str, list[str]]] = {}
        for (segment, code, coder), verdict in sorted(self.state.states.items()):
            verdicts.setdefault((segment, code), {}).setdefault(verdict, []).append(coder)
        return verdicts

    def iter_codings(self, theme: str | None = None):
        """Every coding (rejected ones too) of codes in the codebook, one at a time, ordered by
        transcript, segment start and code order; of `theme` only when given. The corpus need
        not fit in memory: suggestions stream from the store; tags (few: people made them)
        are merged in."""
        import heapq

        accepted = {k for k, v in self._verdicts.items() if "accepted" in v and k[1] in self.theme_of}
        rejected = {k for k, v in self._verdicts.items() if "accepted" not in v and k[1] in self.theme_of}
        suggested_now = self.store.suggested({segment for segment, _ in accepted | rejected})
        tagged = sorted(accepted - suggested_now)
        withdrawn = sorted(rejected - suggested_now)

        def sort_key(c):
            return c.transcript, c.start, self.order[c.code]

        def suggested():
            groups: dict[str, str] = {}
            for _, same_segment in groupby(self.store.suggestion_rows(), key=lambda r: r["segment"]):
                rows = [self._coding(r, groups, r["score"], r["quote_start"], r["quote_end"], r["evidence"])
                        for r in same_segment if r["code"] in self.theme_of]
                yield from sorted(rows, key=lambda c: self.order[c.code])

        def tags():  # and the withdrawn suggestions' rejections
            segments = {r["segment"]: r for r in self.store.segment_rows({s for s, _ in tagged + withdrawn})}
            groups: dict[str, str] = {}
            rows = [self._coding({**dict(segments[s]), "code": c}, groups, score, segments[s]["start"],
                                 segments[s]["end"], "[]", origin)
                    for pairs, score, origin in ((tagged, 1.0, "tagged"), (withdrawn, 0.0, "withdrawn"))
                    for s, c in pairs if s in segments]
            return sorted(rows, key=sort_key)

        codings = heapq.merge(suggested(), tags(), key=sort_key)
        for coding in self._rolled_up(codings) if self.level else codings:
            if theme is None or coding.theme == theme:
                yield coding

    def _rolled_up(self, codings):
        """The codings (by segment, as iter_codings gives them) with each code deeper than
        `level` replaced by its ancestor at that level, one coding per segment and code:
        accepted when any of them is (their coders together), else suggested when any is,
        else rejected; the best of them (that status, then score) gives score and quote."""
        rank = {"accepted": 0, "suggested": 1, "rejected": 2}
        for _, same_segment in groupby(codings, key=lambda c: c.segment):
            merged: dict[str, Coding] = {}
            for c in same_segment:
                c = replace(c, code=self.rolled[c.code])
                kept = merged.get(c.code)
                if kept is not None:
                    best = min(kept, c, key=lambda x: (rank[x.status], -x.score))
                    c = replace(best, coders=tuple(sorted(set(kept.coders) | set(c.coders))))
                merged[c.code] = c
            yield from sorted(merged.values(), key=lambda c: self.order[c.code])

    def _coding(self, r, groups, score, quote_start, quote_end, evidence, origin: str | None = None) -> Coding:
        """The coding of store row `r` (a suggestion's, or a segment's with its code); `origin`:
        "tagged" or "withdrawn" for one that is not suggested now."""
        attributes = r["attributes"]
        if attributes not in groups:
            groups.clear()  # rows come by transcript: one transcript's group at a time
            groups[attributes] = json.loads(attributes).get("group", "")
        verdict = self._verdicts.get((r["segment"], r["code"]), {})
        coders = tuple(verdict.get("accepted", ()))
        status = "accepted" if coders else "rejected" if "rejected" in verdict else "suggested"
        origin = origin or ("accepted" if coders else "suggested")
        suggested = (quote_start, quote_end)
        # the words each coder chose (an accept without a span: the suggestion's words), from the
        # first start to the last end: one coder's narrow span does not cut another's quote short
        spans = [self.state.spans.get((r["segment"], r["code"], c), suggested) for c in coders]
        if spans:
            quote_start, quote_end = min(s for s, _ in spans), max(e for _, e in spans)
        return Coding(r["segment"], r["transcript"], r["participant"], groups[attributes],
                      self.theme_of[r["code"]], r["code"], r["start"], r["end"], r["text"], score,
                      quote_start, quote_end, evidence, status, coders, origin, suggested)

    @cached_property
    def codings(self) -> list[Coding]:
        """`iter_codings()`, kept."""
        return list(self.iter_codings())

    def current(self, status: str = "all") -> list[Coding]:
        """The codings that are not rejected: all, accepted or suggested ones."""
        if status not in STATUSES:
            raise CopcodeError(f"unknown status {status!r}", fix=f"use one of: {', '.join(STATUSES)}.")
        return [c for c in self.codings if c.status != "rejected" and (status == "all" or c.status == status)]

    @cached_property
    def attributes(self) -> dict[str, dict[str, str]]:
        """Participant -> their attributes."""
        return {p: json.loads(a) for p, a in self.store.participants()}

    @cached_property
    def people(self) -> list[tuple[str, str]]:
        """(participant, group) of every participant, ordered by participant."""
        return [(p, a.get("group", "")) for p, a in self.attributes.items()]


def _many(asked: str | Sequence[str] | None) -> list[str]:
    """One value or several (a repeated --participant or --group) as a list; none: []."""
    return [] if asked is None else [asked] if isinstance(asked, str) else list(asked)


def _first(names: list[str], shown: int = 10) -> str:
    """The first `shown` names, and how many there are in all when there are more."""
    return ", ".join(names[:shown]) + (f" ... ({len(names)} in all)" if len(names) > shown else "")


# ---------------------------------------------------------------- tables of codings

def segment_row(c: Coding) -> dict:
    """A row of the coded segments table."""
    return {"segment": c.segment, "transcript": c.transcript, "participant": c.participant,
            "group": c.group, "theme": c.theme, "code": c.code, "start": c.start, "end": c.end,
            "text": c.text, "score": c.score, "status": c.shown_status}


def coded_segments(view: ProjectView) -> Table:
    """The coded segments table: one row per segment and code, rejected ones left out."""
    return Table(SEGMENT_COLUMNS, [segment_row(c) for c in view.codings if c.status != "rejected"])


def quote_row(c: Coding) -> dict:
    """A row of a quotes table: the quote's own span as start and end."""
    return {"segment": c.segment, "transcript": c.transcript, "participant": c.participant,
            "group": c.group, "theme": c.theme, "code": c.code, "start": c.quote_start,
            "end": c.quote_end, "quote": c.quote, "score": c.score, "status": c.shown_status}


def exemplar_quotes(view: ProjectView, theme: str | None = None, *, code: str | None = None,
                    group: str | Sequence[str] | None = None, participant: str | Sequence[str] | None = None,
                    status: str = "all",
                    limit: int = 10, per_participant: int = 2,
                    attributes: list[str] | None = None) -> Table:
    """Quotes for a theme (or a code, or every theme, each with its own `limit`), code by code
    in codebook order, so no code hides behind another: the `limit` is shared fairly among the
    codes that have passages (each gets limit // k, the first in codebook order one more; what
    a code cannot use goes to the others). Within a code, best first and spread over participants and
    groups: accepted codings above suggestions, rejected ones never; at most
    `per_participant` quotes from one participant per code (0: no cap) and one quote per
    passage. With `limit` 0 every coding is listed. Each quote is verbatim,
    `text[start:end]` of its transcript. `attributes` adds participant attributes as columns
    (e.g. ["cop", "sector"]); "question" among them adds the words of the question the quote
    answers (`questions`), verbatim (the caller redacts the table)."""
    candidates = view.current(status)
    theme_id, code_id = view.theme_and_code(theme, code)
    wanted = view.people_filter(participant, group)
    rows = [c for c in candidates
            if (theme_id is None or c.theme == theme_id) and (code_id is None or c.code == code_id)
            and wanted(c.participant, c.group)]
    if theme_id is None and code_id is None:  # every theme, each with its own limit, as the report shows them
        picked = [c for t in view.codebook.themes
                  for c in pick_quotes(view, [c for c in rows if c.theme == t.id], limit, per_participant)]
    else:
        picked = pick_quotes(view, rows, limit, per_participant)
    table = Table(QUOTE_COLUMNS, [quote_row(c) for c in picked])
    if view.codebook.nested:  # codes hold codes: each row says its code's parent, after the code
        columns = QUOTE_COLUMNS[:QUOTE_COLUMNS.index("code") + 1] + ["parent"] + \
            QUOTE_COLUMNS[QUOTE_COLUMNS.index("code") + 1:]
        table = Table(columns, [{**row, "parent": view.codebook.code(row["code"]).parent or ""} for row in table.rows])
    if attributes:
        known = view.attributes
        names = set().union(*known.values()) if known else set()
        unknown = [a for a in attributes if a not in names and a != "question"]
        if unknown:
            raise CopcodeError(f"unknown participant attribute(s): {', '.join(unknown)}",
                               fix=f"use attributes the participants have, or question: "
                               f"{', '.join(sorted(names | {'question'}))}.")
        for name in attributes:
            if name == "question":
                asked = questions(view.store, table["segment"])
                table[name] = [asked.get(s, "") for s in table["segment"]]
            else:
                table[name] = [known.get(p, {}).get(name, "") for p in table["participant"]]
    return table


def questions(store, segment_ids) -> dict[str, str]:
    """Segment id -> the words of the question before it (`question_spans`), verbatim;
    segments with none are left out."""
    return {segment: words for segment, (_, _, words) in question_spans(store, segment_ids).items()}


def question_spans(store, segment_ids) -> dict[str, tuple[str, int, str]]:
    """Segment id -> (transcript, start, words) of the question the segment answers: the
    nearest interviewer's turn before the segment's turn in its transcript that asks something,
    skipping a turn with no word or a backchannel ("Mm-hmm.", "Right, okay.": at most two words
    and no question mark), which interrupts an answer rather than asks; segments with none are
    left out."""
    import bisect

    if not store.interviewed():
        return {}  # a survey's answers: one quick look, not one per answer
    turn_of = store.segment_turns(set(segment_ids))
    turns = store.interviewer_turns({transcript for transcript, _ in turn_of.values()})
    texts = store.transcript_texts(turns)
    asking = {transcript: [(idx, start, texts[transcript][start:end]) for idx, start, end in spans
                           if asks(texts[transcript][start:end])]
              for transcript, spans in turns.items()}
    indices = {transcript: [idx for idx, _, _ in spans] for transcript, spans in asking.items()}
    found = {}
    for segment, (transcript, turn) in turn_of.items():
        at = bisect.bisect_left(indices.get(transcript, []), turn)
        if at:
            _, start, words = asking[transcript][at - 1]
            found[segment] = (transcript, start, words)
    return found


# a word; in Chinese and Japanese, which have no spaces, each character
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:['’-][^\W{_CJK}]+)*")
_NOTE = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # a transcriber's [laughs] or (pause)


def asks(words: str) -> bool:
    """Whether an interviewer's turn asks something: not empty, and not a backchannel (at
    most two different words, leaving out a transcriber's notes, and no question mark:
    "Mm-hmm.", "Yeah, yeah.", "[laughs] Go on.")."""
    count = len({word.casefold() for word in _WORD.findall(_NOTE.sub(" ", words))})
    # the Greek question mark (U+037E) is ";" once normalised: at the end of the turn only
    asked = any(mark in words for mark in "?？؟") or words.rstrip().endswith(";")
    return count > 2 or (count > 0 and asked)


def pick_quotes(view: ProjectView, codings, limit: int, per_participant: int) -> list[Coding]:
    """The quotes `exemplar_quotes` shows, from `codings`: grouped by code in codebook order,
    each code's fair share of `limit` (0: all, every coding), picked by `_spread`."""
    by_code: dict[str, list[Coding]] = {}
    for c in codings:
        by_code.setdefault(c.code, []).append(c)
    ordered = {code: _spread(by_code[code], 0, per_participant, one_per_passage=limit > 0)
               for code in sorted(by_code, key=view.order.__getitem__)}
    if limit <= 0:
        return [c for picks in ordered.values() for c in picks]
    shares = _fair_shares({code: len(picks) for code, picks in ordered.items()}, limit)
    return [c for code, picks in ordered.items() for c in picks[:shares[code]]]


def _fair_shares(available: dict[str, int], limit: int) -> dict[str, int]:
    """`limit` places shared among the codes (in the given order) one at a time, round after
    round, skipping a code that has nothing more: each gets limit // k or one more."""
    shares = dict.fromkeys(available, 0)
    left = limit
    while left > 0:
        wanting = [code for code in available if shares[code] < available[code]]
        if not wanting:
            break
        for code in wanting:
            if left == 0:
                break
            shares[code] += 1
            left -= 1
    return shares


def _spread(rows: list, limit: int, per_participant: int, one_per_passage: bool = True) -> list:
    """Pick best first, but each earlier pick from the same group or participant costs a
    candidate a little (0.1 and 0.15 of score), so the table speaks with many voices.
    Accepted codings always come before suggestions; ties keep the order of score.

    A participant's candidates all pay the same penalty, so only the best of each can be
    next: a heap of participants per group, and a scan over the (few) groups per pick."""
    import heapq

    rows = sorted(rows, key=lambda r: (r.status != "accepted", -r.score, r.segment))
    picked: list = []
    by_group: Counter = Counter()
    by_participant: Counter = Counter()
    seen: set[str] = set()
    for phase in (True, False):  # accepted, then suggested
        queues: dict[str, list[int]] = {}
        for order, row in enumerate(rows):
            if (row.status == "accepted") == phase:
                queues.setdefault(row.participant, []).append(order)
        heads = {p: 0 for p in queues}
        heaps: dict[str, list] = {}

        def push(participant, queues=queues, heads=heads, heaps=heaps):
            while one_per_passage and heads[participant] < len(queues[participant]) and \
                    rows[queues[participant][heads[participant]]].segment in seen:
                heads[participant] += 1
            if heads[participant] == len(queues[participant]):
                return
            if per_participant > 0 and by_participant[participant] >= per_participant:
                return
            order = queues[participant][heads[participant]]
            row = rows[order]
            merit = row.score - 0.15 * by_participant[participant]
            heapq.heappush(heaps.setdefault(row.group, []), (-merit, order, participant))

        for participant in queues:
            push(participant)
        while limit <= 0 or len(picked) < limit:
            candidates = [(-(heap[0][0]) - 0.1 * by_group[group], -heap[0][1], group)
                          for group, heap in heaps.items() if heap]
            if not candidates:
                break
            group = max(candidates)[2]
            _, order, participant = heapq.heappop(heaps[group])
            row = rows[order]
            heads[participant] += 1
            picked.append(row)
            seen.add(row.segment)
            by_group[group] += 1
            by_participant[participant] += 1
            push(participant)
    return picked


def evidence_shown(evidence: list[dict], hides=lambda word: False) -> list[str]:
    """A suggestion's evidence as people read it: its cues (sorted, once each), then for a
    learned one "learned: WORDS (from N coded passages, P with the code)", without the words
    `hides` (privacy.Redactor.hider: a word of an identifier in the passage, which redacting
    the text around it cannot catch once it stands alone), "with the cues of CODE" when the
    cues of another code in the passage pushed it towards its code, and "after a question on
    CODE" when those of the question before the passage did."""
    shown = sorted({str(e["cue"]) for e in evidence if "cue" in e})
    for e in evidence:
        if e.get("kind") == "learned":
            words = [w for w in e["words"] if not hides(w)]
            cues = f"; with the cues of {', '.join(e['cues'])}" if e.get("cues") else ""
            after = f"; after a question on {', '.join(e['asked'])}" if e.get("asked") else ""
            shown.append(f"learned: {', '.join(words) or '-'} (from {e['passages']} coded passages, "
                         f"{e['positives']} with the code{cues}{after})")
    return shown


def slim(c: Coding) -> Coding:
    """The coding without its words and evidence (the words are fetched again by `with_words`)."""
    return replace(c, text="", evidence="[]")


def with_words(store, codings):
    """`codings` (slimmed) with their segment's words again, fetched a chunk at a time."""
    codings = list(codings)
    for i in range(0, len(codings), CHUNK_ROWS):
        chunk = codings[i:i + CHUNK_ROWS]
        texts = {r["segment"]: r["text"] for r in store.segment_rows({c.segment for c in chunk})}
        for c in chunk:
            yield replace(c, text=texts[c.segment])


# ---------------------------------------------------------------- every segment

def segment_list(view: ProjectView, *, theme: str | None = None, code: str | None = None,
                 group: str | Sequence[str] | None = None, participant: str | Sequence[str] | None = None,
                 status: str = "all") -> Table:
    """Every segment, coded or not, one row each, in transcript order: its transcript,
    participant, group, speaker, offsets, words, and its codes with their status
    ("learn: accepted; time: suggested"; rejected codes listed as rejected, suggested or no
    longer: `ProjectView.iter_codings`). With --theme,
    --code or --status only segments that have such a coding are listed, with those codes;
    with no such filter a segment without codes is listed with `codes` empty."""
    if status not in STATUSES + ("rejected",):
        raise CopcodeError(f"unknown status {status!r}", fix=f"use one of: {', '.join(STATUSES + ('rejected',))}.")
    theme_id, code_id = view.theme_and_code(theme, code)
    wanted = view.people_filter(participant, group)
    filtered = theme_id is not None or code_id is not None or status != "all"
    codes: dict[str, list[Coding]] = {}
    for c in view.iter_codings(theme_id):
        if (code_id is None or c.code == code_id) and (status == "all" or c.status == status):
            codes.setdefault(c.segment, []).append(slim(c))
    rows = []
    for r in view.store.segment_listing():
        mine = codes.get(r["segment"], [])
        if filtered and not mine:
            continue
        group_of = json.loads(r["attributes"]).get("group", "")
        if not wanted(r["participant"], group_of):
            continue
        rows.append({"segment": r["segment"], "transcript": r["transcript"], "participant": r["participant"],
                     "group": group_of, "speaker": r["speaker"] or "", "start": r["start"], "end": r["end"],
                     "text": r["text"], "codes": "; ".join(f"{c.code}: {c.status}" for c in mine)})
    return Table(SEGMENT_LIST_COLUMNS, rows)


# ---------------------------------------------------------------- summary

class Tally:
    """The coding summary, counted while coded segments (not rejected) pass by `add`, in
    transcript order, so a count of distinct segments only has to remember the last one it
    saw; participants (the speakers of a focus group take turns) are kept in sets, one entry
    per participant, not per segment."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.last: dict[tuple, str] = {}
        self.counts: dict[tuple, int] = {}
        self.seen: dict[tuple, set[str]] = {}

    def _count(self, key: tuple, value: str) -> None:
        if self.last.get(key) != value:
            self.last[key] = value
            self.counts[key] = self.counts.get(key, 0) + 1

    def _count_once(self, key: tuple, value: str) -> None:
        seen = self.seen.setdefault(key, set())
        if value not in seen:
            seen.add(value)
            self.counts[key] = len(seen)

    def add(self, c: Coding) -> Coding:
        for code in (None, c.code):
            self._count((c.theme, code, "segments"), c.segment)
            self._count_once((c.theme, code, "participants"), c.participant)
            self._count_once((c.theme, code, "group", c.group), c.participant)
        return c

    def summary(self, people: list[tuple[str, str]], groups) -> Table:
        sizes: dict[str, int] = Counter(group for _, group in people)
        total = len(people)
        rows = []
        for theme in self.codebook.themes:
            for code_id in [None] + [c.id for c in theme.all_codes]:
                row = {"theme": theme.id, "code": code_id or "(all)",
                       "segments": self.counts.get((theme.id, code_id, "segments"), 0),
                       "participants": f"{self.counts.get((theme.id, code_id, 'participants'), 0)} of {total}"}
                for group in groups:
                    if group in sizes:
                        row[group] = f"{self.counts.get((theme.id, code_id, 'group', group), 0)}/{sizes[group]}"
                rows.append(row)
        columns = ["theme", "code", "segments", "participants", *[g for g in groups if g in sizes]]
        return Table(columns, rows)


def coding_summary(view: ProjectView, groups) -> Table:
    """Per theme (and per code): passages, and participants "n of N" overall and per group."""
    tally = Tally(view.codebook)
    for c in view.codings:
        if c.status != "rejected":
            tally.add(c)
    return tally.summary(view.people, groups)


# ---------------------------------------------------------------- matrix, co-occurrence

MATRIX_CELLS = ("counts", "presence", "quotes")


def framework_matrix(view: ProjectView, *, by: str = "participant", columns: str = "codes",
                     cells: str = "counts", status: str = "all", redactor=None):
    """The Framework matrix (a DataFrame): rows participants (with their group) or groups,
    columns codes or themes; cells the number of passages, presence (1/0), or the best quote
    "… (P03)", cut from its transcript through `redactor` (privacy.Redactor; a name cut in
    half at the quote's edge is still replaced, which redacting the cell afterwards cannot
    do). The last row says for each column how many participants it covers, overall and per
    group: "12 of 21 (E 4/7, P 6/10, R 2/4)"."""
    import pandas as pd

    if by not in ("participant", "group") or columns not in ("codes", "themes") or cells not in MATRIX_CELLS:
        raise CopcodeError(f"unknown matrix layout: --by {by} --columns {columns} --cells {cells}",
                           fix="use --by participant|group, --columns codes|themes, "
                           f"--cells {'|'.join(MATRIX_CELLS)}.")
    current = view.current(status)
    key = "code" if columns == "codes" else "theme"
    heads = view.code_ids() if columns == "codes" else [t.id for t in view.codebook.themes]
    people = view.people
    group_of = dict(people)
    rows_of = [p for p, _ in people] if by == "participant" else sorted({g for _, g in people})
    best = sorted(current, key=lambda c: -c.score)  # stable: ties keep the transcript order
    cell_of: dict[tuple[str, str], list[Coding]] = {}
    for c in best:
        cell_of.setdefault((getattr(c, by), getattr(c, key)), []).append(c)
    texts = view.store.transcript_texts({c.transcript for c in current}) if cells == "quotes" else {}
    table = []
    for row_id in rows_of:
        row: dict = {by: row_id}
        if by == "participant":
            row["group"] = group_of[row_id]
        for head in heads:
            cell = cell_of.get((row_id, head), [])
            n = len({c.segment for c in cell})
            if cells == "counts":
                row[head] = n
            elif cells == "presence":
                row[head] = int(n > 0)
            else:
                row[head] = "" if not n else _cite(cell[0], texts[cell[0].transcript], redactor)
        table.append(row)
    totals = {by: "participants", **({"group": ""} if by == "participant" else {})}
    sizes = Counter(g for _, g in people)
    for head in heads:
        covered = {c.participant: c.group for c in current if getattr(c, key) == head}
        per_group = ", ".join(f"{g} {sum(1 for v in covered.values() if v == g)}/{sizes[g]}"
                              for g in sorted(sizes) if g)
        totals[head] = f"{len(covered)} of {len(people)}" + (f" ({per_group})" if per_group else "")
    table.append(totals)
    return pd.DataFrame(table, columns=[by, *(["group"] if by == "participant" else []), *heads])


def _cite(c: Coding, text: str, redactor=None) -> str:
    from copcode.privacy import IDENTITY

    quote = (redactor or IDENTITY).redact_slice(text, c.quote_start, c.quote_end)
    return f"“{' '.join(quote.split())}” ({c.participant})"


def cooccurrence(view: ProjectView, status: str = "all"):
    """Code by code (a DataFrame): the number of passages that carry both codes (the
    diagonal: each code's)."""
    import pandas as pd

    by_segment: dict[str, set[str]] = {}
    for c in view.current(status):
        by_segment.setdefault(c.segment, set()).add(c.code)
    ids = view.code_ids()
    return pd.DataFrame([{"code": a, **{b: int(sum(a in s and b in s for s in by_segment.values())) for b in ids}}
                         for a in ids], columns=["code", *ids])
