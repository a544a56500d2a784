"""`copcode import`: codes, transcripts and codings from a REFI-QDA file into this project.

All or nothing: everything is read and checked before anything is written; if a later step
fails (coding the project, recording the codings), every file written or rewritten
(transcripts, the codebook, participants.csv, out/) and the store are put back as they were."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from copcode.errors import CopcodeError
from copcode.project import Project


@dataclass
class ImportResult:
    codebook_written: Path | None
    transcripts_written: list[Path]
    codings: int  # codings recorded by this import
    problems: list[str] = field(default_factory=list)
    already: int = 0  # codings in the file that were recorded before (by an earlier import)


@dataclass
class _Plan:
    """What the import will write, all of it checked."""
    codebook: tuple[Path, str] | None  # (where, YAML text) when the project has no codebook
    code_ids: dict[str, str]  # code guid in the file -> code id in the project's codebook
    sources: dict[str, Path]  # source name -> its transcript file (new or already there)
    new_sources: dict[str, str]  # source name -> text, for the transcripts to write
    participants: str | None  # participants.csv text, when the project has none
    problems: list[str]


def import_refi(project: Project, path: Path, *, utf16: bool = False) -> ImportResult:
    """Bring a .qdpx (or .qdc) into the project: its codebook when the project has none, its
    text sources as transcripts (an existing transcript must hold the same text), its cases
    as participants.csv when there is none; then code the project and record every coding as
    a `tag` by its user on the segment it overlaps most, unless that coder already has a
    decision on that segment and code. What cannot be mapped is listed in `problems`, never
    silently dropped. If anything fails, the project and its store are left as they were."""
    from copcode.ingest.refi import read_qdpx

    path = Path(path)
    imported = read_qdpx(path, utf16=utf16)
    plan = _plan(project, path, imported)
    undo = _Undo(project)
    try:
        return _apply(project, path, imported, plan, undo)
    except BaseException as exc:
        try:
            undo.restore()
        except Exception as failed:
            raise CopcodeError(f"the import failed ({exc}), and putting the project back failed too ({failed})",
                               fix="restore the project folder and .copcode/ from a backup.") from exc
        raise
    finally:
        undo.discard()


def _plan(project: Project, path: Path, imported) -> _Plan:
    """Check everything the import would write; raise before anything is written."""
    from copcode.coding import project_codebook
    from copcode.ingest import FORMATS, read_transcript
    from copcode.ingest.refi import describe

    problems = list(imported.problems)
    codebook = None
    if not any((project.root / "codebooks").glob("*.y*ml")) and not project.settings.codebook:
        target = project.root / "codebooks" / f"{_safe_name(path.stem)}.yaml"
        text, ids = _codebook_yaml(path, imported.codes, problems)
        codebook = (target, text)
        known = {i: i for i in ids}
        where = project.relative(target)
    else:
        existing = project_codebook(project)
        known = {code.id: code.id for code in existing.codes} | existing.renamed
        where = existing.path
    code_ids = {}
    for code in _leaves(imported.codes):
        if code.id in known:
            code_ids[code.guid] = known[code.id]
        else:
            problems.append(f"{describe(code)} ({code.id}) is not in {where}; its codings are left out")

    folder = project.transcripts_dir
    sources: dict[str, Path] = {}
    new_sources: dict[str, str] = {}
    names: dict[str, str] = {}  # folded file id -> the source that becomes that file
    for name, text in imported.sources.items():
        file_id = _safe_name(name)  # a source's name is not a safe path
        other = names.setdefault(file_id.casefold(), name)
        if other != name:
            raise CopcodeError(
                f"TextSources {other!r} and {name!r} would both become transcripts/{file_id}.txt",
                where=str(path), fix="give the sources names that differ in letters or digits, "
                "not only in spaces, punctuation or case, and export again.")
        present = [p for p in folder.iterdir() if p.stem.casefold() == file_id.casefold()
                   and p.suffix.lower() in FORMATS] if folder.is_dir() else []
        if present:
            if read_transcript(present[0], project).text != text:
                raise CopcodeError(
                    f"TextSource {name!r} differs from the transcript already here, "
                    f"{project.relative(present[0])}",
                    where=str(path), fix="import into a fresh project folder, or remove that transcript.")
            sources[name] = present[0]
            continue
        sources[name] = folder / f"{file_id}.txt"
        new_sources[name] = text

    participants = None
    if imported.cases:
        here = [p for p in (project.root / "participants.csv", folder / "participants.csv") if os.path.lexists(p)]
        if here:
            problems.append(f"{len(imported.cases)} cases and their variables: {project.relative(here[0])} "
                            "is already here; left out")
        else:
            participants = _participants_csv(path, imported.cases)
    return _Plan(codebook, code_ids, sources, new_sources, participants, problems)


def _apply(project: Project, path: Path, imported, plan: _Plan, undo: _Undo) -> ImportResult:
    from copcode.coding import code_project, project_codebook
    from copcode.decisions import coding_state, record_many
    from copcode.store import open_store

    codebook_written = undo.write(*plan.codebook) if plan.codebook else None
    if not imported.sources:  # a codebook (.qdc) alone
        return ImportResult(codebook_written, [], 0, plan.problems)
    written = [undo.write(plan.sources[name], text) for name, text in plan.new_sources.items()]
    if plan.participants is not None:
        undo.write(project.root / "participants.csv", plan.participants)

    undo.save_store_and_out()
    try:
        coded = code_project(project)
    except CopcodeError as exc:
        # the transcript it names is about to be removed again: name the source instead
        source = next((n for n in plan.new_sources if project.relative(plan.sources[n]) == exc.where), None)
        if source is None:
            raise
        raise CopcodeError(f"TextSource {source!r}: {exc.what}", where=str(path), fix=exc.fix) from None
    # what `copcode code` says about the transcripts this import wrote (one skipped as
    # unreadable, say); its notes on the project's other files are not about the import
    mine = tuple(f"{project.relative(plan.sources[n])}:" for n in plan.new_sources)
    new_files = {project.relative(plan.sources[n]): n for n in plan.new_sources}  # file -> source name
    for problem in coded.skipped:  # a source that cannot be coded: the import is undone
        source = new_files.get((problem.where or "").split(":")[0])
        if source is not None:
            raise CopcodeError(f"TextSource {source!r}: {problem.what}", where=str(path), fix=problem.fix)
    problems = plan.problems + [w for w in coded.warnings if w.startswith(mine)]
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        segments = store.segment_spans()
        state = coding_state(store, codebook).states
        rows: dict[str, dict[tuple, None]] = {}
        already = set()
        codable = {code.guid for code in _leaves(imported.codes)}
        unknown: dict[str, int] = {}
        for source, start, end, code_guid, user in imported.codings:
            if code_guid not in codable:
                unknown[code_guid] = unknown.get(code_guid, 0) + 1
            if code_guid not in plan.code_ids or source not in plan.sources:
                continue  # said already: the code is not in the codebook, or the source left out
            def overlap(span, start=start, end=end):
                return min(end, span[2]) - max(start, span[1])

            best = max(segments.get(plan.sources[source].stem, []), key=overlap, default=None)
            if best is None or overlap(best) <= 0:
                problems.append(f"source {source!r} {start}-{end}: not in a participant's turn; left out")
                continue
            code_id = plan.code_ids[code_guid]
            if (best[0], code_id, user) in state:
                already.add((best[0], code_id, user))
                continue
            rows.setdefault(user, {})[(best[0], code_id, "tag", "imported")] = None
        problems += [f"{n} coding(s) refer to code guid {g}, not a codable code in the file; left out"
                     for g, n in unknown.items()]
        with store.transaction():
            for user, decisions in rows.items():
                record_many(store, codebook, list(decisions), user)
    finally:
        store.close()
    return ImportResult(codebook_written, written, sum(map(len, rows.values())), problems, len(already))


class _Undo:
    """Puts the project back as it was: files written by the import removed or given their
    old bytes, out/*.csv (rewritten by `copcode code`) restored, the store copied back from
    a snapshot (or removed when the import created it), folders it created removed."""

    def __init__(self, project: Project):
        self.project = project
        self.files: dict[Path, bytes | None] = {}  # what each file held before; None: it did not exist
        self.folders = [f for f in (project.transcripts_dir, project.root / "codebooks", project.out_dir,
                                    project.store_path.parent) if not f.exists()]
        self.snapshot: Path | None = None
        self.had_store = project.store_path.exists()
        self.out_before: set[Path] | None = None  # out/'s tables before `copcode code` ran

    def write(self, target: Path, text: str) -> Path:
        from copcode.export import write_atomic

        self._keep(target)
        return write_atomic(target, text.encode("utf-8"))

    def _keep(self, target: Path) -> None:
        if target not in self.files:
            self.files[target] = target.read_bytes() if target.is_file() else None

    def save_store_and_out(self) -> None:
        """Before `copcode code` runs: out/'s tables and a snapshot of the store."""
        from copcode.store import open_store

        out = self.project.out_dir
        for table in (sorted(out.glob("*.csv")) if out.is_dir() else []):
            if table.is_file():
                self._keep(table)
        if self.had_store:
            store = open_store(self.project.store_path, create=False)
            handle, name = tempfile.mkstemp(prefix=".import-", suffix=".db", dir=self.project.store_path.parent)
            os.close(handle)
            try:
                store.backup(Path(name))
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
            finally:
                store.close()
            self.snapshot = Path(name)  # only a whole copy may be restored
        self.out_before = set(out.glob("*.csv")) if out.is_dir() else set()

    def restore(self) -> None:
        from copcode.store import open_store

        store_path = self.project.store_path
        if self.snapshot is not None:
            store = open_store(store_path, create=False)
            try:
                store.restore(self.snapshot)
            finally:
                store.close()
        elif not self.had_store:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
        out = self.project.out_dir
        out_before = self.out_before
        if out.is_dir() and out_before is not None:
            for table in out.glob("*.csv"):
                if table not in out_before and table.is_file():
                    table.unlink(missing_ok=True)
        for target, before in reversed(self.files.items()):
            if before is None:
                target.unlink(missing_ok=True)
            elif target.read_bytes() != before:
                from copcode.export import write_atomic

                write_atomic(target, before)
        for folder in reversed(self.folders):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def discard(self) -> None:
        if self.snapshot is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.snapshot}{suffix}").unlink(missing_ok=True)


def _safe_name(name: str) -> str:
    """A file name from a source's name: no folders, no '..', only letters, digits, - _ ."""
    return re.sub(r"[^\w.-]+", "_", Path(name).name).strip("._") or "source"


def _leaves(codes):
    from copcode.ingest.refi import walk

    return [code for code in walk(codes) if code.codable]


def _participants_csv(path: Path, cases: dict[str, dict[str, str]]) -> str:
    """participants.csv for the file's cases. A cell a spreadsheet would run as a formula gets
    a leading apostrophe, as copcode's CSV tables do; `read_participants` takes it off again."""
    from copcode.export import FORMULA_STARTS

    def cell(value: str) -> str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value

    columns = sorted({k for values in cases.values() for k in values})
    if "participant" in columns:
        raise CopcodeError("a Variable is named 'participant', the name of participants.csv's first column",
                           where=str(path), fix="rename the variable in the other program and export again.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["participant", *map(cell, columns)])
    for case, values in sorted(cases.items()):
        writer.writerow([cell(case), *[cell(values.get(c, "")) for c in columns]])
    return out.getvalue()


def _codebook_yaml(path: Path, codes, problems: list[str]) -> tuple[str, set[str]]:
    """The codebook to write and the ids of its codes, checked first: top-level codes with children become themes
    (holding every codable code below them); lone top-level codes go under 'imported'. A
    problem is reported against the Code element it comes from, not the YAML to be."""
    from copcode import yamlsafe
    from copcode.ingest.refi import ImportedCode, describe

    origin: dict[tuple[str | int, ...], ImportedCode] = {}  # ("themes", i) or ("themes", i, "codes", j) -> the code

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

    themes: list[dict[str, Any]] = []
    for code in codes:
        if not code.children:
            continue
        inside = _leaves(code.children)
        if not inside:
            problems.append(f"{describe(code)}: no codable code inside it; left out of the codebook")
            continue
        origin[("themes", len(themes))] = code
        for j, child in enumerate(inside):
            origin[("themes", len(themes), "codes", j)] = child
        themes.append({"id": code.id, "label": code.label,
                       **({"description": code.description} if code.description else {}),
                       "codes": [code_entry(child) for child in inside]})
    lone = [c for c in codes if not c.children and c.codable]
    if lone:
        taken = {t["id"] for t in themes}
        theme_id = next(i for i in ("imported", *(f"imported-{n}" for n in range(2, len(taken) + 3)))
                        if i not in taken)
        for j, child in enumerate(lone):
            origin[("themes", len(themes), "codes", j)] = child
        themes.append({"id": theme_id, "label": "Imported codes", "codes": [code_entry(c) for c in lone]})
    name = path.stem.strip() or "imported"
    data = {"name": name, "themes": themes}
    ids = {code["id"] for theme in themes for code in theme["codes"]}
    too_big = CopcodeError(
        f"it holds {len(ids)} codes, more than a codebook may hold (at most {MAX_CODES} codes "
        f"in {yamlsafe.MAX_BYTES // (1024 * 1024)} MiB)", where=str(path),
        fix="import the codes of one part of the project at a time, or write the codebook in codebooks/ "
        "first (then only the codes it knows are imported).")
    if len(ids) > MAX_CODES:  # checked before dumping: PyYAML takes minutes over 100,000 codes
        raise too_big
    _check_codebook(path, data, origin)
    header = f"# Codebook imported by copcode from {name}. Add cues to get suggestions.\n"
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if len(text.encode("utf-8")) > yamlsafe.MAX_BYTES:
        raise too_big
    return text, ids


MAX_CODES = 5000  # far more than a qualitative codebook holds; what a 2 MiB codebook file can hold
FIELDS = {"label": "its name", "definition": "its description", "description": "its description",
          "id": "its copcode id", "codes": "its codes"}


def _check_codebook(path: Path, data: dict, origin: dict) -> None:
    from pydantic import ValidationError

    from copcode.codebook import Codebook
    from copcode.ingest.refi import describe

    if not data["themes"]:
        raise CopcodeError("the file holds no codable codes and this project has no codebook",
                           where=str(path), fix="add a codebook to codebooks/ first.")
    try:
        Codebook.model_validate(data)
        return
    except ValidationError as exc:
        errors = exc.errors()
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        key = next((loc[:n] for n in (4, 2) if loc[:n] in origin), None)
        element = describe(origin[key]) if key else "the codebook"
        rest = loc[len(key):] if key else loc
        what = FIELDS.get(str(rest[0]), str(rest[0])) if rest else "it"
        if error["type"] in ("string_too_short", "too_short"):
            problem = "is empty"
        elif error["type"] == "missing":
            problem = "is missing"
        else:
            problem = error["msg"]
        problems.append(f"{element}: {what} {problem}")
    problems = list(dict.fromkeys(problems))
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    raise CopcodeError(f"its codes do not make a valid codebook ({count}):\n" +
                       "\n".join(f"  {p}" for p in problems), where=str(path),
                       fix="correct these codes in the other program and export again; or put a codebook "
                       "in codebooks/ first (then only the codes it knows are imported).")
