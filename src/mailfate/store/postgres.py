"""PostgreSQL, for several mailfate processes on one database (psycopg 3 with a connection pool).

Writers need no lock of their own: every write is an idempotent merge (``ON CONFLICT``), rows are
written in key order so that concurrent transactions lock them in the same order, and a transaction
that still meets a deadlock or a serialization failure is tried again.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from mailfate.core.suppression import Policy
from mailfate.errors import StorageError, UnstorableData, UsageError
from mailfate.store import sql
from mailfate.store.common import SqlStore
from mailfate.store.migrate import apply_migrations

#: Attempts of a write transaction that deadlocked or failed serialization.
ATTEMPTS = 5
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


@functools.lru_cache(maxsize=512)
def _native(statement: str) -> str:
    """Our ``?`` placeholders in psycopg's ``%s`` style (a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """psycopg failures as StorageError; a value the database refuses (NUL in text, a number out of
    range, a NOT NULL or CHECK constraint) as UnstorableData, which fails only the record that carries it."""
    try:
        yield
    except (psycopg.DataError, pg_errors.NotNullViolation, pg_errors.CheckViolation, UnicodeEncodeError) as exc:
        raise UnstorableData(f"{action}: {exc}".strip()) from exc
    except (psycopg.Error, PoolTimeout) as exc:
        raise StorageError(f"{action}: {exc}".strip()) from exc


class _Transaction:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(_native(statement), args)
            return cur.fetchall() if cur.description else []

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        with self.conn.cursor() as cur:
            cur.executemany(_native(statement), rows)
            return cur.rowcount


class PostgresStore(SqlStore):
    dialect = sql.POSTGRES

    def __init__(self, url: str, max_connections: int = 8, policy: Policy | None = None) -> None:
        self.url = url
        self.policy = policy or Policy()
        with _storage_errors("cannot connect to PostgreSQL"):
            self._pool = ConnectionPool(
                url, min_size=1, max_size=max_connections, open=False, timeout=10, kwargs={"autocommit": True}
            )
            self._pool.open(wait=True, timeout=10)
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

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
                return super().write(batch)
            except StorageError as exc:
                if not isinstance(exc.__cause__, _RETRYABLE) or attempt == ATTEMPTS:
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def _migrate(self) -> None:
        with self._transaction() as tx:
            # Several processes may start at once: one migrates, the others wait, then find it done.
            tx.execute("SELECT pg_advisory_xact_lock(7346112001)")
            apply_migrations(tx, "postgres", "now()::text", self._after_migration)

    def close(self) -> None:
        self._pool.close()
