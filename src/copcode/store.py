"""The project's SQLite store, `.copcode/copcode.db`: numbered migrations, one transaction per
command. Suggestions are replaced by every `copcode code`; decisions are never touched by it."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from copcode.errors import NotCodedYet, StoreError

MIGRATIONS = [
    # 1: transcripts, their turns and segments, suggestions, the decision log, the runs
    """
    CREATE TABLE transcripts (
        id TEXT PRIMARY KEY, participant TEXT NOT NULL, source TEXT NOT NULL,
        sha256 TEXT NOT NULL, text TEXT NOT NULL, attributes TEXT NOT NULL);
    CREATE TABLE turns (
        transcript TEXT NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL, speaker TEXT NOT NULL, role TEXT NOT NULL,
        start INTEGER NOT NULL, "end" INTEGER NOT NULL, PRIMARY KEY (transcript, idx));
    CREATE TABLE segments (
        id TEXT PRIMARY KEY,
        transcript TEXT NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        text TEXT NOT NULL, sentences TEXT NOT NULL);
    CREATE TABLE suggestions (
        segment TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        code TEXT NOT NULL, score REAL NOT NULL,
        quote_start INTEGER NOT NULL, quote_end INTEGER NOT NULL,
        evidence TEXT NOT NULL, engine TEXT NOT NULL, PRIMARY KEY (segment, code));
    -- Append-only. No foreign key: a decision outlives the segment it was made on, and
    -- keeps the words it was made on so it can be re-anchored or reported as orphaned.
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, segment TEXT NOT NULL, code TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('accept', 'reject', 'tag', 'untag', 'undo')),
        coder TEXT NOT NULL, at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        transcript TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        text TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, codebook TEXT NOT NULL,
        codebook_sha256 TEXT NOT NULL, engine TEXT NOT NULL, transcripts INTEGER NOT NULL,
        segments INTEGER NOT NULL, suggestions INTEGER NOT NULL);
    """,
    # 2: suggestions per segment, keyed by its words, the codebook, the threshold and the engine
    """
    CREATE TABLE cache (key TEXT PRIMARY KEY, suggestions TEXT NOT NULL);
    """,
]


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path):
        self.db = connection
        self.path = path

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT; any exception rolls everything back."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self):
        self.db.close()

    def backup(self, path: Path) -> None:
        """Copy the whole database to `path`: a consistent snapshot, WAL included."""
        copy = sqlite3.connect(path)
        try:
            self.db.backup(copy)
        finally:
            copy.close()

    def restore(self, path: Path) -> None:
        """Make the database again exactly the snapshot `backup` wrote to `path`, in one step."""
        copy = sqlite3.connect(path)
        try:
            copy.backup(self.db)
        finally:
            copy.close()

    def last_run(self) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()

    def segment_transcripts(self, segment_ids=None) -> dict[str, str]:
        """Segment id -> its transcript's id (of every segment, or of `segment_ids`)."""
        if segment_ids is None:
            return dict(self.db.execute("SELECT id, transcript FROM segments"))
        ids, found = list(segment_ids), {}
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            found.update(self.db.execute(
                f"SELECT id, transcript FROM segments WHERE id IN ({','.join('?' * len(batch))})", batch))
        return found

    def transcript_text(self, transcript: str) -> str | None:
        row = self.db.execute("SELECT text FROM transcripts WHERE id = ?", (transcript,)).fetchone()
        return row[0] if row else None

    def segment_span(self, segment: str) -> tuple[str, int, int] | None:
        """(transcript id, start, end) of a segment."""
        row = self.db.execute('SELECT transcript, start, "end" FROM segments WHERE id = ?', (segment,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def segment_spans(self) -> dict[str, list[tuple[str, int, int]]]:
        """Transcript id -> its segments as (segment id, start, end)."""
        spans: dict[str, list[tuple[str, int, int]]] = {}
        for row in self.db.execute('SELECT id, transcript, start, "end" FROM segments'):
            spans.setdefault(row[1], []).append((row[0], row[2], row[3]))
        return spans

    def start_run(self) -> "RunWriter":
        """A `copcode code` run to be written in batches, then committed whole."""
        return RunWriter(self)

    def coding_rows(self):
        """Every suggestion with its segment and transcript, ordered by transcript and
        segment start, one row at a time (the corpus need not fit in memory)."""
        return self.db.execute(
            'SELECT g.segment, g.code, g.score, g.quote_start, g.quote_end, s.transcript, '
            's.start, s."end", s.text, t.participant, t.attributes '
            "FROM suggestions g JOIN segments s ON s.id = g.segment JOIN transcripts t ON t.id = s.transcript "
            'ORDER BY s.transcript, s.start')

    def segment_rows(self, segment_ids) -> list[sqlite3.Row]:
        """The given segments with their transcript's participant and attributes."""
        ids, found = list(segment_ids), []
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            found += self.db.execute(
                'SELECT s.id AS segment, s.transcript, s.start, s."end", s.text, t.participant, t.attributes '
                "FROM segments s JOIN transcripts t ON t.id = s.transcript "
                f"WHERE s.id IN ({','.join('?' * len(batch))})", batch).fetchall()
        return found

    def suggested(self, segment_ids) -> set[tuple[str, str]]:
        """The (segment, code) pairs suggested on the given segments."""
        ids, found = list(segment_ids), set()
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            found.update(tuple(r) for r in self.db.execute(
                f"SELECT segment, code FROM suggestions WHERE segment IN ({','.join('?' * len(batch))})", batch))
        return found

    def segments_of(self, transcript_ids=(), segment_ids=()) -> list[sqlite3.Row]:
        """The segments (id, transcript, start, end, text) of the given transcripts, in
        order, then those of `segment_ids` that are elsewhere."""
        found = []
        for column, ids in (("transcript", list(transcript_ids)), ("id", list(segment_ids))):
            for i in range(0, len(ids), 500):
                batch = ids[i:i + 500]
                found += self.db.execute(
                    f'SELECT id, transcript, start, "end", text FROM segments '
                    f"WHERE {column} IN ({','.join('?' * len(batch))}) ORDER BY rowid", batch).fetchall()
        return found

    def transcript_texts(self, transcript_ids) -> dict[str, str]:
        """Transcript id -> text, for the given transcripts."""
        ids, found = list(transcript_ids), {}
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            found.update(self.db.execute(
                f"SELECT id, text FROM transcripts WHERE id IN ({','.join('?' * len(batch))})", batch))
        return found

    def participants(self):
        """(participant, attributes as JSON) of every transcript, ordered by participant, one
        row at a time."""
        return self.db.execute("SELECT participant, attributes FROM transcripts ORDER BY participant")

    def cached(self, keys) -> dict[str, list[dict]]:
        """The cached suggestions of the segments whose keys are given."""
        found = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            found.update((k, json.loads(v)) for k, v in self.db.execute(
                f"SELECT key, suggestions FROM cache WHERE key IN ({','.join('?' * len(batch))})", batch))
        return found


class RunWriter:
    """One `copcode code` run, written batch by batch into temporary tables of this
    connection (on disk, private to it, gone when it closes) and swapped into the store by
    `commit` in one short transaction: nothing of the run is visible until then, an error or
    a kill before it leaves the store as it was, and other commands (`tag`, `review`) are not
    locked out while the corpus is parsed."""

    _TABLES = {
        "transcripts": "id TEXT PRIMARY KEY, participant, source, sha256, text, attributes",
        "turns": 'transcript, idx, speaker, role, start, "end"',
        "segments": 'id, transcript, turn, start, "end", text, sentences',
        "suggestions": "segment, code, score, quote_start, quote_end, evidence, engine",
        # no index on the cache keys (hashes: random order, slow to index one by one);
        # `commit` sorts them once
        "cache": "key, suggestions",
        "keys": "key",
    }

    def __init__(self, store: "Store"):
        self.db = store.db
        self.counts = {"transcripts": 0, "segments": 0, "suggestions": 0}
        self.db.execute("PRAGMA temp_store = FILE")  # the corpus need not fit in memory
        for name, columns in self._TABLES.items():
            self.db.execute(f"DROP TABLE IF EXISTS temp.run_{name}")
            self.db.execute(f"CREATE TEMP TABLE run_{name} ({columns})")

    def sources_of(self, transcript_ids) -> dict[str, str]:
        """Transcript id -> source, for those of `transcript_ids` already in this run."""
        ids = list(transcript_ids)
        found = {}
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            found.update(self.db.execute(
                f"SELECT id, source FROM temp.run_transcripts WHERE id IN ({','.join('?' * len(batch))})", batch))
        return found

    def add(self, transcripts, segments, suggestions, keys, new_cache: dict[str, list[dict]]) -> None:
        """One batch: its transcripts with their turns, segments, suggestions; `keys` the cache
        keys of its segments, `new_cache` the entries parsed in this run."""
        db = self.db
        with self._batch():
            db.executemany("INSERT INTO temp.run_transcripts VALUES (?, ?, ?, ?, ?, ?)",
                           [(t.id, t.participant, t.source, t.sha256, t.text, json.dumps(t.attributes))
                            for t in transcripts])
            db.executemany("INSERT INTO temp.run_turns VALUES (?, ?, ?, ?, ?, ?)",
                           [(t.id, i, turn.speaker, turn.role, turn.start, turn.end)
                            for t in transcripts for i, turn in enumerate(t.turns)])
            db.executemany("INSERT INTO temp.run_segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(s.id, s.transcript, s.turn, s.start, s.end, s.text, json.dumps(s.sentences))
                            for s in segments])
            db.executemany("INSERT INTO temp.run_suggestions VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(s.segment, s.code, s.score, s.quote_start, s.quote_end,
                             json.dumps(s.evidence), s.engine) for s in suggestions])
            db.executemany("INSERT INTO temp.run_keys VALUES (?)", [(k,) for k in keys])
            db.executemany("INSERT INTO temp.run_cache VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in new_cache.items()])
        self.counts["transcripts"] += len(transcripts)
        self.counts["segments"] += len(segments)
        self.counts["suggestions"] += len(suggestions)

    @contextmanager
    def _batch(self):
        # a batch is one transaction of the temporary database: fast, and whole or absent
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def commit(self, store: "Store", codebook, engine: str) -> None:
        """Replace transcripts, turns, segments and suggestions with this run's, in one
        transaction; decisions stay as they are. The cache keeps the entries of this run's
        segments only."""
        with store.transaction() as db:
            db.execute("DELETE FROM cache WHERE key NOT IN (SELECT key FROM temp.run_keys)")
            db.execute("INSERT OR REPLACE INTO cache SELECT key, suggestions FROM temp.run_cache ORDER BY key")
            for table in ("suggestions", "segments", "turns", "transcripts"):
                db.execute(f"DELETE FROM {table}")
            for table in ("transcripts", "turns", "segments", "suggestions"):
                columns = ", ".join(c.split()[0] for c in self._TABLES[table].split(", "))
                db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.run_{table} ORDER BY rowid")
            db.execute(
                "INSERT INTO runs (at, codebook, codebook_sha256, engine, transcripts, segments,"
                " suggestions) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now(), codebook.path, codebook.sha256, engine, self.counts["transcripts"],
                 self.counts["segments"], self.counts["suggestions"]))
        self.close()

    def close(self) -> None:
        for name in self._TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS temp.run_{name}")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_store(path: Path, *, create: bool) -> Store:
    """The store at `path`, migrated to the newest schema. With create=False a project that
    was never coded is an error that says to run `copcode code`."""
    if not path.exists():
        if not create:
            raise NotCodedYet(
                "this project has not been coded yet",
                where=str(path.parent.parent),
                fix="run `copcode code` first.",
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        if create:
            os.chmod(path, 0o600)
        store = Store(db, path)
        _migrate(store)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(
            f"the store is not a readable SQLite database ({exc})", where=str(path),
            fix="restore it from a backup; or move the .copcode folder away and run `copcode code` "
            "(decisions recorded in the old store would then be missing).") from None
    return store


def _migrate(store: Store) -> None:
    db = store.db
    with store.transaction():
        db.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, at TEXT)")
        done = {row[0] for row in db.execute("SELECT version FROM migrations")}
        for version, script in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (version, now()))
