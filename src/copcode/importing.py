"""`copcode import`: codes, transcripts and codings from a REFI-QDA file or a Taguette project
into this project.

All or nothing: everything is read and checked before anything is written; if a later step
fails (coding the project, recording the codings), every file written or rewritten
(transcripts, the codebook, participants.csv, out/) and the store are put back as they were.
Every coding in the file is accounted for: recorded, already recorded, merged with another on
the same segment and code, or left out with the reason."""

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

from copcode.errors import CopcodeError, counted
from copcode.project import Project


@dataclass
class ImportResult:
    codebook_written: Path | None
    transcripts_written: list[Path]
    codings: int  # codings recorded by this import
    problems: list[str] = field(default_factory=list)
    already: int = 0  # codings in the file that were recorded before (by an earlier import)
    merged: list[str] = field(default_factory=list)  # codings recorded as one: same segment, code and coder
    notes: list[str] = field(default_factory=list)  # how the file was read: offsets, documents
    settings_written: Path | None = None  # copcode.yaml, for a project the import made


@dataclass
class _Plan:
    """What the import will write, all of it checked."""
    codebook: tuple[Path, str] | None  # (where, YAML text) when the project has no codebook
    code_ids: dict[str, str]  # code guid in the file -> code id in the project's codebook
    sources: dict[str, Path]  # source name -> its transcript file (new or already there)
    new_sources: dict[str, str]  # source name -> the transcript file's text, to write
    participants: str | None  # participants.csv text, when the project has none
    problems: list[str]
    # new sources without a participant's turn (`speakers: none`): (name, what labels they have)
    documents: list[tuple[str, str]] = field(default_factory=list)


def import_refi(project: Project, path: Path, *, utf16: bool | None = None) -> ImportResult:
    """Bring a .qdpx (or .qdc), or a Taguette project (.sqlite3), into the project: its
    codebook when the project has none, its text sources as transcripts (an existing
    transcript must hold the same text; a source without speaker labels as a document,
    `speakers: none`), its cases as participants.csv when there is none; then code the project
    and record every coding as a `tag` by its user (its note the coding's notes, else "imported")
    on the segment it overlaps most, unless that
    coder already has a decision on that segment and code. Codings of one coder and code that
    fall on one segment are recorded once, and listed in `merged`. What cannot be mapped is
    listed in `problems`, never silently dropped. `utf16`: see `read_qdpx`. If anything
    fails, the project and its store are left as they were."""
    from copcode.ingest.refi import IMPORTABLE, read_qdpx
    from copcode.ingest.taguette import is_sqlite, read_taguette

    path = Path(path)
    if is_sqlite(path):
        if utf16 is not None:
            raise CopcodeError("--utf16 is for REFI-QDA files; a Taguette project's offsets are always "
                               "UTF-8 bytes", where=str(path), fix="leave out --utf16.")
        imported = read_taguette(path)
    elif path.suffix.lower() in (".qdpx", ".qdc", ".qde") or not path.is_file():
        imported = read_qdpx(path, utf16=utf16)
    else:  # copcode.yaml, a transcript, a PDF: read as a REFI-QDA archive, only "BadZipFile" came back
        raise CopcodeError(f"copcode does not import {path.suffix or 'a file without an ending'} files",
                           where=str(path), fix=IMPORTABLE)
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
    counts: dict[str, int] = {}  # code guid -> its codings in the file
    for coding in imported.codings:
        counts[coding[3]] = counts.get(coding[3], 0) + 1
    for code in _leaves(imported.codes):
        if code.id in known:
            code_ids[code.guid] = known[code.id]
        else:
            problems.append(f"{describe(code)} ({code.id}) is not in {where}; its {counts.get(code.guid, 0)} "
                            "coding(s) are left out")

    folder = project.transcripts_dir
    sources: dict[str, Path] = {}
    new_sources: dict[str, str] = {}
    documents: list[tuple[str, str]] = []
    kind = imported.source_kind
    names: dict[str, str] = {}  # folded file id -> the source that becomes that file
    for name, text in imported.sources.items():
        file_id = _safe_name(name)  # a source's name is not a safe path
        other = names.setdefault(file_id.casefold(), name)
        if other != name:
            raise CopcodeError(
                f"{kind}s {other!r} and {name!r} would both become transcripts/{file_id}.txt",
                where=str(path), fix="give the sources names that differ in letters or digits, "
                "not only in spaces, punctuation or case, and export again.")
        present = [p for p in folder.iterdir() if p.stem.casefold() == file_id.casefold()
                   and p.suffix.lower() in FORMATS] if folder.is_dir() else []
        if present:
            if read_transcript(present[0], project).text != text:
                # never advise removing the transcript: it is the original, the file's text may
                # be a pseudonymised copy of it
                from shlex import quote

                redacted = "the transcript here was edited since the export, or the export's text is " \
                    "pseudonymised (unless exported with --no-redact); " if imported.origin == "copcode" else ""
                raise CopcodeError(
                    f"{kind} {name!r} differs from the transcript already here, "
                    f"{project.relative(present[0])}",
                    where=str(path), fix=f"{redacted}import it into a new, empty folder instead, e.g. "
                    f"`copcode --project compare import {quote(path.name)}`; the transcript here stays as it is.")
            sources[name] = present[0]
            continue
        sources[name] = folder / f"{file_id}.txt"
        labels = _without_speakers(project, file_id, text)
        new_sources[name] = _transcript_file(path, kind, name, text, bool(labels))
        if labels:
            documents.append((name, labels))

    participants = None
    if imported.cases:
        here = [p for p in (project.root / "participants.csv", folder / "participants.csv") if os.path.lexists(p)]
        if not here:
            participants = _participants_csv(path, imported.cases)
        elif not _written_by(here[0], path, imported.cases):  # an earlier import of this file's is no news
            problems.append(f"{len(imported.cases)} cases and their variables: {project.relative(here[0])} "
                            "is already here; left out")
    return _Plan(codebook, code_ids, sources, new_sources, participants, problems, documents)


