"""Agreement between coders, and between a coder and the suggestions.

The unit is a segment and a code, and the value is whether the code is present (1) or not (0).
A coder has coded a transcript for a theme once they have recorded any decision on a code of
that theme in it (accept, reject, tag, untag; an imported coding is a tag). For such a
transcript and theme, every segment of it has the coder's value for every code of the theme:
1 where their current decision is accept or tag, 0 otherwise (rejected, untagged, or never
given). So a passage one coder tagged and the other did not is a disagreement, not left out.
Segments of transcripts a coder has not coded for the theme stay missing, so a coder who
coded one theme, or some transcripts, is not counted as saying "absent" to the rest.
The pseudo-coder `suggestions` says 1 for every suggested pair and 0 otherwise, on every
segment. Per code and for the whole codebook (`ALL`, every unit of every code pooled):
units (segments with values from two coders or more), percentage agreement, Cohen's kappa
(exactly two coders), and Krippendorff's alpha (nominal; any number of coders, missing
values allowed)."""

from __future__ import annotations

from collections import Counter
from itertools import permutations

from copcode.codebook import Codebook
from copcode.decisions import RESERVED_CODER
from copcode.errors import CopcodeError
from copcode.store import Store

SUGGESTIONS = RESERVED_CODER  # the name that stands for copcode's suggestions
COLUMNS = ["code", "units", "percent_agreement", "cohen_kappa", "krippendorff_alpha"]


def percent_agreement(units: list[list]) -> float | None:
    """Share of agreeing pairs of values within units, over units with two values or more
    (for two coders: the share of units on which they agree), as a percentage."""
    shares = []
    for values in units:
        present = [v for v in values if v is not None]
        if len(present) >= 2:
            pairs = list(permutations(present, 2))
            shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return 100 * sum(shares) / len(shares) if shares else None


def cohen_kappa(first: list, second: list) -> float | None:
    """Cohen's kappa over the units both coders gave a value; None when it is undefined
    (no units, or chance agreement is total)."""
    pairs = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(left[c] * right[c] for c in set(left) | set(right)) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(units: list[list]) -> float | None:
    """Krippendorff's alpha for nominal values, from the coincidence matrix; units with fewer
    than two values do not count. None when it is undefined (one value used throughout)."""
    coincidences: dict[tuple[int, int], float] = {}
    for values in units:
        present = [v for v in values if v is not None]
        m = len(present)
        if m < 2:
            continue
        for a, b in permutations(present, 2):
            coincidences[(a, b)] = coincidences.get((a, b), 0.0) + 1 / (m - 1)
    totals: dict[int, float] = {}
    for (a, _), weight in coincidences.items():
        totals[a] = totals.get(a, 0.0) + weight
    n = sum(totals.values())
    if n <= 1:
        return None
    disagreement = sum(w for (a, b), w in coincidences.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b)
    if expected == 0:
        return None
    return 1 - (n - 1) * disagreement / expected


def unit_values(store: Store, codebook: Codebook, coders: list[str], state=None):
    """{code: {segment: [value per coder]}} for the segments at least two coders cover.
    `state`: decisions.coding_state, when the caller has read it."""
    from copcode.decisions import coding_state

    state = state or coding_state(store, codebook)
    transcript_of = store.segment_transcripts()
    segments = sorted(transcript_of)
    suggested = store.suggestion_pairs()
    known = _coders(state)
    unknown = [c for c in coders if c != SUGGESTIONS and c not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none yet"
        raise CopcodeError(
            f"no decisions by {', '.join(unknown)}",
            fix=f"name coders who have decided something ({listed}), or `{SUGGESTIONS}`.")
    def value(coder, segment, theme, code):
        if coder == SUGGESTIONS:
            return int((segment, code) in suggested)
        if (transcript_of[segment], theme) not in state.covered.get(coder, ()):
            return None
        return int(state.states.get((segment, code, coder)) == "accepted")

    values: dict[str, dict[str, list]] = {}
    for theme in codebook.themes:
        for code in theme.all_codes:
            rows = {s: [value(c, s, theme.id, code.id) for c in coders] for s in segments}
            values[code.id] = {s: row for s, row in rows.items() if sum(v is not None for v in row) >= 2}
    return values


def _coders(state) -> set[str]:
    """The coders who decided something, or coded a document finding nothing."""
    return {coder for (_, _, coder) in state.states} | set(state.covered)


def agreement_report(store: Store, codebook: Codebook, coders: list[str]):
    """(per-code table with an `ALL` row, disagreements table, the coders compared). No
    `coders`: every coder of the project, when there are two or more. With exactly one coder
    and `suggestions`, the table also has the suggestions' precision and recall against the
    coder."""
    import pandas as pd

    from copcode.decisions import coding_state

    state = coding_state(store, codebook)
    if not coders and len(_coders(state)) >= 2:
        coders = sorted(_coders(state))
    if len(coders) < 2 or len(set(coders)) != len(coders):
        there = ", ".join(sorted(_coders(state))) or "none yet"
        raise CopcodeError(f"agreement needs two different coders or more (coders here: {there})",
                           fix=f"name them with --coders, e.g. --coders coder-a,coder-b, or `{SUGGESTIONS}` "
                               "for the suggestions.")
    values = unit_values(store, codebook, coders, state)
    against_suggestions = len(coders) == 2 and SUGGESTIONS in coders
    rows = []
    for code in [c.id for c in codebook.codes] + ["ALL"]:
        units = [u for c, per in values.items() if code in ("ALL", c) for u in per.values()]
        row = {
            "code": code, "units": len(units),
            "percent_agreement": percent_agreement(units),
            "cohen_kappa": cohen_kappa([u[0] for u in units], [u[1] for u in units]) if len(coders) == 2 else None,
            "krippendorff_alpha": krippendorff_alpha(units),
        }
        if against_suggestions:
            person = 1 - coders.index(SUGGESTIONS)
            both = [(u[person], u[1 - person]) for u in units if None not in u]
            hits = sum(p == 1 and s == 1 for p, s in both)
            said = sum(s == 1 for _, s in both)
            meant = sum(p == 1 for p, _ in both)
            row["precision"] = hits / said if said else None
            row["recall"] = hits / meant if meant else None
        rows.append(row)
    table = pd.DataFrame(rows)
    texts = store.segment_texts()
    participants = store.segment_participants()
    disagreements = pd.DataFrame([
        {"segment": segment, "participant": participants[segment], "code": code,
         **{coder: ("" if v is None else v) for coder, v in zip(coders, row)}, "text": texts[segment]}
        for code, per in values.items() for segment, row in per.items()
        if len({v for v in row if v is not None}) > 1
    ], columns=["segment", "participant", "code", *coders, "text"])
    return table, disagreements, coders
