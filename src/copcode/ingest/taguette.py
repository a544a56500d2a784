"""Reading a Taguette project (the .sqlite3 file Taguette exports, or its own database with
one project) for `copcode import`: documents, tags and highlights, as the same
`ImportedProject` the REFI-QDA reader gives.

Taguette keeps each document as HTML (`documents.contents`); a highlight's `start_offset` and
`end_offset` count the UTF-8 bytes of the document's text nodes as an HTML5 parser makes them,
tags not counted (its browser code, `describePos` in taguette.js, makes them; extract.py reads
them). copcode's text is those text nodes with a line break added at each paragraph, heading,
list item and `<br>`; the added breaks count nothing, so each offset maps to one place in the
text. The `snippet` Taguette stores with a highlight is not used: extract.py cuts it with byte
offsets taken as character offsets, so in text with accents or emoji it is off by a few
characters.

It trusts nothing in the file: it is opened read-only (`mode=ro`), with `trusted_schema`
off and a bound on the work any query may do; the tables must be Taguette's, real tables (not
views); each value is checked for its type and size before it is used."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from copcode.errors import CopcodeError
from copcode.ingest.refi import ImportedCode, ImportedProject, check_codes, id_from, unique_ids
from copcode.project import NotAFile, special_kind
from copcode.store import TaguetteFile

MiB = 1024 * 1024
MAGIC = b"SQLite format 3\x00"
SUFFIXES = (".sqlite3", ".sqlite", ".db")
MAX_FILE = 256 * MiB  # a Taguette project's text is far smaller; a stray disk image stays out
MAX_HTML = 32 * MiB  # one document's HTML (Taguette itself refuses documents over about 1 MB)
MAX_STEPS = 100_000  # progress calls of 10,000 virtual-machine steps: 10^9 steps for the whole file
EXPORT = "export the project from Taguette (Project > Export project > SQLite3), and import that file."
# Taguette's tables and the columns copcode reads (taguette/database/models.py)
TABLES = {
    "projects": ("id", "name"),
    "documents": ("id", "name", "project_id", "contents"),
    "tags": ("id", "project_id", "path", "description"),
    "highlights": ("id", "document_id", "start_offset", "end_offset"),
    "highlight_tags": ("highlight_id", "tag_id"),
}
OPTIONAL = {"commands": ("id", "user_login", "project_id", "payload")}  # who made each highlight
# elements after which the text goes on on a new line (Taguette keeps p, br, h1-h5, ul, ol, li)
BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "div", "blockquote", "pre", "table",
          "tr", "section", "article", "header", "footer", "dl", "dt", "dd", "hr", "address", "figure"}


def is_sqlite(path: Path) -> bool:
    """Whether `path` is an SQLite database (its first bytes say so) or is named like one;
    never blocks (a FIFO is not opened)."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        return True
    if special_kind(path) or not path.is_file():
        return False
    try:
        return _head(path)[1] == MAGIC
    except OSError:  # NotAFile too
        return False


