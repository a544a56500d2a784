"""pandas views of the store: coded segments, exemplar quotes, and the coding summary."""

from __future__ import annotations

import json
from collections import Counter

from copcode.codebook import Codebook
from copcode.errors import CopcodeError
from copcode.store import Store

STATUSES = ("accepted", "suggested", "all")
SEGMENT_COLUMNS = ["segment", "transcript", "participant", "group", "theme", "code", "start",
                   "end", "text", "score", "status"]
QUOTE_COLUMNS = ["segment", "transcript", "participant", "group", "theme", "code", "start",
                 "end", "quote", "score", "status"]

_SEGMENTS = """
SELECT s.id AS segment, s.transcript, t.participant, t.attributes, s.start, s."end", s.text
FROM segments s JOIN transcripts t ON t.id = s.transcript
"""


def codings(store: Store, codebook: Codebook, state=None):
    """Every (segment, code) that is suggested or that a coder accepted or tagged, with theme,
    group, score, quote span and status: "accepted by a, b" when a coder's current decision is
    accept or tag, "rejected" when every coder who decided rejected it, else "suggested".
    Codes no longer in the codebook are left out. `state` is `coding_state(store, codebook)`
    when the caller has it already."""
    import pandas as pd

    from copcode.decisions import coding_state

    state = coding_state(store, codebook) if state is None else state
    verdicts: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (segment, code, coder), verdict in sorted(state.states.items()):
        verdicts.setdefault((segment, code), {}).setdefault(verdict, []).append(coder)
    suggestions = {(r["segment"], r["code"]): r for r in store.db.execute(
        "SELECT segment, code, score, quote_start, quote_end, evidence FROM suggestions")}
    segments = {r["segment"]: r for r in store.db.execute(_SEGMENTS)}
    texts = dict(store.db.execute("SELECT id, text FROM transcripts"))  # one string per transcript
    theme_of = {code.id: theme.id for theme in codebook.themes for code in theme.codes}
    order = {code.id: i for i, code in enumerate(codebook.codes)}
    rows = []
    pairs = set(suggestions) | {k for k, v in verdicts.items() if "accepted" in v}
    for segment_id, code in pairs:
        if code not in theme_of or segment_id not in segments:
            continue
        seg, sug, verdict = segments[segment_id], suggestions.get((segment_id, code)), verdicts.get((segment_id, code), {})
        if "accepted" in verdict:
            status = "accepted by " + ", ".join(verdict["accepted"])
        elif "rejected" in verdict:
            status = "rejected"
        else:
            status = "suggested"
        rows.append({
            "segment": segment_id, "transcript": seg["transcript"], "participant": seg["participant"],
            "group": json.loads(seg["attributes"]).get("group", ""), "theme": theme_of[code],
            "code": code, "code_order": order[code], "start": seg["start"], "end": seg["end"],
            "text": seg["text"], "transcript_text": texts[seg["transcript"]],
            "score": sug["score"] if sug else 1.0,
            "quote_start": sug["quote_start"] if sug else seg["start"],
            "quote_end": sug["quote_end"] if sug else seg["end"],
            "evidence": sug["evidence"] if sug else "[]", "status": status,
        })
    columns = ["segment", "transcript", "participant", "group", "theme", "code", "code_order",
               "start", "end", "text", "transcript_text", "score", "quote_start", "quote_end",
               "evidence", "status"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["transcript", "start", "code_order"], kind="stable").reset_index(drop=True)


def coded_segments(store: Store, codebook: Codebook, frame=None):
    """The coded segments table: one row per segment and code, rejected ones left out.
    `frame` is `codings(store, codebook)` when the caller has it already."""
    frame = codings(store, codebook) if frame is None else frame
    frame = frame[frame["status"] != "rejected"]
    return frame[SEGMENT_COLUMNS].reset_index(drop=True)


