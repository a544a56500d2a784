"""People's decisions: an append-only log, and the coding derived from it.

Verdicts: `accept` and `reject` answer a suggestion; `tag` adds a code a person chose and
`untag` takes it away; `undo` cancels the coder's latest decision on that segment and code.
A decision keeps the words it was made on, so it follows those words when a transcript is
edited or re-segmented (see `anchor_decisions`); one whose words are gone is orphaned."""

from __future__ import annotations

import difflib
import getpass
import os
import re
import shlex
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any

from copcode.codebook import Codebook
from copcode.errors import CopcodeError, LookupFailed
from copcode.store import Store, now

VERDICTS = ("accept", "reject", "tag", "untag", "undo")
POSITIVE = ("accept", "tag")
RESERVED_CODER = "suggestions"  # agreement's name for copcode's own suggestions
# and the user a .qdpx exported with --suggestions files them under (export.refi.SUGGESTIONS_USER)
RESERVED_CODERS = (RESERVED_CODER, "copcode suggestions")
FUZZY_MATCH = 0.85  # how alike edited words must be to keep a decision on them


def default_coder() -> str:
    """$COPCODE_CODER, else the login name; a clear error when there is neither (no $USER and
    a uid without a passwd entry, as in some containers)."""
    coder = os.environ.get("COPCODE_CODER")
    if coder:
        return coder
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # getpwuid fails for a uid with no passwd entry
        raise CopcodeError("cannot tell who the coder is: $COPCODE_CODER is not set and this "
                           "user has no login name",
                           fix="set $COPCODE_CODER (e.g. export COPCODE_CODER=ann) or pass --coder NAME.") from None


@dataclass(frozen=True)
class Decision:
    id: int
    segment: str
    code: str
    verdict: str
    coder: str
    at: str
    note: str
    transcript: str
    start: int
    end: int
    text: str
    span_start: int | None = None  # the exact span the coder chose, in the transcript; None:
    span_end: int | None = None  # the whole segment

    @property
    def span_words(self) -> str | None:
        """The words of the span, as they were when the decision was made."""
        if self.span_start is None or self.span_end is None:
            return None
        return self.text[self.span_start - self.start:self.span_end - self.start]


def record(store: Store, codebook: Codebook, segment_id: str, code_id: str, verdict: str,
           coder: str, note: str = "", span: tuple[int, int] | None = None) -> Decision:
    """Append one decision after checking that the segment and the code exist; `span`: the
    exact part of the segment it is about (offsets in the transcript, see `span_in`)."""
    with store.transaction():
        [decision] = record_many(store, codebook, [(segment_id, code_id, verdict, note, span)], coder)
    return decision


def check_coder(coder: str) -> None:
    """CopcodeError for a name no coder can have: empty, or the one copcode's suggestions go by."""
    if not coder.strip():
        raise CopcodeError("the coder's name is empty", fix="give one with --coder NAME.")
    if coder.strip().casefold() in RESERVED_CODERS:
        raise CopcodeError(f"{coder.strip()!r} is not a coder's name: copcode names its own suggestions so "
                           "(`copcode agreement --coders X,suggestions`, a .qdpx exported with --suggestions)",
                           fix="give the coder another name with --coder NAME.")


