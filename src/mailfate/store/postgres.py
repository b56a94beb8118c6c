"""PostgreSQL, for several mailfate processes on one database (psycopg 3 with a connection pool).

Writers need no lock of their own: every write is an idempotent merge (``ON CONFLICT``), rows are
written in key order so that concurrent transactions lock them in the same order, and a transaction
that still meets a deadlock or a serialization failure is tried again.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql
from psycopg_pool import ConnectionPool, PoolTimeout

from mailfate.core.suppression import Policy
from mailfate.errors import StorageError, UnstorableData, UsageError
from mailfate.store import sql
from mailfate.store.common import SqlStore
from mailfate.store.migrate import apply_migrations, check_schema

#: Attempts of a write transaction that deadlocked or failed serialization.
ATTEMPTS = 5
#: Seconds the first connection may take (unless the URL sets connect_timeout): an unreachable server
#: is reported now, in one line, rather than after the pool has retried for its whole timeout.
CONNECT_TIMEOUT = 5
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
#: Records written by one store before it analyzes tables PostgreSQL has never analyzed.
ANALYZE_AFTER = 1000
#: The tables the write path looks up by key.
_KEYED_TABLES = (
    "records", "messages", "message_counts", "recipients", "events", "search_terms", "suppression_state",
    "domain_days", "changes",
)  # fmt: skip


@functools.lru_cache(maxsize=512)
def _native(statement: str) -> str:
    """Our ``?`` placeholders in psycopg's ``%s`` style (a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(([^()]*)\)(.*)", re.S)


@functools.lru_cache(maxsize=64)
def _one_statement(statement: str) -> tuple[str, tuple[str, ...]] | None:
    """``INSERT INTO t (columns) VALUES (?, ...) ...`` as one statement for many rows, which arrive as a
    JSON array of objects read by the table's own row type, in their order; and the columns that the
    objects name. psycopg's executemany costs about 15 us of Python per row, and a notification writes
    about 15 rows (its record, events, recipients, search terms, changes): per statement instead of per
    row, the writer's time per notification falls to a fraction. None when the statement is not one."""
    match = _PLAIN_INSERT.fullmatch(statement)
    if match is None:
        return None
    table, listed, values, rest = match.groups()
    columns = [c.strip() for c in listed.split(",")]
    items = [v.strip() for v in values.split(",")]
    if len(items) != len(columns) or any("?" in item and item != "?" for item in items):
        return None
    names = tuple(c for c, item in zip(columns, items, strict=True) if item == "?")
    chosen = ", ".join(f"x.{c}" if item == "?" else item for c, item in zip(columns, items, strict=True))
    one = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} "
        f"FROM json_populate_recordset(NULL::{table}, ?::json) WITH ORDINALITY AS x ORDER BY x.ordinality{rest}"
    )
    return _native(one), names


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """psycopg failures as StorageError; a value the database refuses (NUL in text, a number out of
    range, a NOT NULL or CHECK constraint) as UnstorableData, which fails only the record that carries it."""
    try:
        yield
    except (psycopg.DataError, pg_errors.NotNullViolation, pg_errors.CheckViolation, UnicodeEncodeError) as exc:
        raise UnstorableData(f"{action}: {exc}".strip()) from exc
    except (psycopg.Error, PoolTimeout) as exc:
        reason = "; ".join(" ".join(line.split()) for line in str(exc).splitlines() if line.strip())  # one line
        raise StorageError(f"{action}: {reason}".strip()) from exc


def _connect(url: str) -> psycopg.Connection[Any]:
    timeout = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT}
    return psycopg.connect(url, autocommit=True, **timeout)  # type: ignore[arg-type]


def _applied(conn: psycopg.Connection[Any]) -> list[str] | None:
    """The migrations recorded in the database, or None when it has no schema_migrations table."""
    ((table,),) = conn.execute("SELECT to_regclass('schema_migrations')").fetchall()
    if table is None:
        return None
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()]


class _Transaction:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(_native(statement), args)
            return cur.fetchall() if cur.description else []

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        with self.conn.cursor() as cur:
            single = _one_statement(statement) if len(rows) > 1 else None
            if single is not None:
                one, names = single
                try:
                    document = orjson.dumps([dict(zip(names, row, strict=True)) for row in rows])
                except TypeError:  # bytes, integers beyond 64 bits, text that is not Unicode: row by row
                    pass
                else:
                    cur.execute(one, (document.decode(),))
                    return cur.rowcount
            cur.executemany(_native(statement), rows)
            return cur.rowcount


