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

    def last_run(self) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()

    def segment_transcripts(self) -> dict[str, str]:
        """Segment id -> its transcript's id."""
        return dict(self.db.execute("SELECT id, transcript FROM segments"))

    def cached(self, keys) -> dict[str, list[dict]]:
        """The cached suggestions of the segments whose keys are given."""
        found = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            found.update((k, json.loads(v)) for k, v in self.db.execute(
                f"SELECT key, suggestions FROM cache WHERE key IN ({','.join('?' * len(batch))})", batch))
        return found

    def save_run(self, transcripts, segments, suggestions, codebook, engine: str,
                 cache: dict[str, list[dict]] | None = None) -> None:
        """Replace transcripts, turns, segments and suggestions with this run's, in one
        transaction; decisions stay as they are. `cache` becomes the whole cache: the
        suggestions of every segment of this run, by key."""
        with self.transaction() as db:
            if cache is not None:
                db.execute("DELETE FROM cache")
                db.executemany("INSERT INTO cache VALUES (?, ?)",
                               [(k, json.dumps(v)) for k, v in cache.items()])
            db.execute("DELETE FROM suggestions")
            db.execute("DELETE FROM segments")
            db.execute("DELETE FROM turns")
            db.execute("DELETE FROM transcripts")
            db.executemany(
                "INSERT INTO transcripts VALUES (?, ?, ?, ?, ?, ?)",
                [(t.id, t.participant, t.source, t.sha256, t.text, json.dumps(t.attributes))
                 for t in transcripts])
            db.executemany(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                [(t.id, i, turn.speaker, turn.role, turn.start, turn.end)
                 for t in transcripts for i, turn in enumerate(t.turns)])
            db.executemany(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.id, s.transcript, s.turn, s.start, s.end, s.text, json.dumps(s.sentences))
                 for s in segments])
            db.executemany(
                "INSERT INTO suggestions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.segment, s.code, s.score, s.quote_start, s.quote_end,
                  json.dumps(s.evidence), s.engine) for s in suggestions])
            db.execute(
                "INSERT INTO runs (at, codebook, codebook_sha256, engine, transcripts, segments,"
                " suggestions) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now(), codebook.path, codebook.sha256, engine, len(transcripts), len(segments),
                 len(suggestions)))


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