def exemplar_quotes(store: Store, codebook: Codebook, theme: str | None = None, *,
                    code: str | None = None, group: str | None = None,
                    participant: str | None = None, status: str = "all", limit: int = 10,
                    per_participant: int = 2, attributes: list[str] | None = None, frame=None):
    """Quotes for a theme (or a code), best first and spread over participants and groups:
    accepted codings above suggestions, rejected ones never; at most `per_participant` quotes
    from one participant (0: no cap) and, when `limit` picks exemplars, one quote per passage
    (with `limit` 0, every coding of the theme is listed). Each quote is verbatim,
    `text[start:end]` of its transcript. `attributes` adds participant attributes as columns
    (e.g. ["cop", "sector"])."""
    frame = _current(store, codebook, status, frame)
    if theme is not None:
        frame = frame[frame["theme"] == codebook.find_theme(theme).id]
    if code is not None:
        frame = frame[frame["code"] == codebook.code(code).id]
    if group is not None:
        frame = frame[frame["group"].str.casefold() == group.casefold()]
    if participant is not None:
        frame = frame[frame["participant"].str.casefold() == participant.casefold()]
    frame = frame.assign(
        start=frame["quote_start"], end=frame["quote_end"],
        quote=[text[s:e] for text, s, e in
               zip(frame["transcript_text"], frame["quote_start"], frame["quote_end"])],
    )
    picked = _spread(frame.to_dict("records"), limit, per_participant, one_per_passage=limit > 0)
    import pandas as pd

    quotes = pd.DataFrame(picked, columns=QUOTE_COLUMNS)
    if attributes:
        known = _attributes(store)
        names = set().union(*known.values())
        unknown = [a for a in attributes if a not in names]
        if unknown:
            raise CopcodeError(f"unknown participant attribute(s): {', '.join(unknown)}",
                               fix=f"use attributes the participants have: {', '.join(sorted(names)) or 'none'}.")
        for name in attributes:
            quotes[name] = [known[p].get(name, "") for p in quotes["participant"]]
    return quotes


def _attributes(store: Store) -> dict[str, dict[str, str]]:
    return {p: json.loads(a) for p, a in store.db.execute("SELECT participant, attributes FROM transcripts")}


def _spread(rows: list[dict], limit: int, per_participant: int, one_per_passage: bool = True) -> list[dict]:
    """Pick best first, but each earlier pick from the same group or participant costs a
    candidate a little (0.1 and 0.15 of score), so the table speaks with many voices.
    Accepted codings always come before suggestions; ties keep the order of score.

    A participant's candidates all pay the same penalty, so only the best of each can be
    next: a heap of participants per group, and a scan over the (few) groups per pick."""
    import heapq

    rows = sorted(rows, key=lambda r: (not r["status"].startswith("accepted"), -r["score"], r["segment"]))
    picked: list[dict] = []
    by_group: Counter = Counter()
    by_participant: Counter = Counter()
    seen: set[str] = set()
    for phase in (True, False):  # accepted, then suggested
        queues: dict[str, list[int]] = {}
        for order, row in enumerate(rows):
            if row["status"].startswith("accepted") == phase:
                queues.setdefault(row["participant"], []).append(order)
        heads = {p: 0 for p in queues}
        heaps: dict[str, list] = {}

        def push(participant):
            while one_per_passage and heads[participant] < len(queues[participant]) and \
                    rows[queues[participant][heads[participant]]]["segment"] in seen:
                heads[participant] += 1
            if heads[participant] == len(queues[participant]):
                return
            if per_participant > 0 and by_participant[participant] >= per_participant:
                return
            order = queues[participant][heads[participant]]
            row = rows[order]
            merit = row["score"] - 0.15 * by_participant[participant]
            heapq.heappush(heaps.setdefault(row["group"], []), (-merit, order, participant))

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
            seen.add(row["segment"])
            by_group[group] += 1
            by_participant[participant] += 1
            push(participant)
    return picked


def coding_summary(store: Store, codebook: Codebook, groups: dict[str, str], frame=None):
    """Per theme (and per code): passages, and participants "n of N" overall and per group."""
    import pandas as pd

    frame = coded_segments(store, codebook, frame)
    people = _people(store)
    group_sizes = people.groupby("group")["participant"].nunique()
    total = people["participant"].nunique()
    rows = []
    for theme in codebook.themes:
        for code_id, label in [(None, theme.label)] + [(c.id, c.label) for c in theme.codes]:
            part = frame[frame["theme"] == theme.id]
            if code_id:
                part = part[part["code"] == code_id]
            row = {"theme": theme.id, "code": code_id or "(all)",
                   "segments": part["segment"].nunique(),
                   "participants": f"{part['participant'].nunique()} of {total}"}
            for group in groups:
                if group in group_sizes:
                    n = part[part["group"] == group]["participant"].nunique()
                    row[group] = f"{n}/{group_sizes[group]}"
            rows.append(row)
    return pd.DataFrame(rows)


