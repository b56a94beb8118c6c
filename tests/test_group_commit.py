"""Group commit on SQLite with another writer (serve --workers 2): what arrives while the other process
commits joins the next batch, and a writer held up too long fails its batch as a write would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mailfate.core.model import Record
from mailfate.errors import StorageBusy
from mailfate.sources.parse import parse_record
from mailfate.store import open_store
from mailfate.store.sqlite import SQLiteStore
from mailfate.testing import event, sns_envelope
from mailfate.web.commit import CommitQueue


def record(n: int) -> Record:
    value = event("Delivery", f"group-{n}", [f"g{n}@example.com"], "2026-11-20T10:00:00.000Z")
    return parse_record(value, json.dumps(value))


class CountingStore(SQLiteStore):
    """The real store, counting the transactions its ingest commits."""

    batches: list[int]

    def ingest(self, items: Any, received_at: str) -> Any:
        self.batches.append(len(items))
        return super().ingest(items, received_at)


def test_requests_arriving_during_another_writers_commit_join_one_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/group.db"
    store = CountingStore(url)
    store.batches = []
    other = open_store(url)  # another process, in effect: its own lock on the file
    assert isinstance(other, SQLiteStore)
    queue = CommitQueue(store)

    async def run() -> list[list[str]]:
        other._write_lock.__enter__()  # the other writer is committing
        try:
            first = asyncio.ensure_future(queue.submit([record(0)]))
            await asyncio.sleep(0.05)
            rest = [asyncio.ensure_future(queue.submit([record(n)])) for n in range(1, 5)]
            await asyncio.sleep(0.05)
            assert not first.done()  # nothing is acknowledged before it is written
        finally:
            other._write_lock.__exit__()
        return await asyncio.wait_for(asyncio.gather(first, *rest), timeout=10)

    try:
        assert asyncio.run(run()) == [["stored"]] * 5
        assert store.batches == [5]  # one transaction: the first request did not go alone, then the rest
        with sqlite3.connect(tmp_path / "group.db") as conn:
            assert conn.execute("SELECT count(*) FROM records").fetchone() == (5,)
    finally:
        queue.close()
        store.close()
        other.close()


def test_a_writer_held_up_too_long_fails_its_batch_in_bounded_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/busy.db"
    store = open_store(url)
    other = open_store(url)
    assert isinstance(store, SQLiteStore)
    assert isinstance(other, SQLiteStore)
    store._write_lock.wait = 0.3
    queue = CommitQueue(store)

    async def run() -> None:
        await queue.submit([record(0)])

    other._write_lock.__enter__()
    try:
        started = time.monotonic()
        with pytest.raises(StorageBusy):
            asyncio.run(run())
        assert time.monotonic() - started < 2  # one wait, not one for the probe and another for the write
    finally:
        other._write_lock.__exit__()
        queue.close()
        store.close()
        other.close()


def _sns_record(message_id: str, recipient: str) -> Record:
    value = sns_envelope(
        event("Delivery", f"held-{recipient}", [recipient], "2026-11-20T10:00:00.000Z"), message_id=message_id
    )
    text = json.dumps(value)
    return parse_record(json.loads(text), text, "sns")


def test_a_batch_written_again_stays_in_the_held_transaction(tmp_path: Path) -> None:
    """A record whose key is taken by other content makes the store write the batch again. On the event
    loop that is a savepoint of the transaction the writer thread began, never a BEGIN, which would wait
    for any other program holding SQLite's lock (the event loop must never wait for a lock); and nothing
    is acknowledged before the writer thread's COMMIT."""
    store = open_store(f"sqlite:///{tmp_path}/held.db")
    assert isinstance(store, SQLiteStore)
    queue = CommitQueue(store)
    statements: list[tuple[int, str]] = []
    store._writer.set_trace_callback(lambda sql: statements.append((threading.get_ident(), sql)))

    async def run() -> tuple[int, list[list[str]]]:
        await queue.submit([_sns_record("sns-held-0", "first@example.com")])
        statements.clear()
        batch = [
            _sns_record("sns-held-1", "a@example.com"),
            _sns_record("sns-held-0", "other@example.com"),  # the key of the first, other content
            _sns_record("sns-held-2", "b@example.com"),
        ]
        outcomes = await asyncio.gather(*(queue.submit([r]) for r in batch))
        return threading.get_ident(), outcomes

    try:
        loop_thread, outcomes = asyncio.run(run())
        assert outcomes == [["stored"], ["quarantined"], ["stored"]]
        on_loop = [sql.split()[0].upper() for thread, sql in statements if thread == loop_thread]
        on_writer = [sql.split()[0].upper() for thread, sql in statements if thread != loop_thread]
        assert on_loop.count("SAVEPOINT") >= 2  # written twice: the conflict rolled the first back
        assert "ROLLBACK" in on_loop  # ROLLBACK TO the savepoint
        assert not {"BEGIN", "COMMIT"} & set(on_loop)
        assert on_writer == ["BEGIN", "COMMIT"]
        with sqlite3.connect(tmp_path / "held.db") as conn:
            assert conn.execute("SELECT count(*) FROM records").fetchone() == (3,)
            assert conn.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)
    finally:
        queue.close()
        store.close()


def _open_temporary_files() -> list[str]:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return [link for link in links if "etilqs_" in link]  # SQLite's name for its temporary files


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_a_held_batch_needs_no_temporary_file(tmp_path: Path) -> None:
    """The writes of a hold are savepoints, whose journal SQLite keeps in a temporary file by default:
    one made per batch on the event loop, and every batch refused when the temporary directory is full."""
    store = open_store(f"sqlite:///{tmp_path}/temp.db")
    assert isinstance(store, SQLiteStore)
    try:
        store.hold_writer(threading.get_ident())
        try:
            assert store.ingest([record(n) for n in range(32)], "2026-11-20T10:01:00.000Z").outcomes == ["stored"] * 32
            assert _open_temporary_files() == []
        finally:
            store.release_writer(True)
    finally:
        store.close()
