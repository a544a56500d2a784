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

# Each (segment, code) with its suggestion and the latest verdict of any coder on it:
# accepted when a coder accepted or tagged it, rejected when the last word was reject/untag.
_CODINGS = """
WITH latest AS (
    SELECT segment, code, coder, verdict FROM decisions d
    WHERE id = (SELECT MAX(id) FROM decisions e
                WHERE e.segment = d.segment AND e.code = d.code AND e.coder = d.coder)),
verdicts AS (
    SELECT segment, code,
           MAX(verdict IN ('accept', 'tag')) AS accepted,
           GROUP_CONCAT(CASE WHEN verdict IN ('accept', 'tag') THEN coder END) AS coders
    FROM latest GROUP BY segment, code),
pairs AS (
    SELECT segment, code FROM suggestions
    UNION SELECT segment, code FROM verdicts WHERE accepted)
SELECT s.id AS segment, s.transcript, t.participant, t.attributes, p.code,
       s.start, s."end", s.text, t.text AS transcript_text,
       COALESCE(g.score, 1.0) AS score,
       COALESCE(g.quote_start, s.start) AS quote_start,
       COALESCE(g.quote_end, s."end") AS quote_end,
       g.evidence,
       CASE WHEN v.accepted = 1 THEN 'accepted'
            WHEN v.accepted = 0 THEN 'rejected' ELSE 'suggested' END AS status,
       v.coders
FROM pairs p
JOIN segments s ON s.id = p.segment
JOIN transcripts t ON t.id = s.transcript
LEFT JOIN suggestions g ON g.segment = p.segment AND g.code = p.code
LEFT JOIN verdicts v ON v.segment = p.segment AND v.code = p.code
"""


def codings(store: Store, codebook: Codebook):
    """Every (segment, code) that is suggested or decided, with theme, group and status;
    codes no longer in the codebook are left out."""
    import pandas as pd

    frame = pd.read_sql_query(_CODINGS, store.db)
    theme_of = {code.id: theme.id for theme in codebook.themes for code in theme.codes}
    order = {code.id: i for i, code in enumerate(codebook.codes)}
    frame = frame[frame["code"].isin(theme_of)].copy()
    frame["theme"] = frame["code"].map(theme_of)
    frame["group"] = [json.loads(a).get("group", "") for a in frame["attributes"]]
    frame["code_order"] = frame["code"].map(order)
    frame["status"] = [
        f"accepted by {coders}" if status == "accepted" and coders else status
        for status, coders in zip(frame["status"], frame["coders"])
    ]
    return frame.sort_values(["transcript", "start", "code_order"], kind="stable")


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