class PostgresStore(SqlStore):
    dialect = sql.POSTGRES

    def __init__(
        self,
        url: str,
        max_connections: int = 8,
        policy: Policy | None = None,
        migrate: bool = True,
        create: bool = True,
    ) -> None:
        self.url = url
        self.policy = policy or Policy()
        self._written = 0  # records this store has written: see _analyze_new_tables
        self._analyzed = False
        # One plain connection first: it fails at once with the server's own reason (refused, no such
        # database or role), where the pool would log a warning per retry until its timeout.
        with _storage_errors("cannot connect to PostgreSQL"), _connect(url) as first:
            where = f"PostgreSQL database {first.info.dbname} on {first.info.host}:{first.info.port}"
            if not (migrate and create):
                check_schema(_applied(first), "postgres", where, url, upgrades=migrate)
            if migrate:
                with first.transaction():
                    self._migrate(_Transaction(first), where)
        with _storage_errors("cannot connect to PostgreSQL"):
            self._pool = ConnectionPool(
                url, min_size=1, max_size=max_connections, open=False, timeout=10, kwargs={"autocommit": True}
            )
            self._pool.open(wait=True, timeout=10)

    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with _storage_errors("cannot read"), self._pool.connection() as conn, conn.cursor() as cur:
                cur.execute(_native(statement), args)
                return cur.fetchall()
        except UnstorableData as exc:  # a looked-up value no row can hold (NUL): the caller's mistake
            raise UsageError("a value asked for cannot be stored, so nothing holds it (NUL?)") from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        with _storage_errors("cannot store"), self._pool.connection() as conn, conn.transaction():
            yield _Transaction(conn)

    def write(self, batch: sql.PreparedBatch) -> Any:
        # Retried here rather than in _transaction: a generator context manager cannot run its block twice.
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = super().write(batch)
            except StorageError as exc:
                if not isinstance(exc.__cause__, _RETRYABLE) or attempt == ATTEMPTS:
                    raise
                time.sleep(0.01 * attempt)
                continue
            self._written += result.records
            if self._written >= ANALYZE_AFTER and not self._analyzed:
                self._analyzed = True
                # Off the write path: an ANALYZE waits for a VACUUM or another ANALYZE of the same table.
                threading.Thread(target=self._analyze_new_tables, name="mailfate-analyze", daemon=True).start()
            return result
        raise AssertionError("unreachable")

    def _analyze_new_tables(self) -> None:
        """ANALYZE the tables the write path reads by key, if PostgreSQL never has (a thread of its own).

        psycopg prepares a statement run five times, and PostgreSQL then keeps one generic plan made
        from the statistics of that moment. On a new database they say the tables are empty, so every
        lookup by key stays a sequential scan while the tables grow, until autovacuum first analyzes
        them, a minute or more later (auto_explain: 1-3 ms per lookup of 16 keys; bench/http_ingest.py
        on PostgreSQL 906/s before). Statistics invalidate the plans. A table analyzed before is left to
        autovacuum; a table locked by a VACUUM is skipped after a second; a failure costs only speed."""
        try:
            with _connect(self.url) as conn:
                conn.execute("SET lock_timeout = '1s'")
                rows = conn.execute(
                    "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
                    "AND schemaname = current_schema() AND last_analyze IS NULL AND last_autoanalyze IS NULL",
                    (list(_KEYED_TABLES),),
                ).fetchall()
                for (name,) in sorted(rows):
                    with contextlib.suppress(pg_errors.LockNotAvailable):
                        conn.execute(pg_sql.SQL("ANALYZE {}").format(pg_sql.Identifier(name)))
        except psycopg.Error:
            pass  # not analyzed: autovacuum will, later

    @contextlib.contextmanager
    def _pruning(self) -> Iterator[bool]:
        """One process prunes at a time: a session lock, tried, never waited for (another process is
        doing the same work), held on a connection of its own while the batches commit on others."""
        with _storage_errors("cannot prune"), self._pool.connection() as conn:
            ((mine,),) = conn.execute("SELECT pg_try_advisory_lock(7346112010)").fetchall()
            try:
                yield bool(mine)
            finally:
                if mine:
                    conn.execute("SELECT pg_advisory_unlock(7346112010)")

    def _migrate(self, tx: _Transaction, where: str) -> None:
        # Several processes may start at once: one migrates, the others wait, then find it done.
        tx.execute("SELECT pg_advisory_xact_lock(7346112001)")
        apply_migrations(tx, "postgres", "now()::text", self._after_migration, where)
        self._after_migrations(tx)

    def close(self) -> None:
        self._pool.close()
