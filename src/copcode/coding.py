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


def project_codebook(project: Project) -> Codebook:
    path = project.codebook_path()
    return load_codebook(path, display=project.relative(path))


def code_project(project: Project, on_progress: Callable[[int, int], None] | None = None, *,
                 strict: bool = False, redact: bool = True) -> CodingResult:
    """Code every transcript of the project and write out/coded_segments.csv and one
    out/quotes_<theme>.csv per theme. Nothing is stored or written unless all of it succeeds.
    Unreadable files are skipped with a warning, or stop the run when `strict`. The tables
    are pseudonymised when the project lists identifiers (unless `redact` is False)."""
    from copcode.export import write_table
    from copcode.ingest import read_corpus
    from copcode.nlp import PIPELINE_VERSION, build_pipeline
    from copcode.privacy import redactor_for
    from copcode.segment import segment_transcript
    from copcode.store import open_store
    from copcode.suggest import suggest
    from copcode.tables import coded_segments, coding_summary, exemplar_quotes

    codebook = project_codebook(project)
    redactor = redactor_for(project, enabled=redact)
    corpus = read_corpus(project, strict=strict)
    transcripts = corpus.transcripts
    nlp = build_pipeline(codebook)
    segments = [s for t in transcripts for s in segment_transcript(t, project.settings.max_segment_words)]
    progress = (lambda done: on_progress(done, len(segments))) if on_progress else None
    suggestions = suggest(nlp, codebook, segments, project.settings.min_score, progress)

    store = open_store(project.store_path, create=True)
    try:
        store.save_run(transcripts, segments, suggestions, codebook, PIPELINE_VERSION)
        tables = {"coded_segments.csv": coded_segments(store, codebook)}
        for theme in codebook.themes:
            tables[f"quotes_{theme.id}.csv"] = exemplar_quotes(
                store, codebook, theme.id, limit=0, per_participant=0)
        if redactor:
            tables = {name: redactor.redact_frame(frame) for name, frame in tables.items()}
        written = [write_table(frame, project.out_dir / name, "csv") for name, frame in tables.items()]
        summary = coding_summary(store, codebook, project.settings.groups)
    finally:
        store.close()
    return CodingResult(len(transcripts), len(segments), len(suggestions), summary, written, corpus.warnings)