def record_many(store: Store, codebook: Codebook, rows, coder: str) -> list[Decision]:
    """Append (segment, code, verdict, note[, span]) rows inside the caller's transaction;
    check all of them first so that a bad row changes nothing. A span is (start, end) in the
    transcript, inside the segment; None (or left out) for the whole segment."""
    check_coder(coder)
    segments: dict[str, Any] = {}  # segment id -> its row
    rows = [tuple(row) + (None,) * (5 - len(row)) for row in rows]
    for segment_id, code_id, verdict, _, span in rows:
        if verdict not in VERDICTS:
            raise CopcodeError(f"unknown verdict {verdict!r}", fix=f"use one of {', '.join(VERDICTS)}.")
        code_id = current_code_id(codebook, code_id)
        segments[segment_id] = segments.get(segment_id) or find_segment(store, segment_id)
        segment = segments[segment_id]
        if span is not None and not (segment["start"] <= span[0] < span[1] <= segment["end"]):
            raise CopcodeError(f"the span {span[0]}-{span[1]} is not inside segment {segment['id']} "
                               f"({segment['start']}-{segment['end']})",
                               fix="give a span inside the segment, or none for the whole segment.")
    takes_back = [(segments[s]["id"], current_code_id(codebook, c), verdict) for s, c, verdict, _, _ in rows
                  if verdict in ("untag", "undo")]
    if takes_back:  # an untag of nothing would only mark the transcript as coded by this coder, an undo
        # of nothing would do nothing: both are mistakes (a wrong id or coder) to say
        state_now = coding_state(store, codebook)
        states = state_now.states
        for segment_id, code_id, verdict in takes_back:
            state = states.get((segment_id, code_id, coder.strip()))
            if verdict == "undo" and state is None:
                raise CopcodeError(f"{coder.strip()} has no decision on {code_id} on {segment_id}: nothing to undo",
                                   fix="check the ids and --coder (`copcode segments` lists the segments).")
            if verdict == "untag" and state == "rejected":
                raise CopcodeError(f"{coder.strip()} rejected {code_id} on {segment_id}: nothing to untag",
                                   fix=f"to take the rejection back, run `copcode undo {segment_id} {code_id} "
                                       f"--coder {shlex.quote(coder.strip())}`.")
            if verdict == "untag" and state != "accepted":
                raise CopcodeError(f"{coder.strip()} has not tagged or accepted {code_id} on {segment_id}: "
                                   "nothing to untag",
                                   fix=f"check the ids (`copcode quotes --code {code_id} --status accepted` lists the "
                                       "coded passages), or use `copcode reject` to record that the code does not apply.")
    written = []
    for segment_id, code_id, verdict, note, span in rows:
        segment = segments[segment_id]
        if verdict == "undo":  # the log says which decision it cancels, before any note of the coder's
            undone = state_now.latest[(segment["id"], current_code_id(codebook, code_id), coder.strip())]
            note = f"undoes decision {undone.id} ({undone.verdict})" + (f": {note}" if note else "")
        if span is not None and tuple(span) == (segment["start"], segment["end"]):
            span = None  # the whole segment
        values = (segment["id"], current_code_id(codebook, code_id), verdict, coder.strip(), now(),
                  note or "", segment["transcript"], segment["start"], segment["end"], segment["text"],
                  *(span or (None, None)))
        written.append(Decision(store.add_decision(*values), *values))
    return written


