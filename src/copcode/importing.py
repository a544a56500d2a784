"""`copcode import`: codes, transcripts and codings from a REFI-QDA file into this project."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from copcode.errors import CopcodeError
from copcode.project import Project


@dataclass
class ImportResult:
    codebook_written: Path | None
    transcripts_written: list[Path]
    codings: int
    problems: list[str] = field(default_factory=list)


def import_refi(project: Project, path: Path, *, utf16: bool = False) -> ImportResult:
    """Bring a .qdpx (or .qdc) into the project: its codebook when the project has none, its
    text sources as transcripts (an existing transcript must hold the same text), then code the
    project and record every coding as a `tag` by its user on the segment it overlaps most.
    What cannot be mapped is listed in `problems`, never silently dropped. If anything fails,
    the files written so far are removed again."""
    from copcode.ingest.refi import read_qdpx

    imported = read_qdpx(path, utf16=utf16)
    created: list[Path] = []
    try:
        return _import(project, Path(path), imported, created)
    except BaseException:
        for file in reversed(created):
            file.unlink(missing_ok=True)
        raise


def _import(project: Project, path: Path, imported, created: list[Path]) -> ImportResult:
    from copcode.coding import code_project, project_codebook
    from copcode.decisions import record_many
    from copcode.export import write_atomic
    from copcode.store import open_store

    def write(target: Path, text: str) -> Path:
        created.append(target)
        return write_atomic(target, text.encode("utf-8"))

    problems = list(imported.problems)
    codebook_written = None
    if not any((project.root / "codebooks").glob("*.y*ml")) and not project.settings.codebook:
        if not imported.codes:
            raise CopcodeError("the file holds no codes and this project has no codebook",
                               where=str(path), fix="add a codebook to codebooks/ first.")
        codebook_written = write(project.root / "codebooks" / f"{_safe_name(path.stem)}.yaml",
                                 _codebook_yaml(imported.codes, path.stem))
    codebook = project_codebook(project)
    if not imported.sources:  # a codebook (.qdc) alone
        return ImportResult(codebook_written, [], 0, problems)
    by_guid = {}
    for code in _leaves(imported.codes):
        if any(c.id == code.id for c in codebook.codes):
            by_guid[code.guid] = code.id
        else:
            problems.append(f"code {code.label!r} ({code.id}) is not in {codebook.path}; its codings are left out")

    ids = {name: _safe_name(name) for name in imported.sources}  # a source name is not a safe path
    written = []
    folder = project.transcripts_dir
    for name, text in imported.sources.items():
        existing = list(folder.glob(f"{ids[name]}.*")) if folder.is_dir() else []
        if existing:
            from copcode.ingest import read_transcript

            if read_transcript(existing[0], project).text != text:
                raise CopcodeError(
                    f"source {name!r} differs from the transcript already here, {project.relative(existing[0])}",
                    where=str(path), fix="import into a fresh project folder, or remove that transcript.")
            continue
        written.append(write(folder / f"{ids[name]}.txt", text))
    if imported.cases and not (project.root / "participants.csv").exists():
        columns = sorted({k for values in imported.cases.values() for k in values})
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["participant", *columns])
        for case, values in sorted(imported.cases.items()):
            writer.writerow([case, *[values.get(c, "") for c in columns]])
        write(project.root / "participants.csv", out.getvalue())

    code_project(project)
    store = open_store(project.store_path, create=False)
    try:
        segments = {}
        for row in store.db.execute('SELECT id, transcript, start, "end" FROM segments'):
            segments.setdefault(row["transcript"], []).append(row)
        rows = {}
        for source, start, end, code_guid, user in imported.codings:
            if code_guid not in by_guid:
                continue
            overlap = lambda s: min(end, s["end"]) - max(start, s["start"])
            best = max(segments.get(ids[source], []), key=overlap, default=None)
            if best is None or overlap(best) <= 0:
                problems.append(f"source {source!r} {start}-{end}: not in a participant's turn; left out")
                continue
            rows.setdefault(user, []).append((best["id"], by_guid[code_guid], "tag", "imported"))
        with store.transaction():
            for user, decisions in rows.items():
                record_many(store, codebook, list(dict.fromkeys(decisions)), user)
    finally:
        store.close()
    return ImportResult(codebook_written, written, sum(len(set(r)) for r in rows.values()), problems)


def _safe_name(name: str) -> str:
    """A file name from a source's name: no folders, no '..', only letters, digits, - _ ."""
    return re.sub(r"[^\w.-]+", "_", Path(name).name).strip("._") or "source"


def _leaves(codes):
    for code in codes:
        if code.codable:
            yield code
        yield from _leaves(code.children)


def _codebook_yaml(codes, name: str) -> str:
    """Top-level codes with children become themes; lone top-level codes go under 'imported'."""
    def code_entry(code):
        entry = {"id": code.id, "label": code.label}
        definition = []
        for part in (code.description or code.label).split("\n\n"):
            key = next((k for k in ("include", "exclude") if part.startswith(f"{k.title()}: ")), None)
            if key:
                entry[key] = part.split(": ", 1)[1]
            else:
                definition.append(part)
        return {"id": entry.pop("id"), "label": entry.pop("label"),
                "definition": "\n\n".join(definition) or code.label, **entry}

    themes = [{"id": c.id, "label": c.label, **({"description": c.description} if c.description else {}),
               "codes": [code_entry(child) for child in _leaves(c.children)]}
              for c in codes if c.children]
    lone = [code_entry(c) for c in codes if not c.children and c.codable]
    if lone:
        themes.append({"id": "imported", "label": "Imported codes", "codes": lone})
    header = f"# Codebook imported by copcode from {name}. Add cues to get suggestions.\n"
    return header + yaml.safe_dump({"name": name, "themes": themes}, sort_keys=False, allow_unicode=True, width=100)
