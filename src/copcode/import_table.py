"""`copcode import FILE.csv|.xlsx --coder NAME`: a table of codings (a team's earlier coding, a
labelled data set) recorded as one coder's tags.

Each row names a document (`document`, `transcript`, `participant` or `id` column: a transcript
id, or a survey answer's id) or a segment (`segment` column), and its codes (`code`, `codes`,
`label`, `labels`, `category` or `categories` column; several in one cell separated by `;`),
each a code id or label of the project's codebook. Every document the table names is also
marked as coded in full by the coder (store table `coded`), so the codes it does not list
count as absent for agreement and learning, as for a transcript coded in copcode; except a
document with a code that is not recognised or cannot be placed, or a segment id it no longer
has (its transcript changed since the table was made): what the coder found there
is then not known in full, so nothing of it is recorded (its tags alone would say the coder
found nothing else there, as for a coder who only tags). A workbook's sheet is the first
whose first row names the columns.

A code given to a whole document goes on its segment when it has one (a survey answer); a
document of several segments gives no place for it, so such rows are refused. Every row that cannot be recorded is listed with its line; an import where no
row can be recorded is an error. Everything is checked first and written in one transaction,
so an error leaves the store as it was; a second import of the same table records nothing."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from copcode.errors import CopcodeError, NotCodedYet, counted
from copcode.project import NotAFile, Project, read_regular_file, special_kind

if TYPE_CHECKING:
    from copcode.codebook import Codebook
    from copcode.store import Store

DOCUMENT_COLUMNS = ("document", "transcript", "participant", "id")  # the first one present is used
SEGMENT_COLUMN = "segment"
CODE_COLUMNS = ("code", "codes", "label", "labels", "category", "categories")
CODER_COLUMNS = ("coder", "coders", "annotator", "rater")  # checked against --coder, not read
MAX_BYTES = 256 * 1024 * 1024  # as for a transcript file
SHOWN = 10  # problems listed in the error when no row can be recorded
SAVE_CSV = "save the table as CSV UTF-8 (in Excel: Save As > CSV UTF-8) or as .xlsx."
COLUMNS_FIX = ("name the columns: the document's id as document, transcript, participant or id (or a "
               "segment id as segment), and its codes as code, codes, label, labels, category or categories.")


@dataclass
class TableImportResult:
    coder: str
    tags: int  # tags recorded by this import
    documents: int  # documents they are on
    marked: int  # documents marked as coded by this import
    already: int  # tags in the table that the coder held already
    already_marked: int  # documents in the table marked as coded before
    problems: list[str] = field(default_factory=list)  # rows not imported, each with its line
    sheets: tuple[str, ...] = ()  # a workbook's sheets, the one read first

    def summary(self, name=lambda coder: coder) -> list[str]:
        """What the import did, in sentences for the user; `name` shows the coder's name (a
        redactor's `redact_names`)."""
        coder = name(self.coder)
        read = [f"Read the sheet {self.sheets[0]!r}; not its other sheets ({', '.join(map(repr, self.sheets[1:]))})."] \
            if len(self.sheets) > 1 else []
        return read + self._done(coder)

    def _done(self, coder: str) -> list[str]:
        if not (self.tags or self.marked):
            also = f"; {counted(self.already_marked, 'document')} already marked as coded by {coder}" \
                if self.already_marked else ""
            return [f"Nothing new: {counted(self.already, 'tag')} already recorded{also}."]
        lines = [f"Recorded {counted(self.tags, 'tag')} by {coder} on {counted(self.documents, 'document')} "
                 f"({counted(self.marked, 'document')} marked as coded by {coder})." if self.tags else
                 f"Recorded no new tag; {counted(self.marked, 'document')} marked as coded by {coder}." if self.already
                 else f"Recorded no tag; {counted(self.marked, 'document')} marked as coded by {coder}, with none "
                      "of the codes (each is absent there)."]
        if self.already:
            lines.append(f"Not recorded again: {counted(self.already, 'tag')} already recorded.")
        return lines