def span_in(segment, quote: str | None = None, span: str | None = None, redactor=None) -> tuple[int, int] | None:
    """The exact span a coder chose inside a segment (a store row: id, transcript, start, end,
    text), in the transcript: `quote`, its words (white space between them may differ: a quote
    copied from a terminal or a PDF), found once in the segment; or `span`, "START:END",
    offsets into the segment's text as `copcode segments` shows it. With `redactor` (the
    command's), as it shows the text: a quote may hold "[name]" where the transcript has a
    name, and a span counts the shown text (the transcript's own words also do for a quote).
    A quote or span that starts or ends inside such a replacement is refused. None when
    neither is given."""
    import re

    if quote is not None and span is not None:
        raise CopcodeError("give --quote or --span, not both", fix="keep one of them.")
    text, start = segment["text"], segment["start"]
    shown, forward = text, list(range(len(text) + 1))  # forward[i]: offset i of the text, in the shown text
    if redactor is not None and redactor.active:
        shown, to_shown = redactor.redact_at_mapped(text, segment["transcript"], start)
        forward = [to_shown(at) for at in range(len(text) + 1)]
    if quote is not None:
        words = quote.split()
        if not words:
            raise CopcodeError("the quote is empty", fix='give the exact words, e.g. --quote "in English, please".')
        # whole words: "the" is not found inside "other"
        pattern = r"(?<!\w)" * quote.strip()[0].isalnum() + r"\s+".join(map(re.escape, words)) + \
            r"(?!\w)" * quote.strip()[-1].isalnum()
        # (where in the shown text, where in the text: None inside a replacement)
        found = [(m.start(), m.end(), _in_text(forward, m.start()), _in_text(forward, m.end()))
                 for m in re.finditer(pattern, shown)]
        own_words = not found and shown != text
        if own_words:  # the transcript's own words, which may start or end inside a name
            found = [(forward[m.start()], forward[m.end()], _whole(forward, m.start()), _whole(forward, m.end()))
                     for m in re.finditer(pattern, text)]
        if not found:  # the words are not repeated: they may name someone
            raise CopcodeError(f"the quote is not in segment {segment['id']}",
                               fix="copy the words exactly as `copcode segments` shows the segment's text.")
        if len(found) > 1:
            places = ", ".join(f"{a}:{b}" for a, b, _, _ in found)
            raise CopcodeError(f"the quote is {len(found)} times in segment {segment['id']} (at {places})",
                               fix="give more words, or the span of the one you mean with --span START:END.")
        [(shown_first, shown_last, first, last)] = found
        if first is None or last is None:
            at = shown_first if first is None else shown_last
            # a place inside a name is shown at the end of its replacement: step into that
            placeholder = _placeholder(shown, forward, at - 1 if own_words else at)
            raise CopcodeError(f"the quote starts or ends inside {placeholder} in segment {segment['id']}",
                               fix=f"quote {placeholder} whole (it stands for words copcode does not show), "
                                   "or leave it out.")
        return start + first, start + last
    if span is not None:
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", span)
        if not match or not int(match[1]) < int(match[2]) <= len(shown):
            raise CopcodeError(f"--span {span!r} is not START:END inside segment {segment['id']} "
                               f"(its text is {len(shown)} characters long)",
                               fix="give offsets into the segment's text, end exclusive, e.g. --span 0:42.")
        first, last = int(match[1]), int(match[2])
        while first < last and shown[first].isspace():  # white space at either end is no part of a quote
            first += 1
        while last > first and shown[last - 1].isspace():
            last -= 1
        first_in_text, last_in_text = _in_text(forward, first), _in_text(forward, last)
        inside_replacement = [at for at, in_text in ((first, first_in_text), (last, last_in_text)) if in_text is None]
        if first_in_text is None or last_in_text is None:
            placeholder = _placeholder(shown, forward, inside_replacement[0])
            wide_first = min(first, *(_replacement(forward, at)[0] for at in inside_replacement))
            wide_last = max(last, *(_replacement(forward, at)[1] for at in inside_replacement))
            raise CopcodeError(f"--span {span.strip()} starts or ends inside {placeholder} in segment {segment['id']}",
                               fix=f"give offsets around it, e.g. --span {wide_first}:{wide_last} (it stands for "
                                   "words copcode does not show).")

        def inside(at: int) -> bool:  # `at` falls between two characters of one word
            return 0 < at < len(shown) and bool(re.match(r"\w\w", shown[at - 1:at + 1]))
        cut = [at for at in (first, last) if inside(at)]
        if first == last or cut:
            wide_first, wide_last = first, last
            while inside(wide_first):
                wide_first -= 1
            while inside(wide_last):
                wide_last += 1
            raise CopcodeError(f"--span {span.strip()} " + (f"cuts a word of segment {segment['id']} (at "
                               f"{' and at '.join(map(str, cut))})" if cut else
                               f"holds only white space in segment {segment['id']}"),
                               fix="give offsets between words, e.g. --span "
                                   f"{wide_first}:{wide_last} for the whole words it touches, or the words with "
                                   "--quote." if cut else "give offsets around words, or the words with --quote.")
        return start + first_in_text, start + last_in_text
    return None


def _in_text(forward: list[int], at: int) -> int | None:
    """The offset in a text of `at`, an offset in its shown (pseudonymised) form, where
    `forward[i]` is offset i of the text in the shown form; None strictly inside a
    replacement. At a replacement's start, its identifier's start; at its end, the
    identifier's end (every offset inside an identifier is shown at its replacement's end)."""
    exact = [i for i, moved in enumerate(forward) if moved == at]
    return max(exact) if exact else None


def _whole(forward: list[int], at: int) -> int | None:
    """`at`, an offset in a text, unless it falls strictly inside an identifier (None)."""
    return at if _in_text(forward, forward[at]) == at else None


def _replacement(forward: list[int], at: int) -> tuple[int, int]:
    """Where the replacement that holds `at` (strictly inside it) starts and ends, shown."""
    return max(m for m in forward if m < at), min(m for m in forward if m > at)


def _placeholder(shown: str, forward: list[int], at: int) -> str:
    first, last = _replacement(forward, at)
    return repr(shown[first:last])


def current_code_id(codebook: Codebook, code_id: str) -> str:
    """The code's id in the codebook, following `renamed_from`; an unknown id is an error."""
    return codebook.code(codebook.renamed.get(code_id, code_id)).id