def _head(path: Path) -> tuple[int, bytes]:
    """The file's size and first bytes; opened without waiting, so a FIFO put in its place
    cannot block (NotAFile says what it is)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile("not a regular file")
        return info.st_size, handle.read(len(MAGIC))


def _refuse(path: Path, what: str, fix: str = EXPORT) -> CopcodeError:
    return CopcodeError(what, where=str(path), fix=fix)


def read_taguette(path: Path) -> ImportedProject:
    """The documents (as text), tags and highlights of the one project in a Taguette
    database, every offset as an index into the document's text; CopcodeError for a file
    that is not a Taguette project, holds several projects, or is ambiguous (two documents
    with one name)."""
    path = Path(path)
    kind = special_kind(path)
    if kind or not path.exists():
        raise _refuse(path, f"is {kind}, not a Taguette project" if kind else "no such file",
                      "give the path of the .sqlite3 file Taguette exports.")
    try:
        size, magic = _head(path)
    except NotAFile as exc:
        raise _refuse(path, f"is {exc}, not a Taguette project", "give the path of the .sqlite3 file "
                      "Taguette exports.") from None
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})", "check the file's permissions.") from None
    if magic != MAGIC:
        raise _refuse(path, "not an SQLite database, so not a Taguette project",
                      "give the .sqlite3 file Taguette exports (Project > Export project > SQLite3), "
                      "or a .qdpx file.")
    if size > MAX_FILE:
        raise _refuse(path, f"the database is larger than {MAX_FILE // MiB} MiB, too large to import",
                      "check that it is the Taguette project; " + EXPORT)
    try:
        db = TaguetteFile(path, max_length=MAX_HTML, max_steps=MAX_STEPS)
    except sqlite3.Error as exc:
        raise _refuse(path, f"cannot be opened as an SQLite database ({exc})", EXPORT) from None
    try:
        return _project(path, db)
    except sqlite3.OperationalError as exc:
        if db.exhausted:
            raise _refuse(path, "reading the database takes far more work than a Taguette project needs; "
                          "refused", "check where the file came from; " + EXPORT) from None
        raise _refuse(path, f"not a readable Taguette project ({exc})", EXPORT) from None
    except sqlite3.Error as exc:
        raise _refuse(path, f"not a readable Taguette project ({type(exc).__name__}: {exc})", EXPORT) from None
    finally:
        db.close()


def _text(value) -> str | None:
    """A text value as stored (UTF-8 bytes, with text_factory=bytes), or None when it is not text."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def _project(path: Path, db: TaguetteFile) -> ImportedProject:
    tables = _check_schema(path, db)
    projects = [(number, _text(name) or "") for number, name in db.projects()]
    if not projects:
        raise _refuse(path, "the Taguette database holds no project")
    if len(projects) > 1:
        listed = ", ".join(repr(name) for _, name in projects[:10]) + (" ..." if len(projects) > 10 else "")
        raise _refuse(path, f"the Taguette database holds {len(projects)} projects ({listed}); "
                      "copcode imports one at a time", "export the project you want from Taguette "
                      "(Project > Export project > SQLite3), and import that file.")
    project_id = projects[0][0]
    problems: list[str] = []
    codes = _tags(path, db, project_id)
    sources, maps, names = _documents(path, db, project_id, problems)
    users = _users(db, project_id, tables)
    codings: list[tuple[str, int, int, str, str, str]] = []
    untagged = 0
    rows = db.highlights(project_id)
    known = {code.guid for code in codes}
    highlights: dict[int, tuple] = {}  # highlight id -> (document id, start, end, [tag ids])
    for number, document, start, end, tag in rows:
        highlights.setdefault(number, (document, start, end, []))[3].append(tag)
    for number, (document, start, end, tags) in highlights.items():
        tags = [t for t in tags if t is not None]
        if not tags:
            untagged += 1
            continue
        if document not in names:
            continue  # its document is left out, and said
        name = names[document]
        where = f"document {name!r}, highlight {number}"
        left_out = f"; left out with its {len(tags)} coding{'s' * (len(tags) != 1)}"
        text_map = maps[document]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= text_map.size):
            problems.append(f"{where} (bytes {start!r} to {end!r}): not a span of its text "
                            f"({text_map.size} bytes){left_out}")
            continue
        first, last = text_map.index(start, end=False), text_map.index(end, end=True)
        for tag in tags:
            guid = f"tag-{tag}"
            if guid not in known:
                problems.append(f"{where}: tag id {tag} is not one of the project's tags; left out")
                continue
            codings.append((name, first, last, guid, users.get(number, "imported"), ""))  # Taguette has no notes
    if untagged:
        problems.append(f"{untagged} highlight{'s' * (untagged != 1)} without a tag: nothing to import")
    return ImportedProject(codes, sources, codings, {}, problems,
                           {name: f"document-{number}" for number, name in names.items()},
                           source_kind="Document")


def _check_schema(path: Path, db: TaguetteFile) -> set[str]:
    """Taguette's tables, as real tables with the columns copcode reads; refused otherwise.
    The names of the file's tables and views."""
    kinds = {_text(name) or "": (_text(kind) or "", _text(sql) or "") for name, kind, sql in db.schema()}
    missing = [t for t in TABLES if t not in kinds]
    if missing:
        raise _refuse(path, "not a Taguette project: the database has no table " + ", ".join(missing),
                      "give the .sqlite3 file Taguette exports (Project > Export project > SQLite3).")
    for table, columns in {**TABLES, **{t: c for t, c in OPTIONAL.items() if t in kinds}}.items():
        kind, sql = kinds[table]
        if kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            raise _refuse(path, f"not a Taguette project: {table} is a {'view' if kind == 'view' else 'virtual table'}, "
                          "not a table", "check where the file came from; " + EXPORT)
        have = {_text(name) for name in db.columns(table)}
        lacking = [c for c in columns if c not in have]
        if lacking:
            raise _refuse(path, f"not a Taguette project: the table {table} has no column {', '.join(lacking)}",
                          "check that it is a Taguette project; " + EXPORT)
    return set(kinds)


def _tags(path: Path, db: TaguetteFile, project_id) -> list[ImportedCode]:
    """The project's tags as a flat list of codes: a path such as "a.b" stays one label."""
    codes = []
    for number, tag_path, description in db.tags(project_id):
        label = (_text(tag_path) or "").strip()
        codes.append(ImportedCode(id_from(label), label, (_text(description) or "").strip(), [], f"tag-{number}"))
    check_codes(path, codes)
    unique_ids(codes)
    return codes


