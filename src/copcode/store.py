"""The project's SQLite store, `.copcode/copcode.db`, and the only module that speaks SQL.

Migrations are named steps numbered by `PRAGMA user_version`; a store written by a newer
copcode is refused. Read commands open the store read-only and read everything from one
snapshot (`Store.snapshot`); writes happen in one transaction (`Store.transaction`). Every
sqlite3 error is turned into one of the store's messages (errors.StoreError and its kinds) in
one place, `Store._guard`. Suggestions are replaced by every `copcode code`; decisions are never
touched by it."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from copcode.errors import (
    CopcodeError,
    NotCodedYet,
    StoreDamaged,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
    StoreTooNew,
)

BATCH = 500  # ids per "IN (...)": well under SQLite's limit on parameters

# Named steps, applied in order to a store whose `PRAGMA user_version` is behind; the store's
# user_version is the number of steps applied. Append only: never change a step once released.
MIGRATIONS: list[tuple[str, str]] = [
    ("transcripts, turns, segments, suggestions, the decision log, the runs", """
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
    """),
    ("the cache: suggestions per segment, keyed by its words, the codebook, the threshold, the engine", """
    CREATE TABLE cache (key TEXT PRIMARY KEY, suggestions TEXT NOT NULL);
    """),
    ("the versions of spaCy and its lemma table in each run", """
    ALTER TABLE runs ADD COLUMN spacy TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN lookups TEXT NOT NULL DEFAULT '';
    """),
    ("the participant of each turn and segment (a focus group's speakers), and their attributes", """
    ALTER TABLE turns ADD COLUMN participant TEXT NOT NULL DEFAULT '';
    ALTER TABLE segments ADD COLUMN participant TEXT NOT NULL DEFAULT '';
    CREATE TABLE participants (
        id TEXT NOT NULL, transcript TEXT NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        attributes TEXT NOT NULL, PRIMARY KEY (transcript, id));
    """),
    ("documents a coder coded in full, for every theme (an imported table of codings)", """
    -- No foreign key, like decisions: the mark outlives a re-coding that drops the document.
    CREATE TABLE coded (
        coder TEXT NOT NULL, transcript TEXT NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (coder, transcript));
    """),
    ("the exact span a coder chose inside a decision's segment (none: the whole segment)", """
    ALTER TABLE decisions ADD COLUMN span_start INTEGER;
    ALTER TABLE decisions ADD COLUMN span_end INTEGER;
    """),
    ("suggestions shown on a passage before its transcript was coded that a later run no longer makes", """
    -- No foreign key: `RunWriter.commit` drops the rows of segments that are gone.
    CREATE TABLE shown (segment TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (segment, code)) WITHOUT ROWID;
    """),
]
SCHEMA = len(MIGRATIONS)  # the newest schema this copcode reads and writes

# SQLite's primary result codes (the low byte of an extended code)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_READONLY_ROLLBACK = _READONLY | (3 << 8)  # a hot journal that a read-only connection cannot roll back

PARTICIPANTS_KEPT = 4  # the schema from which each segment keeps its own participant
CODED_KEPT = 5  # the schema from which documents can be marked as coded (table `coded`)
SPANS_KEPT = 6  # the schema from which a decision may keep an exact span
SHOWN_KEPT = 7  # the schema from which suggestions no longer made are kept as shown (table `shown`)


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path, readonly: bool = False):
        self.db = connection
        self.path = path
        self.readonly = readonly
        self._depth = 0  # open transactions or snapshots; inner ones join the outer one
        self.schema = SCHEMA  # behind it only when opened read-only (read as it is)

    # ---------------------------------------------------------------- transactions, errors

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT; any exception rolls everything back. Inside another
        transaction it joins that one."""
        with self._outermost("BEGIN IMMEDIATE") as db:
            yield db

    @contextmanager
    def snapshot(self):
        """A read transaction: everything read inside it comes from one state of the store,
        even if a `copcode code` commits meanwhile. Inside another transaction it joins that one."""
        with self._outermost("BEGIN") as db:
            yield db

    @contextmanager
    def _outermost(self, begin: str):
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        with self._guard():
            self.db.execute(begin)
        self._depth = 1
        try:
            with self._guard():
                yield self.db
        except BaseException:
            self._depth = 0
            if self.db.in_transaction:
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        with self._guard():
            self.db.execute("COMMIT")

    @contextmanager
    def _guard(self):
        """Turns a sqlite3 error raised inside into the store's message for its kind."""
        try:
            yield
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, readonly=self.readonly) from None

    def _all(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self._guard():
            return self.db.execute(sql, params).fetchall()

    def _one(self, sql: str, params=()) -> sqlite3.Row | None:
        with self._guard():
            return self.db.execute(sql, params).fetchone()

    def _iter(self, sql: str, params=()):
        """The rows one at a time (a big table need not fit in memory)."""
        with self._guard():
            yield from self.db.execute(sql, params)

    def _in_batches(self, sql: str, ids):
        """The rows of `sql`, whose `{ids}` stands for the placeholders of "IN ({ids})", run
        for `ids` in batches of BATCH."""
        ids = list(ids)
        for i in range(0, len(ids), BATCH):
            batch = ids[i:i + BATCH]
            yield from self._iter(sql.format(ids=",".join("?" * len(batch))), batch)

    def _write(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._guard():
            return self.db.execute(sql, params)

    def close(self):
        self.db.close()

    def backup(self, path: Path) -> None:
        """Copy the whole database to `path`: a consistent snapshot."""
        copy = sqlite3.connect(path)
        try:
            with self._guard():
                self.db.backup(copy)
        finally:
            copy.close()

    def restore(self, path: Path) -> None:
        """Make the database again exactly the snapshot `backup` wrote to `path`, in one step."""
        copy = sqlite3.connect(path)
        try:
            with self._guard():
                copy.backup(self.db)
        finally:
            copy.close()

    # ---------------------------------------------------------------- queries

    def _who(self) -> tuple[str, str]:
        """For queries that join segments `s` and transcripts `t`: the columns of a segment's
        participant and their attributes, and the join they need. The speaker's own (a focus
        group's "FG1-P2"), else (a store coded before they were kept) the transcript's."""
        if self.schema < PARTICIPANTS_KEPT:
            return "t.participant AS participant, t.attributes AS attributes", ""
        return ("COALESCE(NULLIF(s.participant, ''), t.participant) AS participant, "
                "COALESCE(p.attributes, t.attributes) AS attributes",
                "LEFT JOIN participants p ON p.transcript = s.transcript AND p.id = s.participant")

    def last_run(self) -> sqlite3.Row | None:
        return self._one("SELECT * FROM runs ORDER BY id DESC LIMIT 1")

    def count(self, table: str) -> int:
        """The number of rows of one of the store's tables."""
        if table not in ("transcripts", "turns", "segments", "suggestions", "decisions", "runs", "cache",
                         "participants"):
            raise ValueError(table)
        return self._all(f"SELECT COUNT(*) FROM {table}")[0][0]

    def transcript_ids(self) -> list[str]:
        """The id of every transcript (survey answers included), ordered."""
        return [r[0] for r in self._iter("SELECT id FROM transcripts ORDER BY id")]

    def segment_transcripts(self, segment_ids=None) -> dict[str, str]:
        """Segment id -> its transcript's id (of every segment, or of `segment_ids`)."""
        if segment_ids is None:
            return dict(self._iter("SELECT id, transcript FROM segments"))
        return dict(self._in_batches("SELECT id, transcript FROM segments WHERE id IN ({ids})", segment_ids))

    def segment_texts(self) -> dict[str, str]:
        """Segment id -> its words, of every segment."""
        return dict(self._iter("SELECT id, text FROM segments"))

    def segment_participants(self) -> dict[str, str]:
        """Segment id -> its transcript's participant, of every segment."""
        who, people = self._who()
        return {r["segment"]: r["participant"] for r in self._iter(
            f"SELECT s.id AS segment, {who} FROM segments s JOIN transcripts t ON t.id = s.transcript {people}")}

    def segment_row(self, segment: str) -> sqlite3.Row | None:
        """The segment's id, transcript, start, end and text."""
        return self._one('SELECT id, transcript, start, "end", text FROM segments WHERE id = ?', (segment,))

    def first_segment_id(self) -> str | None:
        """The id of the project's first segment (an example of an id to give)."""
        row = self._one("SELECT id FROM segments ORDER BY rowid LIMIT 1")
        return row[0] if row else None

    def transcript_text(self, transcript: str) -> str | None:
        row = self._one("SELECT text FROM transcripts WHERE id = ?", (transcript,))
        return row[0] if row else None

    def transcripts_with_text(self):
        """(id, text) of every transcript, ordered by id, one at a time."""
        return self._iter("SELECT id, text FROM transcripts ORDER BY id")

    def turn_spans(self, transcript: str) -> list[sqlite3.Row]:
        """(start, end) of the transcript's turns, in order."""
        return self._all('SELECT start, "end" FROM turns WHERE transcript = ? ORDER BY idx', (transcript,))

    def segment_span(self, segment: str) -> tuple[str, int, int] | None:
        """(transcript id, start, end) of a segment."""
        row = self._one('SELECT transcript, start, "end" FROM segments WHERE id = ?', (segment,))
        return (row[0], row[1], row[2]) if row else None

    def segment_spans(self) -> dict[str, list[tuple[str, int, int]]]:
        """Transcript id -> its segments as (segment id, start, end)."""
        spans: dict[str, list[tuple[str, int, int]]] = {}
        for row in self._iter('SELECT id, transcript, start, "end" FROM segments'):
            spans.setdefault(row[1], []).append((row[0], row[2], row[3]))
        return spans

    def start_run(self) -> RunWriter:
        """A `copcode code` run to be written in batches, then committed whole."""
        return RunWriter(self)

    def coding_rows(self):
        """Every suggestion with its segment and transcript, ordered by transcript and
        segment start, one row at a time (the corpus need not fit in memory)."""
        who, people = self._who()
        return self._iter(
            'SELECT g.segment, g.code, g.score, g.quote_start, g.quote_end, s.transcript, '
            f's.start, s."end", s.text, {who} '
            "FROM suggestions g JOIN segments s ON s.id = g.segment JOIN transcripts t ON t.id = s.transcript "
            f'{people} ORDER BY s.transcript, s.start')

    def segment_rows(self, segment_ids) -> list[sqlite3.Row]:
        """The given segments with their participant and the participant's attributes."""
        who, people = self._who()
        return list(self._in_batches(
            f'SELECT s.id AS segment, s.transcript, s.start, s."end", s.text, {who} '
            f"FROM segments s JOIN transcripts t ON t.id = s.transcript {people} "
            "WHERE s.id IN ({ids})", segment_ids))

    def suggested(self, segment_ids) -> set[tuple[str, str]]:
        """The (segment, code) pairs suggested on the given segments."""
        return {tuple(r) for r in self._in_batches(
            "SELECT segment, code FROM suggestions WHERE segment IN ({ids})", segment_ids)}

    def suggestion_pairs(self) -> set[tuple[str, str]]:
        """Every suggested (segment, code) pair."""
        return {tuple(r) for r in self._iter("SELECT segment, code FROM suggestions")}

    def shown_pairs(self) -> set[tuple[str, str]]:
        """The (segment, code) pairs kept by `keep_shown`."""
        if self.schema < SHOWN_KEPT:
            return set()
        return {tuple(r) for r in self._iter("SELECT segment, code FROM shown")}

    def keep_shown(self, pairs) -> None:
        """Remember (segment, code) pairs that were suggested and are no longer (inside the
        caller's transaction), until their segment is gone."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO shown VALUES (?, ?)", sorted(pairs))

    def segments_of(self, transcript_ids=(), segment_ids=()) -> list[sqlite3.Row]:
        """The segments (id, transcript, start, end, text) of the given transcripts, in
        order, then those of `segment_ids` that are elsewhere."""
        found = []
        for column, ids in (("transcript", transcript_ids), ("id", segment_ids)):
            found += self._in_batches(f'SELECT id, transcript, start, "end", text FROM segments '
                                      f"WHERE {column} IN ({{ids}}) ORDER BY rowid", ids)
        return found

    def transcript_texts(self, transcript_ids) -> dict[str, str]:
        """Transcript id -> text, for the given transcripts."""
        return dict(self._in_batches("SELECT id, text FROM transcripts WHERE id IN ({ids})", transcript_ids))

    def participants(self):
        """(participant, attributes as JSON) of every participant (each speaker of a focus
        group; the transcript's own in a store coded before they were kept), ordered by
        participant, one row at a time."""
        if self.schema < PARTICIPANTS_KEPT:
            return self._iter("SELECT participant, attributes FROM transcripts ORDER BY participant")
        return self._iter(
            "SELECT id AS participant, attributes FROM participants UNION ALL "
            "SELECT participant, attributes FROM transcripts WHERE id NOT IN (SELECT transcript FROM participants) "
            "ORDER BY participant")

    def segment_turns(self, segment_ids) -> dict[str, tuple[str, int]]:
        """Segment id -> (transcript, index of its turn), for the given segments."""
        return {r[0]: (r[1], r[2]) for r in self._in_batches(
            "SELECT id, transcript, turn FROM segments WHERE id IN ({ids})", segment_ids)}

    def interviewed(self) -> bool:
        """Whether any transcript has an interviewer's turn (a survey's answers have none)."""
        return self._one("SELECT 1 FROM turns WHERE role = 'interviewer' LIMIT 1") is not None

    def interviewer_turns(self, transcript_ids) -> dict[str, list[tuple[int, int, int]]]:
        """Transcript id -> its interviewer's turns as (index, start, end), in order, for the
        given transcripts that have any."""
        found: dict[str, list[tuple[int, int, int]]] = {}
        for r in self._in_batches('SELECT transcript, idx, start, "end" FROM turns WHERE role = \'interviewer\' '
                                  "AND transcript IN ({ids}) ORDER BY transcript, idx", transcript_ids):
            found.setdefault(r[0], []).append((r[1], r[2], r[3]))
        return found

    def cached(self, keys) -> dict[str, list[dict]]:
        """The cached suggestions of the segments whose keys are given."""
        return {k: json.loads(v) for k, v in self._in_batches(
            "SELECT key, suggestions FROM cache WHERE key IN ({ids})", keys)}

    def remember(self, entries: dict[str, list[dict]]) -> None:
        """Inside the caller's transaction: cache these suggestions (key -> entries), as a run
        caches its segments'."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO cache VALUES (?, ?)", [(k, json.dumps(v)) for k, v in entries.items()])

    # ---------------------------------------------------------------- the decision log

    DECISION_COLUMNS = ("id", "segment", "code", "verdict", "coder", "at", "note", "transcript",
                        "start", "end", "text", "span_start", "span_end")

    def decisions(self) -> list[sqlite3.Row]:
        """The whole decision log in the order it was written (columns: DECISION_COLUMNS; no
        spans in a store read as it is from before they were kept)."""
        spans = "span_start, span_end" if self.schema >= SPANS_KEPT else "NULL AS span_start, NULL AS span_end"
        return self._all('SELECT id, segment, code, verdict, coder, at, note, transcript, start, "end", text, '
                         f"{spans} FROM decisions ORDER BY id")

    def add_decision(self, segment: str, code: str, verdict: str, coder: str, at: str, note: str,
                     transcript: str, start: int, end: int, text: str,
                     span_start: int | None = None, span_end: int | None = None) -> int:
        """Append one decision (inside the caller's transaction); its id."""
        return self._write(
            "INSERT INTO decisions (segment, code, verdict, coder, at, note, transcript, start,"
            ' "end", text, span_start, span_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            (segment, code, verdict, coder, at, note, transcript, start, end, text, span_start,
             span_end)).lastrowid or 0

    def coded(self) -> list[tuple[str, str]]:
        """Every (coder, transcript) marked as coded in full by that coder (none in a store read
        as it is from before such marks were kept)."""
        if self.schema < CODED_KEPT:
            return []
        return [(r[0], r[1]) for r in self._iter("SELECT coder, transcript FROM coded ORDER BY coder, transcript")]

    def mark_coded(self, coder: str, transcripts, at: str) -> int:
        """Inside the caller's transaction: mark the transcripts as coded in full by `coder`;
        those marked already are left as they were. How many were marked now."""
        with self._guard():
            before = self.db.total_changes
            self.db.executemany("INSERT OR IGNORE INTO coded (coder, transcript, at) VALUES (?, ?, ?)",
                                [(coder, t, at) for t in transcripts])
            return self.db.total_changes - before

    # ---- queries of the views (tables, html, refi, write_tables)

    def suggestion_rows(self):
        """Every suggestion (evidence included) with its segment and transcript, ordered by
        transcript and segment start, one row at a time (the corpus need not fit in memory)."""
        who, people = self._who()
        return self._iter(
            'SELECT g.segment, g.code, g.score, g.quote_start, g.quote_end, g.evidence, s.transcript, '
            f's.start, s."end", s.text, {who} '
            "FROM suggestions g JOIN segments s ON s.id = g.segment JOIN transcripts t ON t.id = s.transcript "
            f"{people} ORDER BY s.transcript, s.start")

    def suggestions_of_codes(self, codes) -> dict[tuple[str, str], sqlite3.Row]:
        """(segment, code) -> the suggestion's score, quote_start, quote_end and evidence, for `codes`."""
        return {(r["segment"], r["code"]): r for r in self._in_batches(
            "SELECT segment, code, score, quote_start, quote_end, evidence FROM suggestions WHERE code IN ({ids})",
            codes)}

    def segment_sentences(self, segment_ids) -> dict[str, tuple[int, int, str, list]]:
        """Segment id -> (start, end, text, sentences as [start, end] pairs in the transcript)."""
        return {r["id"]: (r["start"], r["end"], r["text"], json.loads(r["sentences"])) for r in self._in_batches(
            'SELECT id, start, "end", text, sentences FROM segments WHERE id IN ({ids})', segment_ids)}

    def replace_suggestions(self, codes, rows) -> int:
        """Inside the caller's transaction: the suggestions of `codes` become `rows` (segment,
        code, score, quote_start, quote_end, evidence JSON, engine), and the last run's count
        of suggestions follows; that count."""
        with self.transaction() as db:
            codes = list(codes)
            for i in range(0, len(codes), BATCH):
                batch = codes[i:i + BATCH]
                db.execute(f"DELETE FROM suggestions WHERE code IN ({','.join('?' * len(batch))})", batch)
            db.executemany("INSERT INTO suggestions (segment, code, score, quote_start, quote_end, evidence, engine) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            total = db.execute("SELECT count(*) FROM suggestions").fetchone()[0]
            db.execute("UPDATE runs SET suggestions = ? WHERE id = (SELECT max(id) FROM runs)", (total,))
        return total

    def segment_listing(self):
        """Every segment with its participant and their attributes and its turn's speaker,
        ordered by transcript and start, one row at a time."""
        who, people = self._who()
        return self._iter(
            f'SELECT s.id AS segment, s.transcript, {who}, u.speaker, s.start, '
            f's."end", s.text FROM segments s JOIN transcripts t ON t.id = s.transcript {people} '
            "LEFT JOIN turns u ON u.transcript = s.transcript AND u.idx = s.turn "
            "ORDER BY s.transcript, s.start")

    def transcript_rows(self) -> list[sqlite3.Row]:
        """Every transcript (id, participant, source, text, attributes), ordered by id."""
        return self._all("SELECT id, participant, source, text, attributes FROM transcripts ORDER BY id")

    def transcript_hashes(self) -> dict[str, str]:
        """Each transcript's source (as `project.relative` gives it) -> the sha256 of its bytes."""
        return {row["source"]: row["sha256"] for row in self._all("SELECT source, sha256 FROM transcripts")}

    def turns_of(self, transcript: str) -> list[sqlite3.Row]:
        """The turns (speaker, role, participant, start, end) of a transcript, in order."""
        return self._all('SELECT speaker, role, participant, start, "end" FROM turns WHERE transcript = ? ORDER BY idx',
                         (transcript,))


class RunWriter:
    """One `copcode code` run, written batch by batch into temporary tables of this
    connection (on disk, private to it, gone when it closes) and swapped into the store by
    `commit` in one short transaction: nothing of the run is visible until then, an error or
    a kill before it leaves the store as it was, and other commands (`tag`, `review`) are not
    locked out while the corpus is parsed."""

    _TABLES = {
        "transcripts": "id TEXT PRIMARY KEY, participant, source, sha256, text, attributes",
        "turns": 'transcript, idx, speaker, role, start, "end", participant',
        "segments": 'id, transcript, turn, start, "end", text, sentences, participant',
        "participants": "id, transcript, attributes",
        "suggestions": "segment, code, score, quote_start, quote_end, evidence, engine",
        # no index on the cache keys (hashes: random order, slow to index one by one);
        # `commit` sorts them once
        "cache": "key, suggestions",
        "keys": "key",
    }

    def __init__(self, store: Store):
        self.store, self.db = store, store.db
        self.counts = {"transcripts": 0, "segments": 0, "suggestions": 0}
        with store._guard():
            self.db.execute("PRAGMA temp_store = FILE")  # the corpus need not fit in memory
            for name, columns in self._TABLES.items():
                self.db.execute(f"DROP TABLE IF EXISTS temp.run_{name}")
                self.db.execute(f"CREATE TEMP TABLE run_{name} ({columns})")

    def sources_of(self, transcript_ids) -> dict[str, str]:
        """Transcript id -> source, for those of `transcript_ids` already in this run."""
        return dict(self.store._in_batches("SELECT id, source FROM temp.run_transcripts WHERE id IN ({ids})",
                                           transcript_ids))

    def add(self, transcripts, segments, suggestions, keys, new_cache: dict[str, list[dict]]) -> None:
        """One batch: its transcripts with their turns, segments, suggestions; `keys` the cache
        keys to keep (its segments', its questions'), `new_cache` the entries parsed in this run."""
        db = self.db
        with self._batch():
            db.executemany("INSERT INTO temp.run_transcripts VALUES (?, ?, ?, ?, ?, ?)",
                           [(t.id, t.participant, t.source, t.sha256, t.text, json.dumps(t.attributes))
                            for t in transcripts])
            db.executemany("INSERT INTO temp.run_turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(t.id, i, turn.speaker, turn.role, turn.start, turn.end, turn.participant)
                            for t in transcripts for i, turn in enumerate(t.turns)])
            of = {t.id: t for t in transcripts}
            db.executemany("INSERT INTO temp.run_segments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(s.id, s.transcript, s.turn, s.start, s.end, s.text, json.dumps(s.sentences),
                             of[s.transcript].turns[s.turn].participant or of[s.transcript].participant)
                            for s in segments])
            db.executemany("INSERT INTO temp.run_participants VALUES (?, ?, ?)",
                           [(p, t.id, json.dumps(t.attributes_of(p))) for t in transcripts
                            for p in dict.fromkeys(turn.participant or t.participant
                                                   for turn in t.turns if turn.role == "participant")])
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
        # a batch is one transaction of the temporary database: fast, and whole or absent;
        # deferred, so it takes no lock on the store itself
        with self.store._outermost("BEGIN"):
            yield

    def commit(self, store: Store, codebook, engine: str) -> None:
        """Replace transcripts, turns, segments and suggestions with this run's, in one
        transaction (or in the caller's, which then decides when it commits); decisions stay
        as they are. The cache keeps the entries of this run's `keys` only. The run's record
        holds the versions of spaCy and of its lemma table (spacy-lookups-data)."""
        from copcode import versions

        found = versions()
        with store.transaction() as db:
            db.execute("DELETE FROM cache WHERE key NOT IN (SELECT key FROM temp.run_keys)")
            db.execute("INSERT OR REPLACE INTO cache SELECT key, suggestions FROM temp.run_cache ORDER BY key")
            for table in ("suggestions", "segments", "turns", "participants", "transcripts"):
                db.execute(f"DELETE FROM {table}")
            for table in ("transcripts", "participants", "turns", "segments", "suggestions"):
                columns = ", ".join(c.split()[0] for c in self._TABLES[table].split(", "))
                db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.run_{table} ORDER BY rowid")
            db.execute("DELETE FROM shown WHERE segment NOT IN (SELECT id FROM segments)")
            db.execute(
                "INSERT INTO runs (at, codebook, codebook_sha256, engine, transcripts, segments,"
                " suggestions, spacy, lookups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now(), codebook.path, codebook.sha256, engine, self.counts["transcripts"],
                 self.counts["segments"], self.counts["suggestions"], found["spacy"],
                 found["spacy-lookups-data"]))
            self.close()

    def close(self) -> None:
        with self.store._guard():
            for name in self._TABLES:
                self.db.execute(f"DROP TABLE IF EXISTS temp.run_{name}")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def store_error(exc: sqlite3.Error, path: Path, *, readonly: bool = False) -> StoreError:
    """The store's message for a sqlite3 error: one per kind of failure, and none of them
    advises moving the store away (the team's decisions are in it)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    where = str(path)
    if code in (_BUSY, _LOCKED):
        return StoreLocked(f"the store is locked by another program ({exc})", where=where,
                           fix="close the program that has it open (another copcode command still "
                           "running, a database browser, a sync tool), or wait and run the command again.")
    if code == _FULL:
        return StoreFull(f"the disk is full: the store could not be written ({exc})", where=where,
                         fix="free some space on the disk that holds the project and run the command "
                         "again; the store is as it was before this command.")
    if code in (_CORRUPT, _NOTADB):
        return StoreDamaged(f"the store is damaged ({exc})", where=where,
                            fix="restore .copcode/copcode.db from a backup. Your decisions are in it: "
                            "don't delete it (keep a copy; `sqlite3 copcode.db .recover` can save "
                            "what is still readable).")
    if readonly and (getattr(exc, "sqlite_errorcode", 0) or 0) == _READONLY_ROLLBACK:
        return StoreReadOnly(f"a program that stopped while writing the store left a journal to roll back, "
                             f"and the store's folder is read-only ({exc})", where=where,
                             fix="make the project's .copcode folder writable and run any copcode command "
                             "once: it rolls the journal back (the last good store comes back).")
    if code == _READONLY or (code == _CANTOPEN and not readonly):
        return StoreReadOnly(f"this command writes to the store, but the store or its folder is "
                             f"read-only ({exc})", where=where,
                             fix="make the project's .copcode folder and the store writable (e.g. "
                             "chmod u+w), or run a command that only reads (quotes, matrix, status, "
                             "export).")
    return StoreError(f"the store cannot be read or written ({exc})", where=where,
                      fix="check that the disk is mounted and readable, then run the command again.")


def busy_timeout() -> float:
    """How long to wait for another program's lock: $COPCODE_BUSY_TIMEOUT seconds, else 30."""
    given = os.environ.get("COPCODE_BUSY_TIMEOUT", "").strip()
    try:
        seconds = float(given) if given else 30.0
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:  # SQLite counts milliseconds in an int: far more wraps round to no wait
        raise CopcodeError(f"COPCODE_BUSY_TIMEOUT is {given!r}, not a number of seconds up to 86400 (a day)",
                           fix="set it to a number of seconds to wait for another copcode (e.g. 60), "
                               "or unset it for 30.")
    return seconds