def import_table(project: Project, path: Path, coder: str | None) -> TableImportResult:
    """Record the table's (document or segment, codes) rows as `coder`'s tags and mark every
    document it names as coded by them. A tag the coder holds already, or a document marked
    already, is not recorded again; a code the coder has since rejected or untagged there is
    left as they decided. What cannot be recorded is listed in `problems`; when nothing can,
    or the file or the project cannot be used, a CopcodeError and the store is unchanged."""
    from copcode.coding import project_codebook
    from copcode.decisions import check_coder, record_many
    from copcode.store import now, open_store

    if coder is None:
        raise CopcodeError("a table of codings needs the name of the coder whose coding it is",
                           fix=f"add --coder NAME, e.g. copcode import {Path(path).name} --coder gold.")
    check_coder(coder)  # before the table is read: a name no coder can have
    coder = coder.strip()
    path = Path(path)
    table = read_table(path)  # before the store is opened: a bad file changes nothing
    others = sorted({name for name in table.coders if name.casefold() != coder.casefold()})
    if others:
        raise CopcodeError(f"its column {table.coder_column!r} names other coders than {coder} "
                           f"({', '.join(map(repr, others[:5]))}{', ...' if len(others) > 5 else ''}), "
                           f"and every row would be recorded as {coder}'s", where=str(path),
                           fix="import each coder's rows on their own, a table per coder, each with --coder "
                               "and that coder's name.")
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        with store.transaction():  # read and written in one: no decision can slip in between
            if not store.count("segments"):
                raise NotCodedYet("the project has no segments yet", where=str(project.root),
                                  fix="run `copcode code` first (`copcode code --input FILE` for survey "
                                  "answers), then import the table.")
            plan = _plan(table, store, codebook, coder)
            if not plan.mapped:
                raise _nothing_maps(path, table, plan.problems, codebook.path)
            record_many(store, codebook, list(plan.tags), coder)
            marked = store.mark_coded(coder, sorted(plan.documents - plan.marked_before), now())
    finally:
        store.close()
    transcript_of = plan.transcript_of
    return TableImportResult(
        coder, len(plan.tags), len({transcript_of[segment] for segment, *_ in plan.tags}), marked,
        plan.already, len(plan.documents & plan.marked_before), plan.problems, table.sheets)


@dataclass
class Table:
    path: Path
    unit: str  # "line" (a CSV file's line) or "row" (a sheet's row)
    by_segment: bool  # the ids are segment ids, not document ids
    id_column: str
    code_column: str
    rows: list[tuple[int, str, str]]  # (line or row number, id cell, codes cell), empty rows left out
    sheets: tuple[str, ...] = ()  # a workbook's sheets, the one read first (none for CSV)
    coder_column: str = ""  # a column naming each row's coder, if there is one
    coders: frozenset[str] = frozenset()  # the names in it


def read_table(path: Path) -> Table:
    """The table's id and code cells with their line (CSV) or row (XLSX) numbers; CopcodeError
    for a file that is not a readable table or lacks the columns."""
    kind = special_kind(path)
    if kind:
        raise CopcodeError(f"is {kind}, not a table", where=str(path), fix="give the path of a .csv or .xlsx file.")
    if not path.exists():
        raise CopcodeError("the file does not exist", where=str(path), fix="give the path of a .csv or .xlsx file.")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CopcodeError("a table of codings must be .csv or .xlsx", where=str(path), fix=SAVE_CSV)
    if suffix == ".xlsx":
        sheets, numbered, header = _xlsx_sheet(path)
    else:
        sheets, numbered = (), _csv_rows(path)
        header = next(numbered, None)
    if header is None:
        raise CopcodeError("the file is empty", where=str(path),
                           fix="put the codings in it, under a header row; " + COLUMNS_FIX)
    id_at, code_at, segment_at = _columns(header[1])
    if id_at is None or code_at is None:
        missing = [what for what, at in (("document (or segment) column", id_at), ("code column", code_at))
                   if at is None]
        found = ", ".join(repr(h) for h in header[1] if h.strip()) or "none"
        where = f" in any of its sheets ({', '.join(map(repr, sheets))})" if len(sheets) > 1 else ""
        raise CopcodeError(f"no {' and no '.join(missing)}{where} (the headers found: {found})",
                           where=str(path), fix=COLUMNS_FIX)
    names = [cell.strip().casefold() for cell in header[1]]
    coder_at = next((names.index(c) for c in CODER_COLUMNS if c in names), None)
    rows, coders = [], set()
    for number, cells in numbered:
        if not any(c.strip() for c in cells):
            continue  # a blank line, or a sheet's empty row
        cells = cells + [""] * (max(id_at, code_at, coder_at or 0) + 1 - len(cells))
        rows.append((number, cells[id_at].strip(), cells[code_at]))
        if coder_at is not None and cells[coder_at].strip():
            coders.add(cells[coder_at].strip())
    return Table(path, "row" if suffix == ".xlsx" else "line", segment_at is not None,
                 header[1][id_at].strip(), header[1][code_at].strip(), rows, sheets,
                 header[1][coder_at].strip() if coder_at is not None else "", frozenset(coders))


