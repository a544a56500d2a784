"""Survey answers as input: each row of a .csv or .xlsx is a document whose participant is its
id; the answer is its one participant turn; the other columns are attributes."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from copcode.errors import CopcodeError
from copcode.ingest import Corpus
from copcode.model import Transcript, Turn


def read_survey(project, path: Path, *, id_column: str, text_column: str) -> Corpus:
    path = Path(path)
    rows = _rows(path)
    header = rows[0] if rows else []
    missing = [c for c in (id_column, text_column) if c not in header]
    if missing:
        raise CopcodeError(
            f"no column {', '.join(repr(m) for m in missing)} (the columns are: {', '.join(map(str, header))})",
            where=str(path), fix="name the columns with --id-column and --text-column.")
    id_at, text_at = header.index(id_column), header.index(text_column)
    transcripts, seen, empty = [], {}, 0
    for number, row in enumerate(rows[1:], start=2):
        cells = [("" if v is None else str(v)) for v in row] + [""] * (len(header) - len(row))
        answer_id, text = cells[id_at].strip(), cells[text_at].replace("\r\n", "\n").replace("\r", "\n")
        if not answer_id:
            raise CopcodeError(f"row {number} has no {id_column}", where=str(path),
                               fix=f"give every row an {id_column}.")
        if answer_id in seen:
            raise CopcodeError(f"row {number} repeats the {id_column} {answer_id!r} of row {seen[answer_id]}",
                               where=str(path), fix=f"give every row its own {id_column}.")
        seen[answer_id] = number
        start, end = len(text) - len(text.lstrip()), len(text.rstrip())
        if start >= end:
            empty += 1
            continue
        attributes = {h: cells[i] for i, h in enumerate(header) if i not in (id_at, text_at) and h}
        attributes.setdefault("group", project.group_of(answer_id))
        transcripts.append(Transcript(
            id=answer_id, participant=answer_id, source=f"{project.relative(path)}#row{number}",
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), text=text,
            turns=[Turn("answer", "participant", start, end)], attributes=attributes))
    warnings = [f"{project.relative(path)}: {empty} row(s) with an empty {text_column} skipped."] if empty else []
    if not transcripts:
        raise CopcodeError("no answers to code", where=str(path), fix=f"fill the {text_column} column.")
    return Corpus(transcripts, warnings)


def _rows(path: Path) -> list[list]:
    if not path.is_file():
        raise CopcodeError("the file does not exist", where=str(path), fix="give the path of the answers file.")
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            return [list(row) for row in book.active.iter_rows(values_only=True)]
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                return list(csv.reader(handle))
    except Exception as exc:  # openpyxl and csv raise many kinds for a damaged file
        raise CopcodeError(f"cannot read the answers ({type(exc).__name__})", where=str(path),
                           fix="save them again as UTF-8 .csv or .xlsx.") from None
    raise CopcodeError("survey answers must be .csv or .xlsx", where=str(path), fix="save them as .csv or .xlsx.")