def find_segment(store: Store, segment_id: str):
    """The segment's row. An id as a CSV export wrote it, `'=1-3fa2c1` (a leading apostrophe
    keeps a spreadsheet from running it), is the segment `=1-3fa2c1` when only that one exists."""
    for candidate in [segment_id] + ([segment_id[1:]] if segment_id.startswith("'") else []):
        row = store.segment_row(candidate)
        if row is not None:
            return row
    example = store.first_segment_id()
    raise LookupFailed(
        f"unknown segment {segment_id!r}",
        fix="use a segment id as `copcode segments` and out/coded_segments.csv show it"
        f"{f' (e.g. {example})' if example else ''}; run `copcode code` if the transcripts changed.")


def all_decisions(store: Store) -> list[Decision]:
    return [Decision(*row) for row in store.decisions()]


def anchor_decisions(store: Store, decisions: list[Decision]) -> dict[int, str | None]:
    """Decision id -> the segment that now holds its words (None: orphaned).
    Same id and words: that segment. Else the same words elsewhere in the transcript (the
    occurrence nearest the old place), in the segment that overlaps them most. Else the
    transcript's segment most alike to the words, if at least FUZZY_MATCH alike (a typo fixed).
    """
    # only the transcripts the decisions were made on: a survey may have a million others
    wanted = {d.transcript for d in decisions}
    segments: dict[str, list] = {}
    by_id = {}
    for row in store.segments_of(wanted, {d.segment for d in decisions}):
        if row["id"] not in by_id:
            by_id[row["id"]] = row
            segments.setdefault(row["transcript"], []).append(row)
    texts = store.transcript_texts(wanted)
    anchors: dict[int, str | None] = {}
    cache: dict[tuple, str | None] = {}
    for d in decisions:
        key = (d.segment, d.transcript, d.start, d.text)
        if key not in cache:
            cache[key] = _anchor(d, by_id, segments.get(d.transcript, []), texts.get(d.transcript))
        anchors[d.id] = cache[key]
    return anchors


def moved_segment(store: Store, segment_id: str, words: str) -> str | None:
    """The segment that now holds `words`, which the segment `segment_id` (no longer in the
    store: its transcript was edited) held when they were written down (a review sheet's
    row), found as a decision's are (`anchor_decisions`) in the transcript the id names; None
    when they are gone or the id names no transcript."""
    from types import SimpleNamespace

    named = re.fullmatch(r"(.+)-[0-9a-f]{6}(?:-\d+)?", segment_id)
    if named is None or not words.strip():
        return None
    transcript = named[1]
    candidates = store.segments_of([transcript])
    return _anchor(SimpleNamespace(segment=segment_id, text=words, start=0), {}, candidates,  # type: ignore[arg-type]
                   store.transcript_texts([transcript]).get(transcript))


def _anchor(d: Decision, by_id, candidates, text) -> str | None:
    same = by_id.get(d.segment)
    if same is not None and same["text"] == d.text:
        return d.segment
    if text is None or not candidates:
        return None
    places, at = [], text.find(d.text)
    while at >= 0:
        places.append(at)
        at = text.find(d.text, at + 1)
    if places:
        start = min(places, key=lambda p: abs(p - d.start))
        end = start + len(d.text)
        best = max(candidates, key=lambda s: min(end, s["end"]) - max(start, s["start"]))
        if min(end, best["end"]) > max(start, best["start"]):
            return best["id"]
    matcher = difflib.SequenceMatcher(None, "", d.text, autojunk=False)  # b is cached: the words
    best_id, best_ratio = None, FUZZY_MATCH
    for s in candidates:
        matcher.set_seq1(s["text"])
        if matcher.real_quick_ratio() >= best_ratio and matcher.quick_ratio() >= best_ratio:
            ratio = matcher.ratio()
            if ratio >= best_ratio:
                best_id, best_ratio = s["id"], ratio
    return best_id


@dataclass
class CodingState:
    """What the log says now: per (segment, code, coder) "accepted" or "rejected"; per coder
    the (transcript, theme) pairs they have coded, i.e. decided any code of that theme on any
    segment of that transcript; and the orphaned decisions."""
    states: dict[tuple[str, str, str], str]
    covered: dict[str, set[tuple[str, str]]]
    orphans: list[Decision]
    # (segment, code, coder) -> the exact span of an accepted coding, in the transcript as it is
    # now (the span's words followed into their segment; a tag without one, or one whose words
    # are gone, the segment); absent (an accept without a span): the suggestion's quote
    spans: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    # the accepted decisions whose span's words are no longer in their segment (their coding
    # now quotes the whole segment)
    lost_spans: list[Decision] = field(default_factory=list)
    # (segment, code, coder) -> the note of the coder's current coding: of their latest accept or
    # tag with one since they last rejected or untagged it (tagging again for other words keeps it)
    notes: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (segment, code, coder) -> the coder's current decision there (the one an undo cancels)
    latest: dict[tuple[str, str, str], Decision] = field(default_factory=dict)
    # (coder, transcript) where the coder reviews suggestions (a current accept or reject): a
    # suggestion they have not decided there is not yet an absence. Where they only tag (the
    # NVivo way), what they did not tag in the themes they coded is absent.
    reviewing: set[tuple[str, str]] = field(default_factory=set)