def _columns(header: list[str]) -> tuple[int | None, int | None, int | None]:
    """(the id column's index, the code column's, the segment column's) in a header row."""
    names = [cell.strip().casefold() for cell in header]
    segment_at = names.index(SEGMENT_COLUMN) if SEGMENT_COLUMN in names else None
    id_at = segment_at if segment_at is not None else \
        next((names.index(c) for c in DOCUMENT_COLUMNS if c in names), None)
    code_at = next((names.index(c) for c in CODE_COLUMNS if c in names), None)
    return id_at, code_at, segment_at


def _csv_rows(path: Path):
    """(number of the line the record starts on, cells) of a UTF-8 CSV file; the delimiter is
    a comma, or the semicolon or tab the header row is separated by (Excel in some languages)."""
    from copcode.ingest.survey import MAX_FIELD
    from copcode.ingest.text import _looks_binary

    try:
        raw = read_regular_file(path, limit=MAX_BYTES)
    except NotAFile as exc:
        raise CopcodeError(f"the file is {exc}, too large to import", where=str(path),
                           fix="split the table into several files.") from None
    except OSError as exc:
        raise CopcodeError(f"cannot be read ({exc.strerror})", where=str(path),
                           fix="check the file's permissions.") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise CopcodeError("not valid UTF-16 text", where=str(path), fix=SAVE_CSV) from None
    else:
        binary = CopcodeError("looks like a binary file, not a table", where=str(path),
                              fix="check that it is the table of codings; " + SAVE_CSV)
        if b"\x00" in raw or _looks_binary(raw.decode("utf-8", errors="surrogateescape")):
            raise binary
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise CopcodeError(f"line {line} is not UTF-8 text", where=str(path), fix=SAVE_CSV) from None
    first = text[:text.find("\n")] if "\n" in text else text
    delimiter = next((d for d in (";", "\t") if d in first and "," not in first), ",")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise CopcodeError(f"line {start} has a field longer than {MAX_FIELD:,} characters",
                               where=str(path), fix="shorten that cell.") from None
        raise CopcodeError(f"line {start} cannot be read as CSV ({exc})", where=str(path), fix=SAVE_CSV) from None


def _xlsx_sheet(path: Path):
    """(the workbook's sheets, the one read first; its numbered rows after the header; its
    header row, or None for an empty workbook). The sheet read is the first whose first row
    names an id and a code column, else the first with rows: a workbook often holds notes beside the
    codings, and which sheet was open when it was saved says nothing. Checked for zip bombs
    first; the whole workbook is read (a table of codings fits in memory)."""
    from openpyxl import load_workbook

    from copcode.ingest.zipsafe import UnsafeArchive, check_workbook

    try:
        check_workbook(path)
    except UnsafeArchive as exc:
        raise CopcodeError(f"a workbook too large to open safely: {exc}", where=str(path),
                           fix="check where it came from; save the table as .csv (CSV UTF-8).") from None
    sheets: list[tuple[str, list[list[str]]]] = []
    number = 0
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                rows: list[list[str]] = []
                for row in sheet.iter_rows(values_only=True):
                    rows.append(["" if v is None else str(v) for v in row])
                    number = len(rows)
                sheets.append((sheet.title, rows))
        finally:
            book.close()
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a damaged file
        at = f" after row {number}" if number else ""
        raise CopcodeError(f"cannot read the workbook{at} ({type(exc).__name__})", where=str(path),
                           fix="check that it is the table of codings; " + SAVE_CSV) from None
    if not sheets:
        return (), iter(()), None
    title, rows = next(((t, r) for t, r in sheets if r and None not in _columns(r[0])[:2]),
                       next(((t, r) for t, r in sheets if r), sheets[0]))
    names = (title,) + tuple(t for t, _ in sheets if t != title)
    return names, iter(enumerate(rows[1:], start=2)), ((1, rows[0]) if rows else None)


