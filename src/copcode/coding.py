"""`copcode code`: ingest, segment, suggest, store, and write the tables for the write-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from copcode.codebook import Codebook, load_codebook
from copcode.project import Project


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


def code_project(project: Project, on_progress: Callable[[int, int], None] | None = None, *,
                 strict: bool = False, redact: bool = True, workers: int = 1,
                 corpus=None) -> CodingResult:
    """Code every transcript of the project and write out/coded_segments.csv and one
    out/quotes_<theme>.csv per theme. Nothing is stored or written unless all of it succeeds.
    Unreadable files are skipped with a warning, or stop the run when `strict`. The tables
    are pseudonymised when the project lists identifiers (unless `redact` is False).
    A segment whose words, codebook and engine are unchanged since the last run is not parsed
    again (its suggestions come from the cache); spaCy is not even loaded when nothing changed.
    `workers` > 1 parses in that many processes. `corpus` replaces the transcripts folder
    (survey answers, see ingest.survey)."""
    from copcode.export import write_table
    from copcode.ingest import read_corpus
    from copcode import ENGINE_VERSION
    from copcode.privacy import redactor_for
    from copcode.segment import segment_transcript
    from copcode.store import open_store
    from copcode.suggest import Suggestion, cache_key, suggest, suggest_parallel
    from copcode.tables import coded_segments, codings, coding_summary, exemplar_quotes

    codebook = project_codebook(project)
    redactor = redactor_for(project, enabled=redact)
    corpus = corpus or read_corpus(project, strict=strict)
    transcripts = corpus.transcripts
    segments = [s for t in transcripts for s in segment_transcript(t, project.settings.max_segment_words)]
    min_score = project.settings.min_score
    keys = {s.id: cache_key(codebook, min_score, s.text) for s in segments}

    store = open_store(project.store_path, create=True)
    try:
        cached = store.cached(set(keys.values()))
        todo = [s for s in segments if keys[s.id] not in cached]
        progress = (lambda done: on_progress(done, len(todo))) if on_progress and todo else None
        if not todo:
            found = []
        elif workers > 1:
            found = suggest_parallel(codebook, todo, min_score, workers, progress)
        else:
            from copcode.nlp import build_pipeline

            found = suggest(build_pipeline(codebook), codebook, todo, min_score, progress)
        by_segment: dict[str, list] = {}
        for suggestion in found:
            by_segment.setdefault(suggestion.segment, []).append(suggestion)
        for segment in todo:
            cached[keys[segment.id]] = [s.relative(segment) for s in by_segment.get(segment.id, [])]
        suggestions = [Suggestion.placed(c, s) for s in segments for c in cached[keys[s.id]]]
        store.save_run(transcripts, segments, suggestions, codebook, ENGINE_VERSION,
                       cache={keys[s.id]: cached[keys[s.id]] for s in segments})
        frame = codings(store, codebook)
        tables = {"coded_segments.csv": coded_segments(store, codebook, frame)}
        for theme in codebook.themes:
            tables[f"quotes_{theme.id}.csv"] = exemplar_quotes(
                store, codebook, theme.id, limit=0, per_participant=0, frame=frame)
        if redactor:
            tables = {name: redactor.redact_frame(frame) for name, frame in tables.items()}
        written = [write_table(frame, project.out_dir / name, "csv") for name, frame in tables.items()]
        summary = coding_summary(store, codebook, project.settings.groups, frame)
    finally:
        store.close()
    return CodingResult(len(transcripts), len(segments), len(suggestions), summary, written,
                        corpus.warnings, parsed=len(todo))