def _without_speakers(project: Project, file_id: str, text: str) -> str:
    """Why `copcode code` would find no participant's turn in the text (as a .txt without a
    header, named `file_id`), "no speaker labels" or "only the interviewer's speaker labels"
    (the file it came from may have named its speakers in a header, which no REFI-QDA file
    carries), so that it must come in as a document rather than stop the whole import; ""
    when it has a participant's turn."""
    from copcode.ingest import find_turns

    if project.settings.speakers == "none":
        return ""  # every file is a document already
    turns = find_turns(text, project.settings.interviewer_labels, file_id)
    if any(turn.role == "participant" for turn in turns):
        return ""
    return "only the interviewer's speaker labels" if turns else "no speaker labels"


HEADERS = ("", "---\n\n---\n")  # an empty header keeps a text that starts like one from being read as one


def _transcript_file(path: Path, kind: str, name: str, text: str, document: bool) -> str:
    """The transcript file to write for a source: its text, after a header saying
    `speakers: none` for a document; checked to read back as exactly that text, so that the
    codings' offsets hold."""
    from copcode.errors import TranscriptError
    from copcode.ingest.text import read

    problem = ""
    for header in ("---\nspeakers: none\n---\n",) if document else HEADERS:
        try:
            body = read((header + text).encode("utf-8"), name, [])
        except UnicodeEncodeError:
            problem = "it holds characters that are not Unicode text"
            break
        except TranscriptError as exc:
            problem = exc.what
            break
        if body.text == text and (body.header.get("speakers") == "none") == document:
            return header + text
    raise CopcodeError(f"{kind} {name!r} cannot be written as a transcript that reads back the same"
                       + (f" ({problem})" if problem else ""), where=str(path),
                       fix="check the source's text in the other program, and export again.")


