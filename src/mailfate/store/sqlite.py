"""The embedded default: one SQLite file in WAL mode.

One writer connection at a time, across threads and processes; readers get their own connections per
thread, which WAL lets run beside the writer. ``synchronous=FULL`` so that a committed ingest survives
a power cut, not only a crash of this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mailfate.core.suppression import Policy
from mailfate.errors import SchemaError, StorageBusy, StorageError, UnstorableData, UsageError
from mailfate.store import sql
from mailfate.store.common import SqlStore
from mailfate.store.migrate import CHANGER, READER, apply_migrations, check_schema, migrate_command


def sqlite_path(url: str) -> str:
    path = url.removeprefix("sqlite://")
    if not path.startswith("/") or path == "/":
        raise UsageError(f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute.db")
    path = path[1:]  # sqlite:///x -> "x", sqlite:////abs -> "/abs"
    if path == ":memory:":
        raise UsageError("an in-memory SQLite database cannot be shared between connections; use a file")
    return path


#: How long a server's write waits for another writer (maybe another process, such as a bulk
#: ``ingest``) before it gives up with StorageBusy: a 503, which SNS retries. Bulk loads wait longer.
WRITE_WAIT = 5.0
BULK_WRITE_WAIT = 60.0


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Translate sqlite3 failures into StorageError, which the edges map to exit codes and 503s; a value
    the database refuses (a constraint, an integer beyond 64 bits, text that is not Unicode) into
    UnstorableData, which fails only the record that carries it."""
    try:
        yield
    except (sqlite3.DataError, OverflowError, UnicodeEncodeError) as exc:
        raise UnstorableData(f"{action}: {exc}") from exc
    except sqlite3.IntegrityError as exc:
        # A constraint on a value is the value's fault; anything else (a trigger, say) is not.
        if str(exc).startswith(("NOT NULL constraint", "CHECK constraint")):
            raise UnstorableData(f"{action}: {exc}") from exc
        raise StorageError(f"{action}: {exc}") from exc
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StorageBusy(f"{action}: the database is locked by another writer") from exc
        raise StorageError(f"{action}: {exc}") from exc
    except sqlite3.Error as exc:
        raise StorageError(f"{action}: {exc}") from exc


class _WriterLock:
    """One writer at a time, across threads and across processes (``serve --workers N``).

    SQLite would serialise writers by itself, but a writer that finds the database locked sleeps in
    steps of up to 100 ms before it tries again; a kernel file lock wakes the next writer at once. The
    wait is bounded: past ``wait`` seconds the write fails with StorageBusy rather than hang.
    """

    def __init__(self, path: str, wait: float) -> None:
        self._thread_lock = threading.Lock()
        self._file = open(f"{path}-writer.lock", "a")  # noqa: SIM115 (held for the store's lifetime)
        self.wait = wait
        self._holder: int | None = None  # the thread a lock taken by hold_for() belongs to

    def handed_here(self) -> bool:
        """Whether :meth:`hold_for` handed the lock to the calling thread."""
        return self._holder == threading.get_ident()

    def __enter__(self) -> None:
        if self.handed_here():
            return  # its writes go through until release()
        deadline = time.monotonic() + self.wait
        if not self._thread_lock.acquire(timeout=self.wait):
            raise StorageBusy("cannot store: another write of this process took too long")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._wait_for_file(deadline)
        except BaseException:
            self._thread_lock.release()
            raise

    def _wait_for_file(self, deadline: float) -> None:
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._thread_lock.release()
                    raise StorageBusy("cannot store: another process held the database too long") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)

    def __exit__(self, *exc: object) -> None:
        if self.handed_here():
            return
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()

    def hold_for(self, thread: int) -> None:
        """Take the lock, waiting as a write would, and hand it to ``thread`` until :meth:`release`."""
        self.__enter__()
        self._holder = thread

    def release(self) -> None:
        """Give up a lock taken by :meth:`hold_for`, from any thread."""
        self._holder = None
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        self._file.close()


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(statement, args).fetchall()

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        return self.conn.executemany(statement, rows).rowcount


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[_Transaction]:
    """A write inside a held transaction (see :meth:`SQLiteStore.hold_writer`): undone alone if it fails."""
    if not conn.in_transaction:  # SQLite rolled the hold back (a full disk): never begin one here
        raise StorageError("cannot store: the batch's transaction was rolled back")
    conn.execute("SAVEPOINT write")
    try:
        yield _Transaction(conn)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO write")
            conn.execute("RELEASE write")
        raise
    conn.execute("RELEASE write")