def coding_state(store: Store, codebook: Codebook) -> CodingState:
    """Fold the log in order, per coder: undo pops that coder's latest decision on the
    segment and code; codes renamed in the codebook count under their new id."""
    decisions = all_decisions(store)
    anchors = anchor_decisions(store, decisions)
    renamed = codebook.renamed
    stacks: dict[tuple[str, str, str], list[Decision]] = {}
    # orphans fold alike, by the segment they were made on: one undone, or followed by
    # another decision on the same coding, is no coding lost
    orphaned: dict[tuple[str, str, str], list[Decision]] = {}
    for d in decisions:
        segment = anchors[d.id]
        key = (segment or d.segment, renamed.get(d.code, d.code), d.coder)
        stack = (stacks if segment is not None else orphaned).setdefault(key, [])
        if d.verdict == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(d)
    theme_of = {code.id: theme.id for theme in codebook.themes for code in theme.all_codes}
    transcript_of = store.segment_transcripts({key[0] for key in stacks})
    states: dict[tuple[str, str, str], str] = {}
    covered: dict[str, set[tuple[str, str]]] = {}
    reviewing: set[tuple[str, str]] = set()
    for key, stack in stacks.items():
        if stack:
            states[key] = "accepted" if stack[-1].verdict in POSITIVE else "rejected"
            if stack[-1].verdict in ("accept", "reject"):
                reviewing.add((key[2], transcript_of[key[0]]))
            if key[1] in theme_of:
                covered.setdefault(key[2], set()).add((transcript_of[key[0]], theme_of[key[1]]))
    for coder, transcript in store.coded():  # coded in full (an imported table): every theme
        covered.setdefault(coder, set()).update((transcript, theme.id) for theme in codebook.themes)
    orphans = sorted((stack[-1] for stack in orphaned.values() if stack), key=lambda d: d.id)
    # the words each coder chose: a span, or a whole segment they tagged (not the suggestion's
    # quote there, which a later run may move)
    spanned = {key: stack[-1] for key, stack in stacks.items()
               if stack and states[key] == "accepted" and (stack[-1].span_words or stack[-1].verdict == "tag")}
    # a coding's note: tagging again to change the words keeps the note the coder wrote before;
    # a reject or untag in between ends it
    notes = {}
    for key, stack in stacks.items():
        for d in reversed(stack):
            if d.verdict not in POSITIVE or d.note:
                if d.verdict in POSITIVE:
                    notes[key] = d.note
                break
    placed, lost = _placed_spans(store, spanned)
    return CodingState(states, covered, orphans, spans=placed, lost_spans=lost, notes=notes, reviewing=reviewing,
                       latest={key: stack[-1] for key, stack in stacks.items() if stack})


def codes_not_in(state: CodingState, codebook: Codebook) -> dict[str, int]:
    """Code -> how many current codings (accepted or rejected) are on it, for the codes the
    codebook does not have (after `renamed_from`)."""
    known = {code.id for code in codebook.codes}
    lost: dict[str, int] = {}
    for _, code, _ in state.states:
        if code not in known:
            lost[code] = lost.get(code, 0) + 1
    return dict(sorted(lost.items()))


def codes_not_in_text(lost: dict[str, int]) -> str:
    """`codes_not_in`'s finding, and what to do about it, in a sentence."""
    codes = ", ".join(f"{code} ({n})" for code, n in lost.items())
    return (f"{sum(lost.values())} decision(s) are on codes that are not in the codebook: {codes}. They are kept, "
            f"but not shown or counted: if a code was renamed, add `renamed_from: [{next(iter(lost))}]` to it "
            "under its new id; if it was removed, put it back to see them.")