@dataclass
class _Plan:
    tags: dict[tuple[str, str, str, str], None]  # (segment, code, "tag", note) to record, in order
    documents: set[str]  # the documents to mark as coded
    marked_before: set[str]  # documents the coder had marked as coded already
    transcript_of: dict[str, str]  # segment -> its transcript
    already: int  # tags the coder held already
    mapped: int  # rows of which something is recorded (or was, by an earlier import)
    problems: list[str]


def _plan(table: Table, store: Store, codebook: Codebook, coder: str) -> _Plan:
    """Each row's segments and codes, checked against the store and the codebook."""
    from copcode.decisions import coding_state
    from copcode.segment import transcript_of_id

    segments_of: dict[str, list[str]] = {t: [] for t in store.transcript_ids()}
    for t, spans in store.segment_spans().items():
        segments_of[t] = [s[0] for s in spans]
    transcript_of = {s: t for t, ids in segments_of.items() for s in ids}
    folded: dict[str, list[str]] = {}  # transcript id case-folded -> the ids (e05 for E05)
    for t in segments_of:
        folded.setdefault(t.casefold(), []).append(t)
    state = coding_state(store, codebook).states
    marked_before = {t for c, t in store.coded() if c == coder}
    resolve_code = _code_resolver(codebook)
    unit = table.unit

    problems: list[str] = []  # in the order of the rows
    placed_nowhere: dict[int, str] = {}  # line -> the document of several segments it coded whole
    tags: dict[tuple[str, str, str, str], None] = {}
    first_line: dict[tuple[str, str], int] = {}  # (segment, code) -> the line that gave it
    documents: set[str] = set()
    # documents with a code not recognised or placed: what the coder saw there is not known in
    # full, so they imply no absence
    unsure: set[str] = set()
    already_in: dict[str, int] = {}  # document -> its tags the coder held already
    mapped_in: dict[str, int] = {}  # document -> its rows of which something is recorded
    note = f"imported from {table.path.name}"
    for number, id_cell, codes_cell in table.rows:
        what = "segment" if table.by_segment else "document"
        if not id_cell:
            problems.append(f"{unit} {number}: no {what} id (column {table.id_column!r})")
            continue
        candidates = [id_cell] + ([id_cell[1:]] if id_cell.startswith("'") else [])  # as find_segment reads ids
        if table.by_segment:
            segment = next((c for c in candidates if c in transcript_of), None)
            transcript = transcript_of.get(segment or "")
            targets = [segment] if segment else []
        else:
            transcript = next((c for c in candidates if c in segments_of), None) or next(
                (folded[c.casefold()][0] for c in candidates if len(folded.get(c.casefold(), ())) == 1), None)
            targets = segments_of.get(transcript or "", [])
        if transcript is None:
            # a segment id of a transcript that has changed since the table was made: what the
            # coder found in that transcript is not known in full
            stale = next((t for t in map(transcript_of_id, candidates) if t in segments_of), None) \
                if table.by_segment else None
            if stale:
                unsure.add(stale)
            problems.append(f"{unit} {number}: unknown {what} {id_cell!r}" +
                            (f" (nothing of {stale} recorded; `copcode segments` lists its ids now)" if stale else ""))
            continue
        codes: list[str] = []
        bad = 0
        entire = codes_cell.strip()  # a label may hold a ';'
        for cell in [entire] if entire and resolve_code(entire)[0] else _split(codes_cell):
            code_id, problem = resolve_code(cell)
            if problem:
                bad += 1
                unsure.add(transcript)
                problems.append(f"{unit} {number}: {problem} (nothing of {transcript} recorded)")
            elif code_id:
                codes.append(code_id)
        documents.add(transcript)
        if codes and len(targets) > 1:
            placed_nowhere[number] = transcript
            continue
        if codes and not targets:  # its text holds no participant's words ("?")
            unsure.add(transcript)
            problems.append(f"{unit} {number}: document {transcript!r} has no segment to put a code on")
            continue
        if codes or not bad:  # something of it is recorded: a tag, or a document coded with none
            mapped_in[transcript] = mapped_in.get(transcript, 0) + 1
        for code in dict.fromkeys(codes):
            key = (targets[0], code)
            if key in first_line:
                problems.append(f"{unit} {number}: {code} on {key[0]} repeats {unit} {first_line[key]}")
                continue
            first_line[key] = number
            held = state.get((key[0], code, coder))
            if held == "accepted":
                already_in[transcript] = already_in.get(transcript, 0) + 1
            elif held == "rejected":
                problems.append(f"{unit} {number}: {code} on {key[0]} is rejected or untagged by this "
                                "coder; that decision is kept")
            else:
                tags[(key[0], code, "tag", f"{note}, {unit} {number}")] = None
    if placed_nowhere:  # one message for them all, last, where it is seen
        lines, whole = sorted(placed_nowhere), sorted(set(placed_nowhere.values()))
        problems.append(f"{_numbers(unit, lines)}: a code on a whole document of several segments "
                        f"({', '.join(whole)}) cannot be placed on one passage, so "
                        f"{'it is' if len(whole) == 1 else 'they are'} not marked as coded; give segment ids "
                        "instead (a `segment` column, with the ids `copcode segments` lists)")
        documents -= set(whole)
        unsure |= set(whole)  # nothing of them is recorded, not even a row without codes
    documents -= unsure
    # nothing of an unsure document is recorded: tags alone would say the coder found nothing
    # else there (a coder who only tags codes in full), which the table does not say
    tags = {key: None for key in tags if transcript_of[key[0]] not in unsure}
    mapped = sum(n for transcript, n in mapped_in.items() if transcript not in unsure)
    already = sum(n for transcript, n in already_in.items() if transcript not in unsure)
    return _Plan(tags, documents, marked_before, transcript_of, already, mapped, problems)