class SQLiteStore(SqlStore):
    dialect = sql.SQLITE

    def __init__(
        self, url: str, bulk: bool = False, policy: Policy | None = None, migrate: bool = True, create: bool = True
    ) -> None:
        self.url = url
        self.bulk = bulk
        self.policy = policy or Policy()
        self.path = sqlite_path(url)
        self._local = threading.local()
        self._journals_in_memory = False  # see hold_writer
        with _storage_errors(f"cannot open {self.path}"):
            parent = Path(self.path).parent
            if not parent.exists():
                raise StorageError(f"cannot open {self.path}: folder {parent} does not exist")
            if not (migrate and create):
                # Before anything below creates the file, its WAL or its lock.
                self._check_schema(upgrades=migrate)
            self._write_lock = _WriterLock(self.path, BULK_WRITE_WAIT if bulk else WRITE_WAIT)
            try:
                self._writer = self._connect()
                self._writer.execute("PRAGMA journal_mode=WAL")
                if migrate:
                    self._migrate()
            except BaseException:
                self.close()
                raise

    def _connect(self) -> sqlite3.Connection:
        wait = BULK_WRITE_WAIT if self.bulk else WRITE_WAIT  # another program holding SQLite's own lock
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=wait)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the hot index pages of a large file in memory
        # Checkpoint every ~40 MB of WAL (SQLite's default is 4 MB): each checkpoint costs an fsync of the
        # database. Bulk loads go further, ~200 MB: a page changed by many transactions is then copied
        # once. The server checkpoints on a thread of its own instead (checkpoint_aside).
        conn.execute(f"PRAGMA wal_autocheckpoint={50_000 if self.bulk else 10_000}")
        conn.execute("PRAGMA journal_size_limit=67108864")  # the WAL file shrinks back after a checkpoint
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with _storage_errors("cannot read"):
                return self._reader().execute(statement, args).fetchall()
        except UnstorableData as exc:  # a looked-up value no row can hold: the caller's mistake
            raise UsageError("a value asked for cannot be stored, so nothing holds it") from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        with _storage_errors("cannot store"), self._write_lock:
            conn = self._writer
            if self._write_lock.handed_here():
                with _savepoint(conn) as tx:
                    yield tx
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def checkpoint_aside(self) -> None:
        """From now on this store's writes never checkpoint: the caller runs :meth:`checkpoint` often, on
        a thread of its own (the server). A checkpoint that a commit triggers holds that commit, and with
        it the writer lock of every process, while it copies the log into the file and waits for the
        disk: 100 ms and more, every second or so under load. A setting of this connection: it waits for
        no lock (another process's long write must not keep a server from starting)."""
        with _storage_errors("cannot store"):
            self._writer.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self) -> None:
        """Copy what is committed in the log into the file, beside the writers (PASSIVE: it waits for no
        lock and blocks no reader or writer); another process's checkpoint at work makes this one a no-op."""
        conn: sqlite3.Connection | None = getattr(self._local, "checkpoints", None)
        if conn is None:
            conn = self._local.checkpoints = self._connect()
        try:
            with _storage_errors("cannot checkpoint"):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except StorageBusy:
            pass

    def hold_writer(self, thread: int) -> None:
        """Wait until no other writer holds the database, then keep it for the writes of ``thread``
        until :meth:`release_writer`. A caller that gathers a batch of writes gathers what arrives
        meanwhile, then writes it without waiting again: the server's event loop, so that its writes do
        not fight another thread for the GIL at every SQLite call. StorageBusy past the wait a write
        itself would allow.

        The hold is one transaction, begun here (BEGIN IMMEDIATE: another program holding SQLite's lock
        makes this thread wait, never ``thread``) and ended by :meth:`release_writer`; each write of
        ``thread`` is a savepoint in it, undone alone when it fails. Nothing of the hold is durable
        before ``release_writer(commit=True)`` returns."""
        self._write_lock.hold_for(thread)
        try:
            with _storage_errors("cannot store"):
                if not self._journals_in_memory:
                    # A savepoint keeps the pages it changes in a journal of its own, by default a temporary
                    # file: one made and written per batch, on the event loop, failing when the temporary
                    # directory is full. A batch's few hundred kilobytes belong in memory. Set once the
                    # migrations are done: their index builds may sort more than memory should hold.
                    self._writer.execute("PRAGMA temp_store=MEMORY")
                    self._journals_in_memory = True
                self._writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._write_lock.release()
            raise

    def release_writer(self, commit: bool) -> None:
        """End the hold: commit its writes (StorageError when that fails, or when SQLite has rolled the
        transaction back, as it does on a full disk) or roll them back; the locks go either way. The
        commit waits for the disk, and sometimes copies the log into the file: call it off the loop."""
        conn = self._writer
        try:
            with _storage_errors("cannot store"):
                if commit:
                    if not conn.in_transaction:
                        raise StorageError("cannot store: the batch's transaction was rolled back")
                    conn.execute("COMMIT")
        finally:
            try:
                if conn.in_transaction:  # rolled back, or a commit that failed
                    with _storage_errors("cannot store"):
                        conn.execute("ROLLBACK")
            finally:
                self._write_lock.release()

    @contextlib.contextmanager
    def _erasing(self) -> Iterator[_Transaction]:
        """Erasing overwrites what it deletes with zeros (secure_delete), then copies the log into the
        file and empties it: no page of the file or of its WAL keeps an old copy of the address."""
        try:
            with self._transaction() as tx:
                tx.execute("PRAGMA secure_delete=ON")
                yield tx
        finally:
            with _storage_errors("cannot store"), self._write_lock:
                self._writer.execute("PRAGMA secure_delete=OFF")
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def _pruning(self) -> Iterator[bool]:
        # Every batch of a pruning holds the writer lock, which takes turns across processes already.
        yield True

    def _migrate(self) -> None:
        with self._transaction() as tx:
            apply_migrations(tx, "sqlite", "datetime('now')", self._after_migration, self.path)
            self._after_migrations(tx)

    def _check_schema(self, upgrades: bool) -> None:
        """Raise SchemaError unless the file exists and holds mailfate's current schema (with ``upgrades``,
        any mailfate schema: the caller migrates it); create nothing."""
        if not Path(self.path).is_file():
            raise SchemaError(
                f"no mailfate database at {self.path} (no such file), and {CHANGER if upgrades else READER} "
                f"creates none: check --db, or create it with: {migrate_command(self.url)}"
            )
        applied: list[str] | None = None
        try:
            conn = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, timeout=WRITE_WAIT)
            try:
                if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchall():
                    applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
            finally:
                conn.close()
        except sqlite3.OperationalError:
            raise  # locked, unreadable: a storage error, said as such by _storage_errors
        except sqlite3.DatabaseError as exc:  # "file is not a database"
            raise SchemaError(f"{self.path} is not a mailfate database: {exc}") from exc
        check_schema(applied, "sqlite", self.path, self.url, upgrades=upgrades)

    def close(self) -> None:
        writer = getattr(self, "_writer", None)  # None when opening failed half way
        if writer is not None:
            writer.close()
        self._write_lock.close()
        for name in ("conn", "checkpoints"):  # this thread's (the others' go with their threads)
            conn = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)