def open_store(path: Path, *, create: bool, readonly: bool = False, timeout: float | None = None) -> Store:
    """The store at `path`, migrated to the newest schema. With create=False a project that
    was never coded is an error that says to run `copcode code`. With readonly=True the
    store is opened read-only (`mode=ro`): nothing is written, no file is made, and it works
    in a read-only folder; a store behind the newest schema is read as it is. A store written
    by a newer copcode is refused. `timeout`: how long to wait for another program's lock, in
    seconds (default: $COPCODE_BUSY_TIMEOUT, else 30)."""
    if timeout is None:
        timeout = busy_timeout()
    new = not path.exists()
    if new:
        if not create or readonly:
            raise NotCodedYet(
                "this project has not been coded yet",
                where=str(path.parent.parent),
                fix="run `copcode code` first.",
            )
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreReadOnly(f"cannot make the store's folder ({exc.strerror})", where=str(path.parent),
                                fix="make the project folder writable.") from None
    if readonly:
        _recover(path, timeout)
    try:
        if readonly:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                 timeout=timeout)
        else:
            db = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    except sqlite3.Error as exc:
        raise store_error(exc, path, readonly=readonly) from None
    db.row_factory = sqlite3.Row
    store = Store(db, path, readonly)
    try:
        with store._guard():
            db.execute("PRAGMA foreign_keys = ON")
            if new:
                os.chmod(path, 0o600)
            _migrate(store)
    except BaseException:
        db.close()
        raise
    return store