def _apply(project: Project, path: Path, imported, plan: _Plan, undo: _Undo) -> ImportResult:
    from copcode.coding import code_project, project_codebook
    from copcode.decisions import coding_state, record_many
    from copcode.ingest import FORMATS
    from copcode.store import open_store

    codebook_written = undo.write(*plan.codebook) if plan.codebook else None
    settings_written = None
    folder = project.transcripts_dir
    transcripts = folder.is_dir() and any(p.suffix.lower() in FORMATS and not p.name.startswith((".", "~$"))
                                          for p in folder.iterdir())  # not .DS_Store or .gitkeep
    if codebook_written and not (project.root / "copcode.yaml").exists() and not transcripts:
        # a project the import makes (no settings, codebook or transcripts before) gets `copcode
        # init`'s settings: privacy on from the start
        from copcode.project import open_project
        from copcode.starter import SETTINGS

        settings_written = undo.write(project.root / "copcode.yaml", SETTINGS)
        project = open_project(project.root)
    notes = [note[:1].upper() + note[1:] + "." for note in imported.notes]
    notes += [f"{imported.source_kind} {name!r} has {labels}: it comes in as a document "
              f"({project.relative(plan.sources[name])}, `speakers: none`), the whole text one participant's, "
              "each paragraph a segment." for name, labels in plan.documents]
    if not imported.sources:  # a codebook (.qdc) alone
        return ImportResult(codebook_written, [], 0, plan.problems, notes=notes, settings_written=settings_written)
    written = [undo.write(plan.sources[name], text) for name, text in plan.new_sources.items()]
    if plan.participants is not None:
        undo.write(project.root / "participants.csv", plan.participants)

    undo.save_store_and_out()
    kind = imported.source_kind
    try:
        coded = code_project(project)
    except CopcodeError as exc:
        # the transcript it names is about to be removed again: name the source instead
        source = next((n for n in plan.new_sources if project.relative(plan.sources[n]) == exc.where), None)
        if source is None:
            raise
        raise CopcodeError(f"{kind} {source!r}: {exc.what}", where=str(path), fix=exc.fix) from None
    # what `copcode code` says about the transcripts this import wrote (one skipped as
    # unreadable, say); its notes on the project's other files are not about the import
    mine = tuple(f"{project.relative(plan.sources[n])}:" for n in plan.new_sources)
    new_files = {project.relative(plan.sources[n]): n for n in plan.new_sources}  # file -> source name
    for problem in coded.skipped:  # a source that cannot be coded: the import is undone
        source = new_files.get((problem.where or "").split(":")[0])
        if source is not None:
            raise CopcodeError(f"{kind} {source!r}: {problem.what}", where=str(path), fix=problem.fix)
    problems = plan.problems + [w for w in coded.warnings if w.startswith(mine)]
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        segments = store.segment_spans()
        state = coding_state(store, codebook).states
        # (segment, code, coder) -> the spans of the file's codings recorded as that one decision
        new: dict[tuple[str, tuple[str, int, int], str, str], list[tuple[int, int]]] = {}
        already = 0
        said: dict[tuple[str, str, str], dict[str, None]] = {}  # (segment, code, coder) -> the codings' notes, in order
        outside: dict[tuple[str, int, int], int] = {}  # (source, start, end) -> codings in no participant's turn
        codable = {code.guid for code in _leaves(imported.codes)}
        unknown: dict[str, int] = {}
        across = 0
        for source, start, end, code_guid, user, note in imported.codings:
            if code_guid not in codable:
                unknown[code_guid] = unknown.get(code_guid, 0) + 1
            if code_guid not in plan.code_ids or source not in plan.sources:
                continue  # said already: the code is not in the codebook, or the source left out
            # the selection is kept on every participant segment it falls on, as its part there
            parts = [(segment, (max(start, segment[1]), min(end, segment[2])))
                     for segment in segments.get(plan.sources[source].stem, [])
                     if min(end, segment[2]) > max(start, segment[1])]
            if not parts:
                outside[(source, start, end)] = outside.get((source, start, end), 0) + 1
                continue
            code_id = plan.code_ids[code_guid]
            fresh = [(segment, part) for segment, part in parts if (segment[0], code_id, user) not in state]
            if not fresh:
                already += 1
                continue
            across += len(parts) > 1
            for segment, part in fresh:
                new.setdefault((source, segment, code_id, user), []).append(part)
                if note:
                    said.setdefault((segment[0], code_id, user), {})[note] = None
        problems += [f"{_noun(kind)} {source!r} {start}-{end}: not in a participant's turn; left out with its "
                     f"{n} coding{'s' * (n != 1)}" for (source, start, end), n in outside.items()]
        problems += [f"{n} coding(s) refer to code guid {g}, not a codable code in the file; left out"
                     for g, n in unknown.items()]
        merged = [_merged(kind, source, segment, code_id, user, spans)
                  for (source, segment, code_id, user), spans in new.items() if len(spans) > 1]
        if across:
            notes.append(f"{across} coding(s) cover several segments: each is kept on every segment it "
                         "covers, with its part as the exact span.")
        rows: dict[str, list[tuple]] = {}
        for (_, segment, code_id, user), spans in new.items():
            # codings merged on one segment keep the words from the first start to the last end
            span = (min(s for s, _ in spans), max(e for _, e in spans))
            note = "\n\n".join(said.get((segment[0], code_id, user), ())) or "imported"  # the codings' notes, else copcode's
            rows.setdefault(user, []).append((segment[0], code_id, "tag", note, span))
        with store.transaction():
            for user, decisions in rows.items():
                record_many(store, codebook, decisions, user)
    finally:
        store.close()
    if rows:
        # out/ and the suggestions learned from decisions were made before these were recorded:
        # coded again (every passage from the cache), they show them, and an import of the same
        # file again finds the project as it leaves it
        code_project(project)
    return ImportResult(codebook_written, written, len(new), problems, already, merged, notes, settings_written)


def _noun(kind: str) -> str:
    """How a message names a source inside a sentence: "source" (a TextSource), "document"."""
    return "source" if kind == "TextSource" else kind.lower()


def _merged(kind: str, source: str, segment: tuple[str, int, int], code_id: str, user: str,
            spans: list[tuple[int, int]]) -> str:
    """Which codings were recorded as one decision, and where: the segment and each coding's
    characters in the transcript's text (not the words: nothing printed here is redacted)."""
    at = [f"{start}-{end}" for start, end in sorted(spans)]
    return (f"{_noun(kind)} {source!r}: {len(spans)} codings of {code_id!r} by {user} fall on one segment, "
            f"{segment[0]} (characters {segment[1]}-{segment[2]}), at {', '.join(at[:-1])} and {at[-1]}: "
            "recorded once.")


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
    """Every codable code of the tree, at any depth, parents before their children."""
    from copcode.ingest.refi import walk

    return [code for code in walk(codes) if code.codable]


