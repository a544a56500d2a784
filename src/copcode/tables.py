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
SELECT s.id AS segment, s.transcript, t.participant, t.attributes, s.start, s."end", s.text,
       t.text AS transcript_text
FROM segments s JOIN transcripts t ON t.id = s.transcript
"""


def codings(store: Store, codebook: Codebook):
    """Every (segment, code) that is suggested or that a coder accepted or tagged, with theme,
    group, score, quote span and status: "accepted by a, b" when a coder's current decision is
    accept or tag, "rejected" when every coder who decided rejected it, else "suggested".
    Codes no longer in the codebook are left out."""
    import pandas as pd

    from copcode.decisions import coding_state

    state = coding_state(store, codebook)
    verdicts: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (segment, code, coder), verdict in sorted(state.states.items()):
        verdicts.setdefault((segment, code), {}).setdefault(verdict, []).append(coder)
    suggestions = {(r["segment"], r["code"]): r for r in store.db.execute(
        "SELECT segment, code, score, quote_start, quote_end, evidence FROM suggestions")}
    segments = {r["segment"]: r for r in store.db.execute(_SEGMENTS)}
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
            "text": seg["text"], "transcript_text": seg["transcript_text"],
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


def coded_segments(store: Store, codebook: Codebook):
    """The coded segments table: one row per segment and code, rejected ones left out."""
    frame = codings(store, codebook)
    frame = frame[frame["status"] != "rejected"]
    return frame[SEGMENT_COLUMNS].reset_index(drop=True)


def exemplar_quotes(store: Store, codebook: Codebook, theme: str | None = None, *,
                    code: str | None = None, group: str | None = None,
                    participant: str | None = None, status: str = "all", limit: int = 10,
                    per_participant: int = 2):
    """Quotes for a theme (or a code), best first and spread over participants and groups:
    accepted codings above suggestions, rejected ones never; at most `per_participant` quotes
    from one participant (0: no cap) and one quote per passage. Each quote is verbatim,
    `text[start:end]` of its transcript."""
    if status not in STATUSES:
        raise CopcodeError(f"unknown status {status!r}", fix=f"use one of: {', '.join(STATUSES)}.")
    frame = codings(store, codebook)
    if theme is not None:
        frame = frame[frame["theme"] == codebook.find_theme(theme).id]
    if code is not None:
        frame = frame[frame["code"] == codebook.code(code).id]
    if group is not None:
        frame = frame[frame["group"].str.casefold() == group.casefold()]
    if participant is not None:
        frame = frame[frame["participant"].str.casefold() == participant.casefold()]
    frame = frame[frame["status"] != "rejected"]
    if status == "accepted":
        frame = frame[frame["status"].str.startswith("accepted")]
    elif status == "suggested":
        frame = frame[frame["status"] == "suggested"]
    frame = frame.assign(
        start=frame["quote_start"], end=frame["quote_end"],
        quote=[text[s:e] for text, s, e in
               zip(frame["transcript_text"], frame["quote_start"], frame["quote_end"])],
    )
    picked = _spread(frame.to_dict("records"), limit, per_participant)
    import pandas as pd

    return pd.DataFrame(picked, columns=QUOTE_COLUMNS)


def _spread(rows: list[dict], limit: int, per_participant: int) -> list[dict]:
    """Pick best first, but each earlier pick from the same group or participant costs a
    candidate a little (0.1 and 0.15 of score), so the table speaks with many voices."""
    rows = sorted(rows, key=lambda r: (not r["status"].startswith("accepted"), -r["score"], r["segment"]))
    picked: list[dict] = []
    by_group: Counter = Counter()
    by_participant: Counter = Counter()
    seen_segments: set[str] = set()
    while rows and (limit <= 0 or len(picked) < limit):
        def merit(row):
            return (row["status"].startswith("accepted"),
                    row["score"] - 0.1 * by_group[row["group"]] - 0.15 * by_participant[row["participant"]])
        eligible = [r for r in rows if r["segment"] not in seen_segments and
                    (per_participant <= 0 or by_participant[r["participant"]] < per_participant)]
        if not eligible:
            break
        best = max(eligible, key=merit)  # max keeps the first of equals: the sort decides ties
        picked.append(best)
        seen_segments.add(best["segment"])
        by_group[best["group"]] += 1
        by_participant[best["participant"]] += 1
        rows.remove(best)
    return picked


def coding_summary(store: Store, codebook: Codebook, groups: dict[str, str]):
    """Per theme (and per code): passages, and participants "n of N" overall and per group."""
    import pandas as pd

    frame = coded_segments(store, codebook)
    people = pd.read_sql_query("SELECT participant, attributes FROM transcripts", store.db)
    people["group"] = [json.loads(a).get("group", "") for a in people["attributes"]]
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
