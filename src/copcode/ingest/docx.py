"""Word transcripts: one line of text per paragraph (a paragraph with line breaks gives several).
A table with a speaker column (speaker | words, with or without a time column), as
transcription services deliver, gives one `Speaker: words` line per row and the turns
themselves; a paragraph that is all bold and short is marked as a label line. A YAML header
between `---` paragraphs at the top is read as in a text file."""

from __future__ import annotations

import io
import zipfile

from copcode.errors import UnreadableFile
from copcode.ingest.zipsafe import UnsafeArchive, check_archive


def read(raw: bytes, source: str, warnings: list[str]):
    import docx

    try:
        # python-docx decompresses every member: check their sizes first (a zip bomb)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            check_archive(archive, stream=True)
        document = docx.Document(io.BytesIO(raw))
    except UnsafeArchive as exc:
        raise UnreadableFile(f"a Word document too large to open safely: {exc}", where=source,
                             fix="check where it came from; open it in Word or LibreOffice and save it again "
                             "as .docx.") from None
    except KeyError:
        raise UnreadableFile("a zip archive without a Word document inside, not a .docx", where=source,
                             fix="check that it is the transcript, or save the transcript again as .docx.") from None
    except Exception as exc:  # python-docx raises many kinds (BadZipFile, XMLSyntaxError, ...)
        raise UnreadableFile(
            f"not a readable Word document ({type(exc).__name__})",
            where=source,
            fix="open it in Word or LibreOffice and save it again as .docx.",
        ) from None
    return _body(document, source)


_HEADER_CELLS = {"speaker", "name", "who", "text", "transcript", "time", "timestamp", "words",
                 "utterance", "content", "dialogue", "speech", "start", "end", "time code", "timecode"}


def _body(document, source: str):
    from docx.table import Table

    from copcode.ingest.speakers import _TIMELINE, Body
    from copcode.ingest.text import split_header

    chunks: list[str] = []
    turns: list[tuple[str, int, int]] = []
    label_lines: set[int] = set()
    at, line = 0, 0

    def add(text: str, speaker: str | None = None, bold: bool = False):
        nonlocal at, line
        if chunks:
            at, line = at + 1, line + 1
        if speaker is not None:
            turns.append((speaker, at + len(speaker) + 2, at + len(text)))
        if bold:
            label_lines.add(line)
        chunks.append(text)
        at += len(text)
        line += text.count("\n")

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = _transcript_rows(item, _TIMELINE)
            if rows is None:
                for row in _cells(item):
                    add("\t".join(row))
            else:
                for speaker, words in rows:
                    add(f"{speaker}: {words}" if speaker else words, speaker or None)
                    if not speaker and turns:  # a row without a speaker goes on with the turn
                        turns[-1] = (turns[-1][0], turns[-1][1], at)
        else:
            add(item.text, bold=_all_bold(item))
    text = "\n".join(chunks)
    kind = "Word table" if turns else "Word"
    if text.startswith("---"):
        body, header = split_header(text, source)
        shift, lines_gone = len(text) - len(body), text[:len(text) - len(body)].count("\n")
        return Body(body, header, kind, [(s, a - shift, b - shift) for s, a, b in turns] or None,
                    frozenset(n - lines_gone for n in label_lines if n >= lines_gone))
    return Body(text, {}, kind, turns or None, frozenset(label_lines))


def _cells(table) -> list[list[str]]:
    """Each row's cell texts, a merged cell once."""
    rows = []
    for row in table.rows:
        seen, cells = set(), []
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
        rows.append(cells)
    return rows


def _transcript_rows(table, timeline) -> list[tuple[str, str]] | None:
    """(speaker, words) per row when the table is a transcript (a short first cell, times left
    out, that recurs as a speaker), else None. A row without a speaker continues the turn."""
    rows = []
    for cells in _cells(table):
        cells = [c for c in cells if c and not timeline.match(c)]
        if not cells:
            continue
        if len(cells) >= 2 and len(cells[0].split()) <= 4 and "\n" not in cells[0]:
            rows.append((cells[0].rstrip(":").strip(), " ".join(cells[1:])))
        else:
            rows.append(("", " ".join(cells)))
    if rows and all(w.casefold() in _HEADER_CELLS for w in f"{rows[0][0]} {rows[0][1]}".split()):
        rows = rows[1:]
    speakers = [s.casefold() for s, _ in rows if s]
    if len(speakers) < 2 or len(set(speakers)) == len(speakers):
        return None
    return rows


def _all_bold(paragraph) -> bool:
    """A short paragraph all in bold: a speaker's name above their words."""
    runs = [r for r in paragraph.runs if r.text.strip()]
    return bool(runs) and len(paragraph.text.split()) <= 6 and all(
        r.bold or (r.style is not None and r.style.font.bold) for r in runs)