def _participants_csv(path: Path, cases: dict[str, dict[str, str]]) -> str:
    """participants.csv for the file's cases. A cell a spreadsheet would run as a formula gets
    a leading apostrophe, as copcode's CSV tables do; `read_participants` takes it off again."""
    from copcode.export import spreadsheet_cell as cell

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


def _written_by(here: Path, path: Path, cases: dict[str, dict[str, str]]) -> bool:
    """Whether the participants.csv `here` is the one importing `path` writes for `cases`."""
    try:
        return here.is_file() and not here.is_symlink() and \
            here.read_bytes() == _participants_csv(path, cases).encode("utf-8")
    except CopcodeError:  # the file's cases cannot be written at all
        return False


def _codebook_yaml(path: Path, codes, problems: list[str]) -> tuple[str, set[str]]:
    """The codebook to write and the ids of its codes, checked first. The file's top-level codes
    that hold codes become themes, the codes inside them the theme's code tree, nested as in the
    file; a top-level code that is codable itself is also the first code of its theme (the same
    id and label), so that its codings have a code to go to. Lone top-level codes go under
    'imported'. A code that cannot be coded and holds no codable code is left out, and said; codes
    deeper than a codebook may nest are put beside their ancestor at the deepest level, and said.
    A problem is reported against the Code element it comes from, not the YAML to be."""
    from copcode import yamlsafe
    from copcode.codebook import MAX_CODE_DEPTH
    from copcode.ingest.refi import ImportedCode, describe, walk

    origin: dict[tuple[str | int, ...], ImportedCode] = {}  # a place in the YAML ("themes", 0, "codes", 1) -> the code
    useful: dict[int, bool] = {}  # id(code) -> it is codable or holds a codable code
    for code in reversed(list(walk(codes))):  # children before their parents
        useful[id(code)] = code.codable or any(useful[id(child)] for child in code.children)

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

    def tree(top, place: tuple, own: list) -> list[dict[str, Any]]:
        """The entries of the codes inside `top` (after `own`), nested as in the file; no recursion."""
        entries = own
        stack = [(child, entries, place, 1) for child in reversed(top.children)]
        while stack:
            code, siblings, where, depth = stack.pop()
            if not useful[id(code)]:
                why = "no codable code inside it" if code.children else "cannot be coded and holds no codes"
                problems.append(f"{describe(code)}: {why}; left out of the codebook")
                continue
            at = (*where, "codes", len(siblings))
            origin[at] = code
            entry = code_entry(code)
            siblings.append(entry)
            inside = [child for child in code.children if useful[id(child)]]
            if inside and depth >= MAX_CODE_DEPTH:  # deeper than a codebook nests: flattened at this level
                if depth == MAX_CODE_DEPTH:
                    deeper = sum(1 for c in walk(inside) if useful[id(c)])
                    problems.append(f"{describe(code)}: the {deeper} codes inside it would be nested deeper than "
                                    f"{MAX_CODE_DEPTH} levels; they are put beside it, at level {MAX_CODE_DEPTH}")
                stack.extend((child, siblings, where, depth + 1) for child in reversed(code.children))
            elif code.children:
                if inside:
                    entry["codes"] = []
                stack.extend((child, entry.get("codes", []), at, depth + 1) for child in reversed(code.children))
        return entries

    themes: list[dict[str, Any]] = []
    for code in codes:
        if not code.children:
            if not code.codable:
                problems.append(f"{describe(code)}: cannot be coded and holds no codes; left out of the codebook")
            continue
        if not useful[id(code)]:
            problems.append(f"{describe(code)}: no codable code inside it; left out of the codebook")
            continue
        place = ("themes", len(themes))
        origin[place] = code
        own = []
        if code.codable:
            origin[(*place, "codes", 0)] = code
            own.append(code_entry(code))
        themes.append({"id": code.id, "label": code.label,
                       **({"description": code.description} if code.description else {}),
                       "codes": tree(code, place, own)})
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
    ids = {origin[place].id for place in origin if len(place) > 2}
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
        key = next((loc[:n] for n in range(len(loc), 1, -1) if loc[:n] in origin), None)
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
    raise CopcodeError(f"its codes do not make a valid codebook ({counted(len(problems), 'problem')}):\n" +
                       "\n".join(f"  {p}" for p in problems), where=str(path),
                       fix="correct these codes in the other program and export again; or put a codebook "
                       "in codebooks/ first (then only the codes it knows are imported).")
