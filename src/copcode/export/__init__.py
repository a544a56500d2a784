"""Write tables: to a file, atomically (a temporary file renamed into place), or to a string."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from copcode.errors import CopcodeError

TEXT_FORMATS = ("csv", "md", "json")
TABLE_FORMATS = TEXT_FORMATS + ("xlsx",)


# A cell starting with one of these is run as a formula by Excel and LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_table(frame, fmt: str) -> str:
    """A DataFrame as CSV, Markdown or JSON text. In CSV a text cell that a spreadsheet would
    run as a formula gets a leading apostrophe, so it is shown as text."""
    if fmt == "csv":
        return spreadsheet_safe(frame).to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _markdown(frame)
    raise CopcodeError(f"cannot render {fmt!r} as text", fix=f"use one of {', '.join(TEXT_FORMATS)}.")


def spreadsheet_cell(value: str) -> str:
    """A text as copcode writes it in a CSV cell: with an apostrophe before it when a
    spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_spreadsheet_cell(value: str) -> str:
    """A CSV cell as `spreadsheet_cell` wrote it, as meant: the apostrophe taken off."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def spreadsheet_safe(frame):
    """`frame` with every text cell, and column name (a participant attribute's, shown by
    `--with`), as `spreadsheet_cell` writes it."""
    header = {c: spreadsheet_cell(c) for c in frame.columns if isinstance(c, str) and c.startswith(FORMULA_STARTS)}
    frame = map_text_cells(frame, spreadsheet_cell)
    return frame.rename(columns=header) if header else frame


def map_text_cells(frame, change):
    """A copy of a DataFrame with `change` applied to every text cell (pandas 3 keeps text in
    its own string dtype, older pandas in object columns: both are covered)."""
    frame = frame.copy()
    for column in frame.columns:
        values = list(frame[column])
        if any(isinstance(v, str) for v in values):
            frame[column] = [change(v) if isinstance(v, str) else v for v in values]
    return frame


def _markdown(frame) -> str:
    def cell(value) -> str:
        if value is None or value != value:  # no value (None, NaN): an empty cell, as in CSV
            return ""
        return " ".join(str(value).split()).replace("|", "\\|")
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


ENDINGS = {"csv": (".csv",), "md": (".md", ".markdown"), "json": (".json",), "xlsx": (".xlsx",),
           "docx": (".docx",), "html": (".html", ".htm"), "qdpx": (".qdpx",), "qdc": (".qdc",)}


def format_of(path: Path, formats: tuple[str, ...]) -> str | None:
    """The format of `formats` that `path`'s ending names (".htm": html), if any."""
    ending = path.suffix.lower()
    return next((name for name in formats if ending in ENDINGS.get(name, ())), None)


def check_ending(path: Path, fmt: str) -> None:
    """Refuse to write `fmt` into a file whose ending names another format (Markdown in an
    .xlsx, which Excel then calls damaged); an ending copcode does not write (.txt) is the
    user's choice; an unknown `fmt` is the caller's to refuse."""
    if fmt not in ENDINGS:
        return
    ending = path.suffix.lower()
    other = next((name for name, endings in ENDINGS.items() if ending in endings), fmt)
    if other != fmt:
        raise CopcodeError(f"{path}: the name ends in {ending}, but --format {fmt} writes a {ENDINGS[fmt][0]} file",
                           fix=f"end the file's name in {ENDINGS[fmt][0]}, or use --format {other}.")


def write_table(frame, path: Path, fmt: str, sheet: str = "table", warnings: list[str] | None = None) -> Path:
    """Write `frame` to `path` in `fmt`; the file appears whole or not at all. What the user
    should know (an XLSX cell cut short) is added to `warnings`."""
    check_ending(path, fmt)
    if fmt in TEXT_FORMATS:
        return write_atomic(path, render_table(frame, fmt).encode("utf-8"))
    if fmt == "xlsx":
        from copcode.export.xlsx import workbook_bytes

        return write_atomic(path, workbook_bytes({sheet: frame}, warnings))
    raise CopcodeError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(TABLE_FORMATS)}.")


