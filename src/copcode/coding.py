"""`copcode code`: ingest, segment, suggest, store, and write the tables for the write-up.

The run is streamed: transcripts (or survey rows) are read, segmented, looked up in the cache,
parsed and written to the store in batches, and the out/*.csv tables are written from the
store a chunk of rows at a time, so memory does not grow with the corpus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from copcode.codebook import Codebook, load_codebook
from copcode.project import Project

BATCH_SEGMENTS = 4000  # segments segmented, parsed and stored together
CHUNK_ROWS = 5000  # table rows rendered together


@dataclass
class CodingResult:
    transcripts: int
    segments: int
    suggestions: int
    summary: object  # tables.Table, see tables.coding_summary
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parsed: int = 0  # segments run through spaCy; the others came from the cache
    skipped: list = field(default_factory=list)  # TranscriptError of each file skipped
    learning: object = None  # learn.Learning when the decisions were learned from, else None
    learning_off: bool = False  # there are decisions, and learning is switched off


def project_codebook(project: Project) -> Codebook:
    path = project.codebook_path()
    return load_codebook(path, display=project.relative(path))


def code_project(project: Project, on_progress: Callable[[int, int | None], None] | None = None, *,
                 strict: bool = False, redact: bool = True, workers: int = 1,
                 corpus=None, learning: bool = True) -> CodingResult:
    """Code every transcript of the project and write out/coded_segments.csv and one
    out/quotes_<theme>.csv per theme. Nothing is stored unless all of it succeeds.
    Unreadable files are skipped with a warning, or stop the run when `strict`. The tables
    are pseudonymised when the project lists identifiers (unless `redact` is False).
    A segment whose words, codebook and engine are unchanged since the last run is not parsed
    again (its suggestions come from the cache); spaCy is not even loaded when nothing changed.
    `workers` > 1 parses in that many processes. `corpus` replaces the transcripts folder
    (survey answers, see ingest.survey); its transcripts may be an iterator, read once.
    `on_progress(done, total)` is told the segments parsed so far (total: None, as the corpus
    is streamed). Unless `learning` is False (or the settings say `learning: false`), the
    coders' decisions are learned from (learn.learn_suggestions) and the suggestions of the
    codes learned come from the model and the cues together."""
    from copcode import ENGINE_VERSION
    from copcode.decisions import coding_state, state_warnings
    from copcode.errors import CopcodeError
    from copcode.ingest import read_corpus
    from copcode.learn import keep_dropped, learn_suggestions
    from copcode.privacy import check_codebook_ids, checked_ids, redactor_for
    from copcode.store import open_store
    from copcode.suggest import Parser

    codebook = project_codebook(project)
    check_codebook_ids(project, codebook)
    redactor_for(project, enabled=redact)  # a wrong `privacy:` stops the run before any work
    corpus = corpus or read_corpus(project, strict=strict)
    store = open_store(project.store_path, create=True)
    try:
        # passages are found through this connection: inside the run's transaction it sees the new run
        redactor = redactor_for(project, enabled=redact, store=store)
        run = store.start_run()
        try:
            with Parser(codebook, project.settings.min_score, workers) as parse:
                parsed = 0
                for batch in _batches(checked_ids(project, corpus.transcripts), project.settings.max_segment_words):
                    parsed += _code_batch(store, run, batch, codebook, project.settings.min_score, parse,
                                          corpus, on_progress, parsed)
                _keep_definitions(store, run, codebook, project.settings.min_score, parse if parsed else None)
            if not run.counts["transcripts"] and hasattr(corpus, "nothing_to_code"):
                raise corpus.nothing_to_code()
            # All or nothing: the tables are rendered from the new run inside its transaction,
            # into a staging folder in out/; a table that cannot be written rolls the run back.
            # Only after the commit are the tables renamed into place.
            with _Staging(project) as staging:
                with store.transaction():
                    decided = store.count("decisions") > 0
                    learns = learning and project.settings.learning and decided
                    # what the coders were shown (the last run's learned suggestions too): one they
                    # have not decided is pending, not an absence, for the model
                    shown = store.suggestion_pairs() if decided else None
                    run.commit(store, codebook, ENGINE_VERSION)
                    # the coders' decisions as they stand, read once for learning and the tables
                    state = coding_state(store, codebook) if decided else None
                    learned = learn_suggestions(store, codebook, project.settings.min_score,
                                                project.settings.learn_from, state, shown) \
                        if state is not None and learns else None
                    if state is not None and shown:  # with learning or without
                        keep_dropped(store, state, shown)
                    try:
                        written, summary = write_tables(staging.project, store, codebook, redactor, state)
                    except CopcodeError as exc:
                        raise staging.named(exc) from None
                    staging.check(written)
                written = staging.publish(written)
        finally:
            run.close()
    finally:
        store.close()
    suggestions = run.counts["suggestions"] if learned is None else learned.total
    lost = state_warnings(state, codebook) if state is not None else []
    return CodingResult(run.counts["transcripts"], run.counts["segments"], suggestions,
                        summary, written, corpus.warnings + staging.warnings + lost, parsed=parsed,
                        skipped=getattr(corpus, "skipped", []), learning=learned,
                        learning_off=state is not None and not (learning and project.settings.learning))



class _Staging:
    """A folder in out/ where a run's tables are written before the run is committed, and
    renamed from into out/ after it (the same file system: each rename is atomic)."""

    def __init__(self, project: Project):
        self.out = project.out_dir
        self.folder: Path | None = None
        self.warnings: list[str] = []
        self._project = project

    def __enter__(self) -> _Staging:
        import tempfile
        from typing import cast

        from copcode.errors import CopcodeError

        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=".copcode-run-", dir=self.out))
        except OSError as exc:
            raise CopcodeError(f"cannot write the tables: the folder is not writable ({exc.strerror}); "
                               "nothing was stored", where=str(self.out),
                               fix="make out/ a writable folder (or remove the file of that name), then "
                               "run `copcode code` again.") from None
        self.project = cast(Project, _OutDir(self._project, self.folder))
        return self

    def named(self, exc):
        """A table's error, naming the table's place in out/ rather than the staging folder."""
        from copcode.errors import CopcodeError

        if type(exc) is not CopcodeError or not (exc.where or "").startswith(f"{self.folder}/"):
            return exc
        return CopcodeError(f"{exc.what}; nothing was stored", where=str(self.out / Path(exc.where).name),
                            fix=exc.fix)

    def check(self, written: list[Path]) -> None:
        """Refuse, before the commit, a table whose place in out/ cannot take a file."""
        from copcode.errors import CopcodeError

        for path in written:
            target = self.out / path.name
            if target.is_dir() or (target.is_symlink() and not target.exists()):
                raise CopcodeError("cannot write the file: a folder or a broken link has its name; "
                                   "nothing was stored", where=str(target),
                                   fix="move it away, then run `copcode code` again.")
            if target.exists():
                try:  # opened for appending nothing: fails where the file cannot be replaced
                    with open(target, "ab"):
                        pass
                except OSError as exc:
                    raise CopcodeError(f"cannot replace the file ({exc.strerror}); nothing was stored",
                                       where=str(target),
                                       fix="close it where it is open (e.g. in Excel) or make it writable, "
                                           "then run `copcode code` again.") from None

    def publish(self, written: list[Path]) -> list[Path]:
        """Rename the tables into out/ (after the commit: a failure here is a warning, as the
        run is stored); the paths in out/."""
        import os

        placed = []
        for path in written:
            target = self.out / path.name
            try:
                os.replace(path, target)
                placed.append(target)
            except OSError as exc:
                self.warnings.append(f"{target}: the run is stored but this table could not be replaced "
                                     f"({exc.strerror}); run `copcode code` again to write it.")
        return placed

    def __exit__(self, *exc) -> None:
        import shutil

        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class _OutDir:
    """The project, with out/ replaced by another folder."""

    def __init__(self, project: Project, out_dir: Path):
        self._project, self.out_dir = project, out_dir

    def __getattr__(self, name):
        return getattr(self._project, name)


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
    # the cache keeps the interviewer's questions too, which learning scores (learn.question_scores)
    asked = [cache_key(codebook, min_score, t.text[turn.start:turn.end])
             for t in transcripts for turn in t.turns if turn.role == "interviewer"]
    run.add(transcripts, segments, suggestions, keys + asked, new)
    return len(todo)


def _keep_definitions(store, run, codebook, min_score, parse) -> None:
    """The cache keeps the cue scores of the codebook's definitions (learn.definition_texts),
    which learning reads (learn.definitions_scored). With `parse` (the run's parser, which
    has loaded spaCy for the segments it parsed) those the cache lacks are scored too;
    otherwise learning scores them, loading spaCy once (a store from before definitions were
    read, which nothing made the run parse)."""
    from copcode.learn import cached_entries, definition_texts
    from copcode.suggest import cache_key

    texts = {text for _, text in definition_texts(codebook)}
    new = cached_entries(store, codebook, min_score, texts, parse)[1] if parse is not None else {}
    run.add([], [], [], [cache_key(codebook, min_score, text) for text in texts], new)


# ---------------------------------------------------------------- the tables, streamed

def write_tables(project: Project, store, codebook: Codebook, redactor, state=None) -> tuple[list[Path], object]:
    """out/coded_segments.csv and out/quotes_<theme>.csv, the tables of
    `tables.coded_segments` and `tables.exemplar_quotes(limit=0, per_participant=0)`, made by
    the same code (`tables.ProjectView.iter_codings`, `tables.pick_quotes`) but streamed: rows
    are read from the store and written a chunk at a time, so memory does not grow with the
    corpus. Also the summary of `tables.coding_summary` (a tables.Table), counted on the way.
    `state`: decisions.coding_state, when the caller has read it already."""
    from copcode.tables import (
        QUOTE_COLUMNS,
        SEGMENT_COLUMNS,
        ProjectView,
        Tally,
        pick_quotes,
        quote_row,
        segment_row,
        slim,
        with_words,
    )

    view = ProjectView(store, codebook, state)
    tally = Tally(codebook)
    written = [_write_csv(project.out_dir / "coded_segments.csv", SEGMENT_COLUMNS, redactor,
                          (segment_row(tally.add(c)) for c in view.iter_codings() if c.status != "rejected"))]
    for theme in codebook.themes:
        picked = pick_quotes(view, (slim(c) for c in view.iter_codings(theme.id) if c.status != "rejected"), 0, 0)
        written.append(_write_csv(project.out_dir / f"quotes_{theme.id}.csv", QUOTE_COLUMNS, redactor,
                                  (quote_row(c) for c in with_words(store, picked))))
    return written, tally.summary(view.people, project.settings.groups)


def _write_csv(path: Path, columns: list[str], redactor, rows) -> Path:
    """Write `rows` (dicts) as a CSV table with `columns`, rendered (and redacted) by the same
    code as every other table, a chunk at a time; the file appears whole or not at all."""
    from itertools import islice

    from copcode.export import render_table, write_atomic
    from copcode.tables import Table

    def chunks():
        first = True
        rows_iter = iter(rows)
        while True:
            chunk = list(islice(rows_iter, CHUNK_ROWS))
            if not chunk and not first:
                return
            table = Table(columns, chunk)
            text = render_table(redactor.redact_frame(table) if redactor else table, "csv")
            yield text if first else text.split("\n", 1)[1]
            first = False
            if len(chunk) < CHUNK_ROWS:
                return

    return write_atomic(path, chunks())
