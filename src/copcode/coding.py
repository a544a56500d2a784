"""`copcode code`: ingest, segment, suggest, store, and write the tables for the write-up.

The run is streamed: transcripts (or survey rows) are read, segmented, looked up in the cache,
parsed and written to the store in batches, and the out/*.csv tables are written from the
store a chunk of rows at a time, so memory does not grow with the corpus."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Callable

from copcode.codebook import Codebook, load_codebook
from copcode.project import Project

BATCH_SEGMENTS = 4000  # segments segmented, parsed and stored together
CHUNK_ROWS = 5000  # table rows rendered together


@dataclass
class CodingResult:
    transcripts: int
    segments: int
    suggestions: int
    summary: object  # DataFrame, see tables.coding_summary
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parsed: int = 0  # segments run through spaCy; the others came from the cache


def project_codebook(project: Project) -> Codebook:
    path = project.codebook_path()
    return load_codebook(path, display=project.relative(path))


def code_project(project: Project, on_progress: Callable[[int, int | None], None] | None = None, *,
                 strict: bool = False, redact: bool = True, workers: int = 1,
                 corpus=None) -> CodingResult:
    """Code every transcript of the project and write out/coded_segments.csv and one
    out/quotes_<theme>.csv per theme. Nothing is stored unless all of it succeeds.
    Unreadable files are skipped with a warning, or stop the run when `strict`. The tables
    are pseudonymised when the project lists identifiers (unless `redact` is False).
    A segment whose words, codebook and engine are unchanged since the last run is not parsed
    again (its suggestions come from the cache); spaCy is not even loaded when nothing changed.
    `workers` > 1 parses in that many processes. `corpus` replaces the transcripts folder
    (survey answers, see ingest.survey); its transcripts may be an iterator, read once.
    `on_progress(done, total)` is told the segments parsed so far (total: None, as the corpus
    is streamed)."""
    from copcode import ENGINE_VERSION
    from copcode.ingest import read_corpus
    from copcode.privacy import checked_ids, redactor_for
    from copcode.store import open_store
    from copcode.suggest import Parser

    codebook = project_codebook(project)
    redactor = redactor_for(project, enabled=redact)
    corpus = corpus or read_corpus(project, strict=strict)
    store = open_store(project.store_path, create=True)
    try:
        run = store.start_run()
        try:
            with Parser(codebook, project.settings.min_score, workers) as parse:
                parsed = 0
                for batch in _batches(checked_ids(project, corpus.transcripts), project.settings.max_segment_words):
                    parsed += _code_batch(store, run, batch, codebook, project.settings.min_score, parse,
                                          corpus, on_progress, parsed)
            if not run.counts["transcripts"] and hasattr(corpus, "nothing_to_code"):
                raise corpus.nothing_to_code()
            run.commit(store, codebook, ENGINE_VERSION)
        finally:
            run.close()
        written, summary = write_tables(project, store, codebook, redactor)
    finally:
        store.close()
    return CodingResult(run.counts["transcripts"], run.counts["segments"], run.counts["suggestions"],
                        summary, written, corpus.warnings, parsed=parsed)


def _batches(transcripts, max_words: int):
    """(transcripts, their segments) in batches of about BATCH_SEGMENTS segments."""
    from copcode.segment import segment_transcript

    batch, segments = [], []
    for transcript in transcripts:
        batch.append(transcript)
        segments += segment_transcript(transcript, max_words)
        if len(segments) >= BATCH_SEGMENTS:
            yield batch, segments
            batch, segments = [], []
    if batch:
        yield batch, segments


def _code_batch(store, run, batch, codebook, min_score, parse, corpus, on_progress, parsed_before) -> int:
    """Suggest for one batch (the cache first, then the parser) and add it to the run; the
    number of segments parsed."""
    from copcode.errors import TranscriptError
    from copcode.suggest import Suggestion, cache_key

    transcripts, segments = batch
    earlier = run.sources_of(t.id for t in transcripts)
    for transcript in transcripts:  # survey ids are checked here, against the rows stored so far
        if transcript.id in earlier:
            if hasattr(corpus, "repeated_id"):
                raise corpus.repeated_id(transcript, earlier[transcript.id])
            raise TranscriptError(f"participant {transcript.id} already has a transcript, "
                                  f"{earlier[transcript.id]}", where=transcript.source,
                                  fix="give each participant one transcript.")
        earlier[transcript.id] = transcript.source
    keys = [cache_key(codebook, min_score, s.text) for s in segments]
    cached = store.cached(set(keys))
    todo = [s for s, k in zip(segments, keys) if k not in cached]
    progress = (lambda done: on_progress(parsed_before + done, None)) if on_progress and todo else None
    by_segment: dict[str, list] = {}
    for suggestion in parse(todo, progress):
        by_segment.setdefault(suggestion.segment, []).append(suggestion)
    new = {key: [s.relative(segment) for s in by_segment.get(segment.id, [])]
           for segment, key in zip(segments, keys) if key not in cached}
    cached.update(new)
    suggestions = [Suggestion.placed(c, s) for s, k in zip(segments, keys) for c in cached[k]]
    run.add(transcripts, segments, suggestions, keys, new)
    return len(todo)


# ---------------------------------------------------------------- the tables, streamed

def write_tables(project: Project, store, codebook: Codebook, redactor) -> tuple[list[Path], object]:
    """out/coded_segments.csv and out/quotes_<theme>.csv, the same tables as
    `tables.coded_segments` and `tables.exemplar_quotes(limit=0, per_participant=0)`, written
    from the store a chunk at a time; and the summary of `tables.coding_summary`."""
    from copcode.tables import QUOTE_COLUMNS, SEGMENT_COLUMNS, _spread

    codings = _Codings(store, codebook)
    tally = _Tally(codebook)
    written = [_write_csv(project.out_dir / "coded_segments.csv", SEGMENT_COLUMNS, redactor,
                          (tally.add(row) for row in codings.rows() if row["status"] != "rejected"))]
    for theme in codebook.themes:
        rows = [{k: row[k] for k in ("segment", "code", "participant", "group", "status", "score",
                                     "transcript", "quote_start", "quote_end", "start")}
                for row in codings.rows(theme.id) if row["status"] != "rejected"]
        picked = _spread(rows, 0, 0, one_per_passage=False)
        del rows
        written.append(_write_csv(project.out_dir / f"quotes_{theme.id}.csv", QUOTE_COLUMNS, redactor,
                                  _quotes(store, codebook, picked, theme.id)))
    return written, tally.summary(store, project.settings.groups)


def _quotes(store, codebook, picked, theme_id):
    for i in range(0, len(picked), CHUNK_ROWS):
        chunk = picked[i:i + CHUNK_ROWS]
        texts = {r["segment"]: r["text"] for r in store.segment_rows({row["segment"] for row in chunk})}
        for row in chunk:
            offset = row["start"]
            yield {"segment": row["segment"], "transcript": row["transcript"],
                   "participant": row["participant"], "group": row["group"], "theme": theme_id,
                   "code": row["code"], "start": row["quote_start"], "end": row["quote_end"],
                   "quote": texts[row["segment"]][row["quote_start"] - offset:row["quote_end"] - offset],
                   "score": row["score"], "status": row["status"]}


class _Codings:
    """`tables.codings`, row by row from the store in the same order (transcript, segment
    start, code order), without the transcript texts."""

    def __init__(self, store, codebook: Codebook):
        from copcode.decisions import coding_state

        self.store = store
        self.theme_of = {code.id: theme.id for theme in codebook.themes for code in theme.codes}
        self.order = {code.id: i for i, code in enumerate(codebook.codes)}
        self.verdicts: dict[tuple[str, str], dict[str, list[str]]] = {}
        for (segment, code, coder), verdict in sorted(coding_state(store, codebook).states.items()):
            self.verdicts.setdefault((segment, code), {}).setdefault(verdict, []).append(coder)
        # codings a coder accepted or tagged that were never suggested (few: people made them)
        accepted = {k for k, v in self.verdicts.items() if "accepted" in v and k[1] in self.theme_of}
        suggested = store.suggested({segment for segment, _ in accepted})
        self.tagged = sorted(accepted - suggested)

    def _status(self, key) -> str:
        verdict = self.verdicts.get(key, {})
        if "accepted" in verdict:
            return "accepted by " + ", ".join(verdict["accepted"])
        return "rejected" if "rejected" in verdict else "suggested"

    def rows(self, theme: str | None = None):
        def sort_key(row):
            return row["transcript"], row["start"], self.order[row["code"]]

        def suggested():
            groups = {}
            for _, same_segment in groupby(self.store.coding_rows(), key=lambda r: r["segment"]):
                rows = [self._row(r, groups, r["score"], r["quote_start"], r["quote_end"])
                        for r in same_segment if r["code"] in self.theme_of]
                yield from sorted(rows, key=lambda r: self.order[r["code"]])

        def tagged():
            segments = {r["segment"]: r for r in self.store.segment_rows({s for s, _ in self.tagged})}
            groups = {}
            rows = [self._row({**dict(segments[s]), "code": c}, groups, 1.0, segments[s]["start"],
                              segments[s]["end"]) for s, c in self.tagged if s in segments]
            return sorted(rows, key=sort_key)

        for row in heapq.merge(suggested(), tagged(), key=sort_key):
            if theme is None or row["theme"] == theme:
                yield row

    def _row(self, r, groups, score, quote_start, quote_end) -> dict:
        attributes = r["attributes"]
        if attributes not in groups:
            groups.clear()  # rows come by transcript: one transcript's group at a time
            groups[attributes] = json.loads(attributes).get("group", "")
        return {"segment": r["segment"], "transcript": r["transcript"], "participant": r["participant"],
                "group": groups[attributes], "theme": self.theme_of[r["code"]], "code": r["code"],
                "start": r["start"], "end": r["end"], "text": r["text"], "score": score,
                "status": self._status((r["segment"], r["code"])),
                "quote_start": quote_start, "quote_end": quote_end}


class _Tally:
    """`tables.coding_summary`, counted while the coded segments stream past. Rows come
    ordered by transcript (= participant), so a count of distinct segments or participants
    only has to remember the last one it saw."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.last: dict[tuple, str] = {}
        self.counts: dict[tuple, int] = {}

    def _count(self, key: tuple, value: str) -> None:
        if self.last.get(key) != value:
            self.last[key] = value
            self.counts[key] = self.counts.get(key, 0) + 1

    def add(self, row: dict) -> dict:
        for code in (None, row["code"]):
            self._count((row["theme"], code, "segments"), row["segment"])
            self._count((row["theme"], code, "participants"), row["participant"])
            self._count((row["theme"], code, "group", row["group"]), row["participant"])
        return row

    def summary(self, store, groups: dict[str, str]):
        import pandas as pd

        sizes: dict[str, int] = {}
        total, last = 0, None
        for participant, attributes in store.participants():
            if participant != last:
                last, total = participant, total + 1
                group = json.loads(attributes).get("group", "")
                sizes[group] = sizes.get(group, 0) + 1
        rows = []
        for theme in self.codebook.themes:
            for code_id in [None] + [c.id for c in theme.codes]:
                row = {"theme": theme.id, "code": code_id or "(all)",
                       "segments": self.counts.get((theme.id, code_id, "segments"), 0),
                       "participants": f"{self.counts.get((theme.id, code_id, 'participants'), 0)} of {total}"}
                for group in groups:
                    if group in sizes:
                        row[group] = f"{self.counts.get((theme.id, code_id, 'group', group), 0)}/{sizes[group]}"
                rows.append(row)
        return pd.DataFrame(rows)


def _write_csv(path: Path, columns: list[str], redactor, rows) -> Path:
    """Write `rows` (dicts) as a CSV table with `columns`, rendered (and redacted) by the same
    code as every other table, a chunk at a time; the file appears whole or not at all."""
    import os
    import tempfile
    from itertools import islice

    import pandas as pd

    from copcode.errors import CopcodeError
    from copcode.export import render_table

    def chunks():
        first = True
        rows_iter = iter(rows)
        while True:
            chunk = list(islice(rows_iter, CHUNK_ROWS))
            if not chunk and not first:
                return
            frame = pd.DataFrame(chunk, columns=columns)
            text = render_table(redactor.redact_frame(frame) if redactor else frame, "csv")
            yield text if first else text.split("\n", 1)[1]
            first = False
            if len(chunk) < CHUNK_ROWS:
                return

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                for text in chunks():
                    out.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would have made it
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise CopcodeError(f"cannot write the file ({exc.strerror})", where=str(path),
                           fix="check that the folder exists and is writable.") from None
    return path