def write_atomic(path: Path, data: bytes | Iterable[str]) -> Path:
    """Write `data` (bytes, or pieces of text written as UTF-8 one after the other, so a long
    table need not be held whole) to a regular file at `path`, whole or not at all. A device,
    FIFO, folder or symbolic link at `path` is refused, never replaced (as root, `--out
    /dev/null` would otherwise turn the device into a file)."""
    path = Path(path)
    _check_regular(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    for piece in data:
                        out.write(piece.encode("utf-8"))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would have made it
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise CopcodeError(f"cannot write the file ({exc.strerror})", where=str(path),
                           fix="free some space on the disk, then run the command again." if full else
                           "check that the folder exists and is writable.") from None
    return path


def _check_regular(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # write_atomic says what is wrong (a missing folder, no permission)
    if stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode):
        raise CopcodeError("is a symbolic link; copcode does not write through links", where=str(path),
                           fix="give the path of a new or ordinary file (the link's target, or "
                           "another name).")
    kind = ("a folder" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a special file")
    raise CopcodeError(f"is {kind}, not a regular file; copcode writes only regular files", where=str(path),
                       fix="give the path of a new or ordinary file.")


EXPORT_FORMATS = ("csv", "xlsx", "qdpx", "qdc", "html")


def export_project(store, codebook, fmt: str, path: Path, *, title: str,
                   include_suggestions: bool = False, redactor=None, warnings: list[str] | None = None,
                   utf16: bool = False) -> Path:
    """The whole project in one file: coded segments (csv), every table (xlsx), REFI-QDA
    (qdpx, qdc) or the HTML report; every text pseudonymised by `redactor` when given. What
    the user should know (an XLSX cell cut short) is added to `warnings`. `utf16`: a .qdpx's
    offsets in UTF-16 code units."""
    from copcode import tables
    from copcode.privacy import IDENTITY

    redactor = redactor or IDENTITY  # one boundary: every format below goes through it
    if fmt not in EXPORT_FORMATS:
        raise CopcodeError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(EXPORT_FORMATS)}.")
    check_ending(path, fmt)
    for asked, option in ((utf16, "--utf16"), (include_suggestions, "--suggestions")):
        if asked and fmt != "qdpx":
            raise CopcodeError(f"{option} is for --format qdpx", fix=f"leave out {option}, or export as qdpx.")

    def clean(frame):
        return redactor.redact_frame(frame)

    view = tables.ProjectView(store, codebook)  # the coding state, read once for every format
    if fmt == "csv":
        return write_table(clean(tables.coded_segments(view)), path, "csv")
    if fmt == "xlsx":
        from copcode.export.xlsx import workbook_bytes

        sheets = {"segments": tables.coded_segments(view)}
        for theme in codebook.themes:
            sheets[f"quotes {theme.id}"] = tables.exemplar_quotes(view, theme.id, limit=0, per_participant=0)
        sheets["matrix"] = tables.framework_matrix(view)
        sheets["co-occurrence"] = tables.cooccurrence(view)
        sheets["codebook"] = codebook_table(codebook)
        sheets["decisions"] = decisions_table(store)
        return write_atomic(path, workbook_bytes({name: clean(frame) for name, frame in sheets.items()}, warnings))
    if fmt == "qdpx":
        from copcode.export.refi import project_qdpx

        if include_suggestions and warnings is not None and not any(c.status == "suggested" for c in view.codings):
            warnings.append("--suggestions added none: no suggestion is left undecided (only those nobody "
                            "accepted or rejected are exported as suggestions)")

        return write_atomic(path, project_qdpx(view, title, include_suggestions=include_suggestions,
                                               redactor=redactor, utf16=utf16))
    if fmt == "qdc":
        from copcode.export.refi import codebook_xml

        return write_atomic(path, codebook_xml(codebook, redactor))
    if fmt == "html":
        from copcode.export.html import report_html

        return write_atomic(path, report_html(view, title, redactor).encode("utf-8"))
    raise AssertionError(fmt)  # every format of EXPORT_FORMATS is written above


def codebook_table(codebook):
    import pandas as pd

    return pd.DataFrame([{"theme": t.id, "theme_label": t.label, "code": c.id, "parent": c.parent or "",
                          "label": c.label, "definition": c.definition.strip(), "include": c.include.strip(),
                          "exclude": c.exclude.strip()} for t in codebook.themes for c in t.all_codes])


def decisions_table(store):
    import pandas as pd

    return pd.DataFrame([tuple(row) for row in store.decisions()], columns=list(store.DECISION_COLUMNS))