def state_warnings(state: CodingState, codebook: Codebook) -> list[str]:
    """What a coder would not see otherwise: current codings on codes the codebook no longer
    has (a code renamed without `renamed_from`, or removed), and orphaned decisions."""
    warnings = []
    lost = codes_not_in(state, codebook)
    if lost:
        warnings.append(codes_not_in_text(lost))
    if state.orphans:
        warnings.append(f"{len(state.orphans)} decision(s) are orphaned: their words are no longer in the "
                        "transcripts. `copcode status` lists them.")
    return warnings


def with_absences(store: Store, codebook: Codebook, state: CodingState) -> dict[tuple[str, str, str], str]:
    """`state.states`, plus "rejected" for what a coder left untagged where their coding says
    it is absent: on every segment of a transcript they coded by tagging alone, or marked as
    coded in full, each code of the themes they coded there that they did not decide."""
    coded_in_full = set(store.coded())
    themes: dict[tuple[str, str], set[str]] = {}  # (coder, transcript) -> its themes
    for coder, pairs in state.covered.items():
        for transcript, theme in pairs:
            if (coder, transcript) not in state.reviewing or (coder, transcript) in coded_in_full:
                themes.setdefault((coder, transcript), set()).add(theme)
    codes_of = {theme.id: [code.id for code in theme.all_codes] for theme in codebook.themes}
    segments: dict[str, list[str]] = {}
    for row in store.segments_of(sorted({transcript for _, transcript in themes})):
        segments.setdefault(row["transcript"], []).append(row["id"])
    out = dict(state.states)
    for (coder, transcript), covered in themes.items():
        for segment in segments.get(transcript, []):
            for theme in covered:
                for code in codes_of[theme]:
                    out.setdefault((segment, code, coder), "rejected")
    return out


def _placed_spans(store: Store, spanned: dict[tuple[str, str, str], Decision]) -> tuple[dict, list[Decision]]:
    """Each decision's span where its words are now: at the same place in its segment when the
    segment's words are unchanged, else where the words occur in the segment (the occurrence
    nearest the old place); a span whose words are gone falls back to the whole segment, and
    its decision is listed second, with the id of the segment that holds it now (where a coder
    tags again). A decision without a span (a tag of the whole segment) is placed on its
    segment as it is now."""
    rows = {r["id"]: r for r in store.segments_of(segment_ids={key[0] for key in spanned})}
    placed, lost = {}, []
    for key, d in spanned.items():
        segment = rows.get(key[0])
        words = d.span_words
        if segment is None:
            continue
        if not words:
            placed[key] = (segment["start"], segment["end"])
            continue
        offset = d.span_start - d.start  # type: ignore[operator]
        if segment["text"] != d.text:  # where its words are now, as whole words ("care", not in "carers")
            found = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(words)}(?!\w)", segment["text"])]
            if not found:  # the coder's words are gone: the coding keeps their whole segment,
                lost.append(replace(d, segment=key[0]))  # listed there (the id it was made on may be gone)
                placed[key] = (segment["start"], segment["end"])
                continue
            offset = min(found, key=lambda p: abs(p - offset))
        placed[key] = (segment["start"] + offset, segment["start"] + offset + len(words))
    return placed, lost


@dataclass
class Status:
    run: sqlite3.Row | None  # the last run's row
    transcripts: int
    segments: int
    suggestions: int
    decisions: int
    coders: dict[str, int]  # coder -> (segment, code) pairs they decided
    reviewed: int  # suggestions some coder has decided
    pending: int  # suggestions nobody has decided
    orphans: list[Decision]
    lost_spans: list[Decision] = field(default_factory=list)  # spans whose words were edited away
    codes_not_in: dict[str, int] = field(default_factory=dict)  # see `codes_not_in`


def project_status(store: Store, codebook: Codebook) -> Status:
    """What is loaded, coded, reviewed and orphaned."""
    count = store.count
    state = coding_state(store, codebook)
    decided_pairs = {(segment, code) for segment, code, _ in state.states}
    suggested = store.suggestion_pairs()
    coders: dict[str, int] = {}
    known = {code.id for code in codebook.codes}  # a code no longer there is counted in `codes_not_in`
    for _, code, coder in state.states:
        if code in known:
            coders[coder] = coders.get(coder, 0) + 1
    reviewed = len(suggested & decided_pairs)
    return Status(store.last_run(), count("transcripts"), count("segments"), len(suggested),
                  count("decisions"), dict(sorted(coders.items())), reviewed,
                  len(suggested) - reviewed, state.orphans, state.lost_spans, codes_not_in(state, codebook))
