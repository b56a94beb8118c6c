"""The embedded default: one SQLite file in WAL mode.

One writer connection, serialised by a lock and ``BEGIN IMMEDIATE``; readers get their own
connections per thread, which WAL lets run beside the writer. ``synchronous=FULL`` so that a
committed ingest survives a power cut, not only a crash of this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import StorageError, UsageError
from ..model import Record, Rejected, Status
from ..stats import ALL_COUNTS, Figures, Stats, StatsQuery, count_columns
from ..suppression import Action, FateFacts
from ..views import (
    Fate,
    IngestResult,
    MessagePage,
    MessageSummary,
    MessageView,
    QuarantineItem,
    RecipientMessage,
    RecipientView,
    StoredEvent,
)
from . import sql
from .listing import MessageQuery, encode_cursor

_RECIPIENT_UPSERT = sql.recipient_upsert(sql.SQLITE)
_MESSAGE_UPSERT = sql.message_upsert(sql.SQLITE)
_EVENT_INSERT = (
    f"INSERT INTO events ({', '.join(sql.EVENT_COLUMNS)}) VALUES ({sql.SQLITE.params(len(sql.EVENT_COLUMNS))}) "
    "ON CONFLICT (message_id, event_key) DO NOTHING"
)
_RECORD_INSERT = "INSERT INTO records (record_key, transport, kind, received_at, note, body) VALUES (?, ?, ?, ?, ?, ?)"
_QUARANTINE_INSERT = "INSERT INTO quarantine (received_at, transport, location, reason, body) VALUES (?, ?, ?, ?, ?)"
_SUMMARY = ", ".join(sql.SUMMARY_COLUMNS)
_SUPPRESSION_CANDIDATES = (
    "SELECT address FROM recipients WHERE complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce "
    "UNION SELECT address FROM suppression_actions"
)
_SUPPRESSION_FATES = (
    "SELECT address, message_id, status, bounce, complaint_info, delivered_at FROM recipients "
    "WHERE address IN ({marks}) "
    "AND (complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce OR delivered_at IS NOT NULL)"
)
_TAG_FILTER = "EXISTS (SELECT 1 FROM json_each(m.tags) t, json_each(t.value) v WHERE t.key = ? AND v.value = ?)"
# SQLite allows 32766 host parameters since 3.32; stay well under it.
_KEY_CHUNK = 5000


def sqlite_path(url: str) -> str:
    path = url.removeprefix("sqlite://")
    if not path.startswith("/") or path == "/":
        raise UsageError(f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute.db")
    path = path[1:]  # sqlite:///x -> "x", sqlite:////abs -> "/abs"
    if path == ":memory:":
        raise UsageError("an in-memory SQLite database cannot be shared between connections; use a file")
    return path


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Translate sqlite3 failures into StorageError, which the edges map to exit codes and 503s."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"{action}: {exc}") from exc


class _WriterLock:
    """One writer at a time, across threads and across processes (``serve --workers N``).

    SQLite would serialise writers by itself, but a writer that finds the database locked sleeps in
    steps of up to 100 ms before it tries again; a kernel file lock wakes the next writer at once.
    """

    def __init__(self, path: str) -> None:
        self._thread_lock = threading.Lock()
        self._file = open(f"{path}-writer.lock", "a")  # noqa: SIM115 (held for the store's lifetime)

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        self._file.close()


class SQLiteStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._local = threading.local()
        with _storage_errors(f"cannot open {self.path}"):
            parent = Path(self.path).parent
            if not parent.exists():
                raise StorageError(f"cannot open {self.path}: folder {parent} does not exist")
            self._write_lock = _WriterLock(self.path)
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the hot index pages of a large file in memory
        # Checkpoint every ~40 MB of WAL rather than every 4 MB: each checkpoint costs an fsync of the database.
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT)")
                done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
                for name, script in migrations("sqlite"):
                    if name in done:
                        continue
                    for statement in _statements(script):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (name,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- writing --------------------------------------------------------------------------------

    def ingest(self, items: Sequence[Record | Rejected], received_at: str) -> IngestResult:
        return self.write(sql.prepare(items, received_at))

    def write(self, batch: sql.PreparedBatch) -> IngestResult:
        """Commit a prepared batch in one transaction: all of it, or (raising StorageError) none of it."""
        with _storage_errors("cannot store records"), self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = self._write(conn, batch)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return result

    def _write(self, conn: sqlite3.Connection, batch: sql.PreparedBatch) -> IngestResult:
        result = IngestResult()
        seen = _existing_keys(conn, [k for k in batch.keys if k is not None])
        new: set[str] = set()
        events_of_duplicates = 0
        for key, event_count in zip(batch.keys, batch.event_counts, strict=True):
            if key is None:
                result.quarantined += 1
                result.outcomes.append("quarantined")
            elif key in seen or key in new:
                result.duplicates += 1
                result.outcomes.append("duplicate")
                events_of_duplicates += event_count
            else:
                new.add(key)
                result.outcomes.append("stored")
        records = []
        for row in batch.records:
            if row[0] in new:  # the first row of each new key
                records.append(row)
                new.discard(row[0])
        result.records = len(records)
        result.notes = sum(1 for row in records if row[2] != "event")
        if batch.quarantine:
            conn.executemany(_QUARANTINE_INSERT, batch.quarantine)
        if records:
            conn.executemany(_RECORD_INSERT, records)
        if batch.messages:
            conn.executemany(_MESSAGE_UPSERT, batch.messages)
        if batch.events:
            inserted = conn.executemany(_EVENT_INSERT, batch.events).rowcount
            result.events = inserted
            result.duplicate_events = len(batch.events) - inserted - events_of_duplicates
        if batch.recipients:
            conn.executemany(_RECIPIENT_UPSERT, batch.recipients)
        return result

    # -- reading --------------------------------------------------------------------------------

    def message(self, message_id: str) -> MessageView | None:
        conn = self._reader()
        with _storage_errors("cannot read message"):
            row = conn.execute(
                "SELECT message_id, source, from_addresses, subject, sent_at, destination, tags, "
                "configuration_set, sending_account FROM messages WHERE message_id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            fates = [
                Fate(message_id, r[0], sql.summary_from_row(r[1:]))
                for r in conn.execute(
                    f"SELECT address, {_SUMMARY} FROM recipients WHERE message_id = ? ORDER BY address",
                    (message_id,),
                )
            ]
            events = [
                StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])
                for r in conn.execute(
                    "SELECT kind, recipient, timestamp, received_at, transport, details, record_key "
                    "FROM events WHERE message_id = ? ORDER BY timestamp, kind, recipient",
                    (message_id,),
                )
            ]
        return MessageView(
            message_id=row[0],
            source=row[1],
            from_=json.loads(row[2] or "[]"),
            subject=row[3],
            sent_at=row[4],
            destination=json.loads(row[5] or "[]"),
            tags=json.loads(row[6] or "{}"),
            configuration_set=row[7],
            sending_account=row[8],
            recipients=fates,
            events=events,
        )

    def messages(self, query: MessageQuery) -> MessagePage:
        statement, args = query.sql(sql.SQLITE, _TAG_FILTER)
        conn = self._reader()
        with _storage_errors("cannot list messages"):
            rows = conn.execute(statement, args).fetchall()
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            counts: dict[str, dict[str, int]] = {r[0]: {} for r in rows}
            if rows:
                marks = ", ".join("?" * len(rows))
                for message_id, status, count in conn.execute(
                    f"SELECT message_id, status, count(*) FROM recipients WHERE message_id IN ({marks}) "
                    "GROUP BY message_id, status",
                    list(counts),
                ):
                    counts[message_id][status] = count
        summaries = [
            MessageSummary(r[0], Status(r[1]), counts[r[0]], r[2], r[3], r[4] or None, json.loads(r[5] or "{}"))
            for r in rows
        ]
        cursor = encode_cursor(rows[-1][4] or "", rows[-1][0]) if more else None
        return MessagePage(summaries, cursor)

    def recipient(self, address: str, limit: int = 100) -> RecipientView:
        conn = self._reader()
        with _storage_errors("cannot read recipient"):
            rows = conn.execute(
                f"SELECT r.message_id, m.subject, m.sent_at, {', '.join('r.' + c for c in sql.SUMMARY_COLUMNS)} "
                "FROM recipients r LEFT JOIN messages m ON m.message_id = r.message_id "
                "WHERE r.address = ? ORDER BY m.sent_at DESC, r.message_id DESC LIMIT ?",
                (address, limit),
            ).fetchall()
        messages = [RecipientMessage(Fate(r[0], address, sql.summary_from_row(r[3:])), r[1], r[2]) for r in rows]
        return RecipientView(address=address, messages=messages)

    def suppression_facts(
        self, addresses: Sequence[str] | None = None
    ) -> dict[str, tuple[list[FateFacts], list[Action]]]:
        conn = self._reader()
        with _storage_errors("cannot read suppressions"):
            if addresses is None:
                addresses = [r[0] for r in conn.execute(_SUPPRESSION_CANDIDATES)]
            facts: dict[str, tuple[list[FateFacts], list[Action]]] = {a: ([], []) for a in addresses}
            for start in range(0, len(addresses), _KEY_CHUNK):
                chunk = list(addresses[start : start + _KEY_CHUNK])
                marks = ", ".join("?" * len(chunk))
                for address, *row in conn.execute(_SUPPRESSION_FATES.format(marks=marks), chunk):
                    facts[address][0].append(FateFacts.from_row(*row))
                for address, action, at, reason in conn.execute(
                    f"SELECT address, action, at, reason FROM suppression_actions WHERE address IN ({marks})", chunk
                ):
                    facts[address][1].append(Action(action, at, reason))
        return facts

    def add_action(self, address: str, action: Action) -> None:
        """Record a suppression added or lifted by hand (idempotent)."""
        with _storage_errors("cannot record the suppression"), self._write_lock:
            self._writer.execute(
                "INSERT INTO suppression_actions (address, action, at, reason) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address, action, at) DO NOTHING",
                (address, action.action, action.at, action.reason),
            )

    def stats(self, query: StatsQuery) -> Stats:
        columns = count_columns(
            "r.address LIKE '%@simulator.amazonses.com'",
            "r.bounce IS NOT NULL AND json_extract(r.bounce, '$.subtype') = 'OnAccountSuppressionList'",
        )
        window = (
            "FROM recipients r JOIN messages m ON m.message_id = r.message_id WHERE m.sent_at >= ? AND m.sent_at < ?"
        )
        args: list[Any] = [query.since, query.until]
        conn = self._reader()
        with _storage_errors("cannot compute stats"):
            totals = conn.execute(f"SELECT {columns} {window}", args).fetchone()
            if query.tag is not None:
                grouped = conn.execute(
                    f"SELECT v.value AS key, {columns} FROM recipients r "
                    "JOIN messages m ON m.message_id = r.message_id, json_each(m.tags) t, json_each(t.value) v "
                    "WHERE m.sent_at >= ? AND m.sent_at < ? AND t.key = ? GROUP BY v.value ORDER BY v.value",
                    [*args, query.tag],
                ).fetchall()
            elif query.group_by is not None:
                key = {"configuration_set": "m.configuration_set", "sending_domain": "m.from_domain"}[query.group_by]
                grouped = conn.execute(
                    f"SELECT {key} AS key, {columns} {window} GROUP BY {key} ORDER BY {key}", args
                ).fetchall()
            else:
                grouped = []
        return Stats(
            query,
            Figures(None, dict(zip(ALL_COUNTS, totals, strict=True))),
            [Figures(row[0], dict(zip(ALL_COUNTS, row[1:], strict=True))) for row in grouped],
        )

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]:
        with _storage_errors("cannot read quarantine"):
            rows = (
                self._reader()
                .execute(
                    "SELECT id, received_at, transport, location, reason, body FROM quarantine "
                    "ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [QuarantineItem(*r) for r in rows]

    def ping(self) -> None:
        with _storage_errors("storage unreachable"):
            self._reader().execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()

    def close(self) -> None:
        self._writer.close()
        self._write_lock.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _existing_keys(conn: sqlite3.Connection, keys: list[str]) -> set[str]:
    """Which of these record keys are stored already (one query per chunk, not one per record)."""
    found: set[str] = set()
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(f"SELECT record_key FROM records WHERE record_key IN ({marks})", chunk))
    return found


def migrations(dialect: str) -> list[tuple[str, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("mailfate.store").joinpath("migrations", dialect)
    scripts = sorted((entry.name, entry.read_text()) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), text) for name, text in scripts]


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
