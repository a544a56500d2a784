"""Write tables: to a file, atomically (a temporary file renamed into place), or to a string."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from copcode.errors import CopcodeError

TEXT_FORMATS = ("csv", "md", "json")
FILE_FORMATS = ("xlsx", "docx")


def render_table(frame, fmt: str) -> str:
    """A DataFrame as CSV, Markdown or JSON text."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _markdown(frame)
    raise CopcodeError(f"cannot render {fmt!r} as text", fix=f"use one of {', '.join(TEXT_FORMATS)}.")


def _markdown(frame) -> str:
    def cell(value) -> str:
        return " ".join(str(value).split()).replace("|", "\\|")
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_table(frame, path: Path, fmt: str, sheet: str = "table") -> Path:
    """Write `frame` to `path` in `fmt`; the file appears whole or not at all."""
    if fmt in TEXT_FORMATS:
        return write_atomic(path, render_table(frame, fmt).encode("utf-8"))
    if fmt == "xlsx":
        from copcode.export.xlsx import workbook_bytes

        return write_atomic(path, workbook_bytes({sheet: frame}))
    raise CopcodeError(f"unknown format {fmt!r}",
                       fix=f"use one of {', '.join(TEXT_FORMATS + ('xlsx',))}.")


def write_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        raise CopcodeError(f"cannot write the file ({exc.strerror})", where=str(path),
                           fix="check that the folder exists and is writable.") from None
    return path