def _recover(path: Path, timeout: float) -> None:
    """Roll back what a program that stopped mid-write (killed, a power cut) left in the
    journal, before a read-only open, which cannot: a read-write connection does it at its
    first read. In a folder copcode may not write, the read-only open then says so."""
    journal = Path(f"{path}-journal")
    if journal.is_file() and journal.stat().st_size and os.access(path.parent, os.W_OK):
        db = sqlite3.connect(path, isolation_level=None, timeout=timeout)
        try:
            with Store(db, path, readonly=True)._guard():
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            db.close()


def _leave_wal(db: sqlite3.Connection) -> None:
    """The rollback journal, not WAL: a read-only open must work in a read-only folder, and a
    WAL store cannot be read there without its -shm file. A store made in WAL mode (before
    issue 10) is switched when no other program has it open; until then it stays in WAL."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        try:
            db.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF not in (_BUSY, _LOCKED):
                raise


def _migrate(store: Store) -> None:
    """Apply the steps the store is behind (none for a read-only store); refuse a newer one.
    A store made before `user_version` was used is adopted from its `migrations` table."""
    with store.snapshot() as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").fetchone():
            version = db.execute("SELECT COALESCE(MAX(version), 0) FROM migrations").fetchone()[0]
    if version > SCHEMA:
        raise StoreTooNew(f"the store was written by a newer copcode (schema {version}; this copcode "
                          f"reads up to {SCHEMA})", where=str(store.path),
                          fix="upgrade copcode (pip install -U copcode).")
    if store.readonly:
        store.schema = version
        return
    _leave_wal(store.db)
    if version == SCHEMA:
        return
    with store.transaction() as db:
        # read again under the write lock: another copcode may have migrated meanwhile
        current = db.execute("PRAGMA user_version").fetchone()[0] or version
        for _name, script in MIGRATIONS[current:]:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA}")


class TaguetteFile:
    """A Taguette project's SQLite file (ingest.taguette reads it), untrusted: opened read-only
    (`mode=ro`: nothing is written beside it), `trusted_schema` off and `query_only`, no value
    longer than `max_length` bytes, and all its queries together stopped after `max_steps`
    progress calls of 10,000 virtual-machine steps each (`exhausted` then says so). Text comes
    back as stored, as UTF-8 bytes, for the caller to decode and check. sqlite3 errors pass
    through: they are about the file, not the store."""

    def __init__(self, path: Path, *, max_length: int, max_steps: int):
        self.db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        self.steps = 0
        self.max_steps = max_steps

        def bounded() -> int:  # a hostile schema must not keep a query running for ever
            self.steps += 1
            return int(self.steps > max_steps)

        try:
            self.db.text_factory = bytes
            self.db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_length)
            self.db.execute("PRAGMA trusted_schema = OFF")
            self.db.execute("PRAGMA query_only = ON")
            self.db.set_progress_handler(bounded, 10_000)
        except BaseException:
            self.db.close()
            raise

    @property
    def exhausted(self) -> bool:
        return self.steps > self.max_steps

    def close(self) -> None:
        self.db.close()

    def schema(self) -> list[tuple]:
        """(name, type, sql) of every table and view."""
        return self.db.execute("SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()

    def columns(self, table: str) -> list:
        """The names of a table's (stored) columns; `table` is one of the caller's own names."""
        return [row[1] for row in self.db.execute(f'PRAGMA table_info("{table}")')]

    def projects(self) -> list[tuple]:
        return self.db.execute("SELECT id, name FROM projects ORDER BY id").fetchall()

    def tags(self, project) -> list[tuple]:
        return self.db.execute("SELECT id, path, description FROM tags WHERE project_id = ? ORDER BY id",
                               (project,)).fetchall()

    def documents(self, project) -> list[tuple]:
        """(id, name, length of contents in characters, type of contents), without the contents."""
        return self.db.execute("SELECT id, name, length(contents), typeof(contents) FROM documents "
                               "WHERE project_id = ? ORDER BY id", (project,)).fetchall()

    def contents(self, document):
        return self.db.execute("SELECT contents FROM documents WHERE id = ?", (document,)).fetchone()[0]

    def tagged_highlights(self, document) -> int:
        """The (highlight, tag) pairs of a document: its codings."""
        return self.db.execute("SELECT count(*) FROM highlight_tags ht JOIN highlights h ON h.id = ht.highlight_id "
                               "WHERE h.document_id = ?", (document,)).fetchone()[0]

    def highlights(self, project):
        """(highlight id, document id, start, end, tag id or None) of the project's documents, in order."""
        return self.db.execute(
            "SELECT h.id, h.document_id, h.start_offset, h.end_offset, ht.tag_id FROM highlights h "
            "JOIN documents d ON d.id = h.document_id LEFT JOIN highlight_tags ht ON ht.highlight_id = h.id "
            "WHERE d.project_id = ? ORDER BY h.id, ht.tag_id", (project,))

    def highlight_commands(self, project):
        """(user login, payload) of the project's commands that may add a highlight, in order."""
        return self.db.execute("SELECT user_login, payload FROM commands WHERE project_id = ? "
                               "AND payload LIKE '%highlight_add%' ORDER BY id", (project,))