MATRIX_CELLS = ("counts", "presence", "quotes")


def _current(store: Store, codebook: Codebook, status: str, frame=None):
    if status not in STATUSES:
        raise CopcodeError(f"unknown status {status!r}", fix=f"use one of: {', '.join(STATUSES)}.")
    frame = codings(store, codebook) if frame is None else frame
    frame = frame[frame["status"] != "rejected"]
    if status == "accepted":
        frame = frame[frame["status"].str.startswith("accepted")]
    elif status == "suggested":
        frame = frame[frame["status"] == "suggested"]
    return frame


def _people(store: Store):
    import pandas as pd

    people = pd.read_sql_query("SELECT participant, attributes FROM transcripts ORDER BY participant", store.db)
    people["group"] = [json.loads(a).get("group", "") for a in people["attributes"]]
    return people[["participant", "group"]]


def framework_matrix(store: Store, codebook: Codebook, *, by: str = "participant",
                     columns: str = "codes", cells: str = "counts", status: str = "all", frame=None,
                     redactor=None):
    """The Framework matrix: rows participants (with their group) or groups, columns codes or
    themes; cells the number of passages, presence (1/0), or the best quote "… (P03)", cut
    from its transcript through `redactor` (privacy.Redactor; a name cut in half at the
    quote's edge is still replaced, which redacting the cell afterwards cannot do). The
    last row says for each column how many participants it covers, overall and per group:
    "12 of 21 (E 4/7, P 6/10, R 2/4)"."""
    import pandas as pd

    if by not in ("participant", "group") or columns not in ("codes", "themes") or cells not in MATRIX_CELLS:
        raise CopcodeError(f"unknown matrix layout: --by {by} --columns {columns} --cells {cells}",
                           fix="use --by participant|group, --columns codes|themes, "
                           f"--cells {'|'.join(MATRIX_CELLS)}.")
    frame = _current(store, codebook, status, frame)
    key = "code" if columns == "codes" else "theme"
    heads = [c.id for c in codebook.codes] if columns == "codes" else [t.id for t in codebook.themes]
    people = _people(store)
    rows_of = list(people["participant"]) if by == "participant" else sorted(set(people["group"]))
    best = frame.sort_values("score", ascending=False, kind="stable")
    table = []
    for row_id in rows_of:
        mine = best[best[by] == row_id]
        row = {by: row_id}
        if by == "participant":
            row["group"] = people.set_index("participant").loc[row_id, "group"]
        for head in heads:
            cell = mine[mine[key] == head]
            n = cell["segment"].nunique()
            if cells == "counts":
                row[head] = n
            elif cells == "presence":
                row[head] = int(n > 0)
            else:
                row[head] = "" if not n else _cite(cell.iloc[0], redactor)
        table.append(row)
    totals = {by: "participants", **({"group": ""} if by == "participant" else {})}
    sizes = people.groupby("group")["participant"].nunique()
    for head in heads:
        covered = frame[frame[key] == head].drop_duplicates("participant")
        per_group = ", ".join(f"{g} {int((covered['group'] == g).sum())}/{sizes[g]}" for g in sizes.index if g)
        totals[head] = f"{len(covered)} of {len(people)}" + (f" ({per_group})" if per_group else "")
    table.append(totals)
    return pd.DataFrame(table, columns=[by, *(["group"] if by == "participant" else []), *heads])


def _cite(row, redactor=None) -> str:
    from copcode.privacy import IDENTITY

    quote = (redactor or IDENTITY).redact_slice(row["transcript_text"], row["quote_start"], row["quote_end"])
    return f"“{' '.join(quote.split())}” ({row['participant']})"


def cooccurrence(store: Store, codebook: Codebook, status: str = "all", frame=None):
    """Code by code: the number of passages that carry both codes (the diagonal: each code's)."""
    import pandas as pd

    frame = _current(store, codebook, status, frame)
    by_segment = frame.groupby("segment")["code"].apply(set)
    ids = [c.id for c in codebook.codes]
    return pd.DataFrame([{"code": a, **{b: int(sum(a in s and b in s for s in by_segment)) for b in ids}}
                         for a in ids], columns=["code", *ids])