def _documents(path: Path, db: TaguetteFile, project_id,
               problems: list[str]) -> tuple[dict[str, str], dict, dict]:
    """name -> text; document id -> its offset map; document id -> name. A document whose
    HTML is not UTF-8 text or too large is left out, and said."""
    sources: dict[str, str] = {}
    maps: dict = {}
    names: dict = {}
    ids: dict[str, object] = {}
    for number, raw_name, length, kind in db.documents(project_id):
        name = (_text(raw_name) or "").strip()
        if not name:
            raise _refuse(path, f"document {number} has no name",
                          "name the document in Taguette (its name becomes the participant id) and export again.")
        if name in ids:
            raise _refuse(path, f"two documents are named {name!r} (ids {ids[name]} and {number})",
                          "give each document its own name in Taguette and export again.")
        ids[name] = number
        count = db.tagged_highlights(number)
        left_out = f"; left out with its {count} coding{'s' * (count != 1)}" if count else "; left out"
        if _text(kind) != "text":
            problems.append(f"document {name!r}: its contents are not text{left_out}")
            continue
        if length > MAX_HTML // 4:  # characters; up to 4 bytes each
            problems.append(f"document {name!r}: larger than {MAX_HTML // 4 // MiB} MiB{left_out}")
            continue
        html = _text(db.contents(number))
        if html is None:
            problems.append(f"document {name!r}: its contents are not UTF-8 text{left_out}")
            continue
        text_map = _html_text(html)
        sources[name], maps[number], names[number] = text_map.text, text_map, name
    return sources, maps, names


def _users(db: TaguetteFile, project_id, tables: set[str]) -> dict[int, str]:
    """Highlight id -> the login of who last gave it its tags (its latest `highlight_add`
    command); an exported project has every command under the exporting user."""
    if "commands" not in tables:
        return {}
    users: dict[int, str] = {}
    for login, payload in db.highlight_commands(project_id):
        try:
            data = json.loads(_text(payload) or "")
        except (ValueError, RecursionError):
            continue
        user = (_text(login) or "").strip()
        if isinstance(data, dict) and data.get("type") == "highlight_add" and isinstance(data.get("highlight_id"), int) \
                and user:
            users[data["highlight_id"]] = user
    return users


STRIDE = 1024  # characters between the byte positions kept for a long piece of text


@dataclass
class TextMap:
    """A document's text and where Taguette's byte offsets fall in it. `pieces` are the text
    nodes Taguette counts, in order: (first byte, where it starts in `text`, its text, its
    UTF-8); a comment's text is counted by Taguette but not shown, so its text is ""."""
    text: str = ""
    size: int = 0  # bytes Taguette counts
    starts: list[int] = field(default_factory=list)  # first byte of each piece
    pieces: list[tuple[int, int, str, bytes]] = field(default_factory=list)
    marks: dict[int, list[int]] = field(default_factory=dict)  # piece -> byte offset of every STRIDE-th character

    def index(self, offset: int, *, end: bool) -> int:
        """The index into `text` of a byte offset: a start goes after a line break copcode
        added there, an end before it. An offset inside a character is taken back to its start."""
        piece = (bisect_left(self.starts, offset) if end else bisect_right(self.starts, offset)) - 1
        if piece < 0:
            return 0
        first, at, text, encoded = self.pieces[piece]
        if not text:
            return at
        k = offset - first
        if len(encoded) == len(text):  # ASCII: a byte is a character
            return at + k
        marks = self.marks.get(piece)
        if marks is None:  # once per piece, so that many highlights in a long one cost little
            marks = self.marks[piece] = [0]
            for i in range(STRIDE, len(text), STRIDE):
                marks.append(marks[-1] + len(text[i - STRIDE:i].encode("utf-8")))
        j = bisect_right(marks, k) - 1
        return at + j * STRIDE + len(encoded[marks[j]:k].decode("utf-8", "ignore"))


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.map = TextMap()
        self.at = 0  # length of the text so far
        self.started = False  # HTML5 drops white space before the first tag or text

    def _add(self, text: str, counted: bool = True, shown: bool = True) -> None:
        if counted:
            encoded = text.encode("utf-8")
            if encoded:
                self.map.starts.append(self.map.size)
                self.map.pieces.append((self.map.size, self.at, text if shown else "", encoded))
                self.map.size += len(encoded)
        if shown:
            self.out.append(text)
            self.at += len(text)

    def _line(self, always: bool = False) -> None:
        if always or (self.out and not self.out[-1].endswith("\n")):
            self._add("\n", counted=False)

    def handle_starttag(self, tag, attrs):
        self.started = True
        if tag == "br":
            self._line(always=True)
        elif tag in BLOCKS:
            self._line()

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self._line()

    def handle_data(self, data):
        if not self.started:
            data = data.lstrip("\t\n\f\r ")
            self.started = bool(data)
        if data:
            self._add(data)

    def handle_comment(self, data):
        if data:
            self._add(data, shown=False)  # Taguette's count includes a comment's text


def _html_text(html: str) -> TextMap:
    """The text of Taguette's HTML, with its offset map."""
    parser = _Parser()
    # HTML5 reads every "\r\n" and "\r" as "\n" before anything else, and so does Taguette
    parser.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    parser.map.text = "".join(parser.out)
    return parser.map
