"""Survey answers as input: each row of a .csv or .xlsx is a document whose participant is its
id; the answer is its one participant turn; the other columns are attributes.

The rows are read lazily, one at a time, as `copcode code` asks for them: a million answers
never sit in memory together."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from copcode.errors import CopcodeError
from copcode.model import Transcript, Turn

# The longest field a .csv may hold, in characters (Python's csv module stops at 131,072).
# Ten million is ten times the longest interview we have seen and still fits in memory.
MAX_FIELD = 10_000_000


def read_survey(project, path: Path, *, id_column: str, text_column: str) -> SurveyCorpus:
    """The answers file as a corpus whose transcripts are read as they are iterated. The
    file and its columns are checked now; a problem in a row (no id, a repeated id, a field
    too long) is raised when that row is reached, which stops the run before anything is
    stored."""
    path = Path(path)
    cells: list[object] = next(_rows(path), (1, []))[1]
    header = ["" if h is None else str(h) for h in cells]
    missing = [c for c in (id_column, text_column) if c not in header]
    if missing:
        raise CopcodeError(
            f"no column {', '.join(repr(m) for m in missing)} (the columns are: {', '.join(header)})",
            where=str(path), fix="name the columns with --id-column and --text-column.")
    return SurveyCorpus(project, path, header, id_column, text_column)


class SurveyCorpus:
    """Survey rows as `Transcript`s, read lazily; `warnings` is complete once they are read."""

    def __init__(self, project, path: Path, header: list[str], id_column: str, text_column: str):
        self.project, self.path, self.header = project, path, header
        self.id_column, self.text_column = id_column, text_column
        self.warnings: list[str] = []

    @property
    def transcripts(self):
        return self._transcripts()

    def _transcripts(self):
        project, path, header = self.project, self.path, self.header
        id_at, text_at = header.index(self.id_column), header.index(self.text_column)
        source = project.relative(path)
        attribute_columns = [(i, h) for i, h in enumerate(header) if i not in (id_at, text_at) and h]
        empty = 0
        rows = _rows(path)
        next(rows, None)  # the header
        for number, row in rows:
            cells = [("" if v is None else str(v)) for v in row] + [""] * (len(header) - len(row))
            answer_id = cells[id_at].strip()
            text = cells[text_at].replace("\r\n", "\n").replace("\r", "\n")
            if not answer_id:
                raise CopcodeError(f"row {number} has no {self.id_column}", where=str(path),
                                   fix=f"give every row an {self.id_column}.")
            start, end = len(text) - len(text.lstrip()), len(text.rstrip())
            if start >= end:
                empty += 1
                continue
            attributes = {h: cells[i] for i, h in attribute_columns}
            attributes.setdefault("group", project.group_of(answer_id))
            yield Transcript(
                id=answer_id, participant=answer_id, source=f"{source}#row{number}",
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), text=text,
                turns=[Turn("answer", "participant", start, end, answer_id)], attributes=attributes)
        if empty:
            self.warnings.append(f"{source}: {empty} row(s) with an empty {self.text_column} skipped.")

    def repeated_id(self, transcript: Transcript, earlier_source: str) -> CopcodeError:
        """The error for a row whose id an earlier row (`earlier_source`, "...#rowN") has."""
        row, earlier = (s.rpartition("#row")[2] for s in (transcript.source, earlier_source))
        return CopcodeError(f"row {row} repeats the {self.id_column} {transcript.id!r} of row {earlier}",
                            where=str(self.path), fix=f"give every row its own {self.id_column}.")

    def nothing_to_code(self) -> CopcodeError:
        return CopcodeError("no answers to code", where=str(self.path), fix=f"fill the {self.text_column} column.")


def _rows(path: Path):
    """(row number, cells) of the file, one at a time; the header is row 1."""
    if not path.is_file():
        raise CopcodeError("the file does not exist", where=str(path), fix="give the path of the answers file.")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CopcodeError("survey answers must be .csv or .xlsx", where=str(path),
                           fix="save them as .csv or .xlsx.")
    number = 0
    try:
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            _check_workbook(path)
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                for number, row in enumerate(book.active.iter_rows(values_only=True), start=1):
                    if any(isinstance(cell, str) and len(cell) > MAX_FIELD for cell in row):
                        raise _too_long(path, number)
                    yield number, row
            finally:
                book.close()
            return
        csv.field_size_limit(MAX_FIELD)
        last: list[str] = []
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                last = row
                yield number, row
        if any("\n" in field or "\r" in field for field in last):
            _check_quotes_closed(path, number)
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            raise _unreadable(path, exc, number) from None
        raise _too_long(path, number + 1) from None
    except CopcodeError:
        raise
    except Exception as exc:  # openpyxl and the decoder raise many kinds for a damaged file
        raise _unreadable(path, exc, number) from None


def _check_quotes_closed(path: Path, number: int) -> None:
    """Refuse a file whose last row (`number`) opens a quotation mark it never closes: the
    reader takes every line after it as part of that row's answer, and says nothing. Read
    again (only then: a last answer of several lines is the only sign) with a line after the
    file's end: an unclosed quotation takes it into its answer too."""
    import collections
    import itertools

    end = "copcode: the end of the file"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        last = collections.deque(csv.reader(itertools.chain(handle, ["\n", end + "\n"])), maxlen=1).pop()
    if last != [end] and any(end in field for field in last):
        raise CopcodeError(f"row {number} opens a quotation mark that is never closed, so every line "
                           "after it was read as part of that row's answer", where=str(path),
                           fix='close the quotation, or write a quotation mark inside an answer as two (""), '
                               "then save the file again.")


def _too_long(path: Path, number: int) -> CopcodeError:
    return CopcodeError(f"row {number} has a field longer than {MAX_FIELD:,} characters", where=str(path),
                        fix="shorten that answer or split it over several rows.")


def _check_workbook(path: Path) -> None:
    from copcode.ingest.zipsafe import UnsafeArchive, check_workbook

    try:
        check_workbook(path)
    except UnsafeArchive as exc:
        raise CopcodeError(f"a workbook too large to open safely: {exc}", where=str(path),
                           fix="check where it came from; save the answers as .csv (CSV UTF-8).") from None


def _unreadable(path: Path, exc: Exception, number: int) -> CopcodeError:
    at = f" after row {number}" if number > 1 else ""
    return CopcodeError(f"cannot read the answers{at} ({type(exc).__name__})", where=str(path),
                        fix="save them again as UTF-8 .csv or .xlsx.")