def _code_resolver(codebook: Codebook) -> Callable[[str], tuple[str | None, str | None]]:
    """A function from a code cell to (code id, None), or (None, the problem): the cell is a
    code's id (or an id it was renamed from), else its label (case and surrounding spaces
    ignored); a cell with a leading apostrophe (a CSV export's) is also read without it."""
    ids = {code.id: code.id for code in codebook.codes} | codebook.renamed
    by_label: dict[str, list[str]] = {}
    for code in codebook.codes:
        by_label.setdefault(code.label.strip().casefold(), []).append(code.id)

    def resolve(cell: str) -> tuple[str | None, str | None]:
        for candidate in [cell] + ([cell[1:]] if cell.startswith("'") else []):
            if candidate in ids:
                return ids[candidate], None
            found = by_label.get(candidate.strip().casefold()) or \
                ([ids[candidate.casefold()]] if candidate.casefold() in ids else [])
            if len(found) == 1:
                return found[0], None
            if found:
                return None, f"the label {cell!r} belongs to several codes ({', '.join(found)}); give the code's id"
        if "," in cell and all(part.strip() in ids or part.strip().casefold() in by_label for part in cell.split(",")):
            return None, f"unknown code {cell!r} (codes in one cell are separated by ';', not ',')"
        return None, f"unknown code {cell!r}"
    return resolve


def _split(cell: str) -> list[str]:
    """The codes of a cell: separated by `;`, spaces around them ignored."""
    return [part.strip() for part in cell.split(";") if part.strip()]


def _nothing_maps(path: Path, table: Table, problems: list[str], codebook_path: str) -> CopcodeError:
    if not table.rows:
        return CopcodeError("the table has a header but no rows", where=str(path),
                            fix="put the codings under the header row.")
    shown = "\n".join(f"  {p}" for p in problems[:SHOWN])
    more = f"\n  and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    ids = ("segment ids as `copcode segments` lists them" if table.by_segment else
           "the project's transcript ids (a survey's ids, for survey answers)")
    sheet = f" (sheet {table.sheets[0]!r})" if len(table.sheets) > 1 else ""
    said = f"its only row{sheet} cannot" if len(table.rows) == 1 else \
        f"none of its {counted(len(table.rows), 'row')}{sheet} can"
    return CopcodeError(f"{said} be recorded:\n{shown}{more}",
                        where=str(path), fix=f"correct the {table.unit}s named above: the {table.id_column!r} column "
                        f"holds {ids}, and the {table.code_column!r} column code ids or labels of {codebook_path}.")


def _numbers(unit: str, numbers: list[int]) -> str:
    """"line 4", "lines 2-5, 9": sorted numbers with runs joined."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)
    return f"{unit}s {text}" if len(numbers) > 1 else f"{unit} {text}"
