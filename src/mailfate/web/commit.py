"""Group commit: many concurrent requests, one transaction, each answered only once it is durable.

A request adds its records to the pending list and waits. One drain task at a time takes everything
pending, writes it in one transaction, and answers every request in it; whatever arrived meanwhile goes
into the next transaction. Under load the batches grow, so each commit's fsync is shared; when idle a
request is written alone and at once.

Waiting is never done on the event loop: a write that waits for a lock held by another process (a
bulk ``ingest`` on the same SQLite file) must not stop health checks and reads. On SQLite the writer
thread waits for the file's writer lock and SQLite's own, then the event loop writes the batch while
holding them, and the writer thread commits it (the commit waits for the disk): a write on another
thread would give up and take back the GIL at every SQLite call, and under load wait each time for the
busy event loop (measured: a fifth to a third of the throughput). PostgreSQL, whose writes wait on the
network and on row locks, writes on the writer thread.

A bad item fails alone: the store quarantines a record it cannot keep, and anything unexpected in a
batch is written again request by request, so only the request that carries it learns of it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from mailfate.core.model import Record, Rejected
from mailfate.core.timestamps import format_timestamp, now
from mailfate.core.views import IngestResult
from mailfate.errors import StorageError
from mailfate.logs import logger
from mailfate.store import Store
from mailfate.store.quarantine import QuarantineLimits

#: Requests written in one transaction at the most.
MAX_BATCH = 512

_Pending = tuple[Sequence[Record | Rejected], "asyncio.Future[list[str]]"]


class CommitQueue:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH, limits: QuarantineLimits | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        self.limits = limits or QuarantineLimits()
        self.dropped = 0  # quarantined records dropped to keep within the budget or the retention
        self._pending: list[_Pending] = []
        self._drain_task: asyncio.Task[None] | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailfate-writer")
        # SQLite has one writer at a time across processes (serve --workers N): waiting for it before
        # taking the batch, rather than after, lets what arrives during another process's commit join.
        self._hold_writer: Callable[[int], None] | None = getattr(store, "hold_writer", None)
        self._release_writer: Callable[[bool], None] = getattr(store, "release_writer", lambda commit: None)
        self._held = False  # the event loop holds the SQLite writer lock: write here, not on the thread
        self._last_trim = 0.0

    async def submit(self, items: Sequence[Record | Rejected]) -> list[str]:
        """Store ``items``; return each one's outcome ("stored", "duplicate", "quarantined") once committed."""
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain())
        return await future

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the requests that are already running join this batch
        loop = asyncio.get_running_loop()
        while self._pending:
            waited: StorageError | None = None
            if self._hold_writer is not None:
                try:
                    await self._take_writer(loop)
                except StorageError as exc:  # held too long: this batch fails as its write would have
                    waited = exc
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                if waited is not None:
                    raise waited
                results = await self._write([items for items, _ in batch])
                if self._held:  # nothing of a held batch is durable before this commit
                    self._held = False
                    await loop.run_in_executor(self._writer, self._release_writer, True)
            except Exception as exc:  # storage is down: every waiting request learns nothing was stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                if self._held:  # the batch failed before its commit: undo it, give the locks back
                    self._held = False
                    try:
                        self._release_writer(False)
                    except StorageError as exc:  # the locks went anyway; the batch has failed already
                        logger.warning("commit.rollback_failed", extra={"fields": {"reason": str(exc)}})
            for (_, future), outcome in zip(batch, results, strict=True):
                if future.done():  # the client may have gone away
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            await self._keep_limits(batch)

    async def _take_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._hold_writer is not None
        taking = loop.run_in_executor(self._writer, self._hold_writer, threading.get_ident())
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:  # the server stops: give the lock back once the thread has it
            taking.add_done_callback(lambda done: done.exception() or self._release_writer(False))
            raise
        self._held = True

    async def _run(self, items: list[Record | Rejected]) -> IngestResult:
        """One transaction: here on the event loop while it holds the SQLite writer lock (a savepoint of
        the hold's transaction), else on the writer thread."""
        if self._held:
            return self._ingest(items)
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._ingest, items)

    async def _write(self, requests: list[Sequence[Record | Rejected]]) -> list[list[str] | BaseException]:
        """Write every request in one transaction; if that fails for any reason but the database
        being unavailable, write them one by one, so that one bad request fails alone."""
        items = [item for request in requests for item in request]
        try:
            result = await self._run(items)
        except StorageError:
            raise  # the database failed (or was locked too long): the same for every request
        except Exception:
            if len(requests) == 1:
                raise
            logger.exception("commit.batch_failed", extra={"fields": {"requests": len(requests)}})
            return [await self._write_alone(request) for request in requests]
        outcomes: list[list[str] | BaseException] = []
        start = 0
        for request in requests:
            outcomes.append(result.outcomes[start : start + len(request)])
            start += len(request)
        return outcomes

    async def _write_alone(self, request: Sequence[Record | Rejected]) -> list[str] | BaseException:
        try:
            return (await self._run(list(request))).outcomes
        except Exception as exc:
            return exc

    def _ingest(self, items: list[Record | Rejected]) -> IngestResult:
        return self.store.ingest(items, now())

    async def _keep_limits(self, batch: list[_Pending]) -> None:
        """Apply the quarantine budget after a batch that quarantined what anyone could have sent, and
        the retention now and then. A failure here is logged; the requests were answered already."""
        limits = self.limits
        junk = any(isinstance(i, Rejected) and not i.authenticated for items, _ in batch for i in items)
        due = time.monotonic() - self._last_trim >= limits.every
        if not ((junk and limits.max_bytes is not None) or (due and limits.retention_days is not None)):
            return
        before = None
        if due and limits.retention_days is not None:
            self._last_trim = time.monotonic()
            before = format_timestamp(_days_ago(limits.retention_days))
        loop = asyncio.get_running_loop()
        try:
            dropped, freed = await loop.run_in_executor(
                self._writer, self.store.trim_quarantine, limits.max_bytes, before
            )
        except StorageError as exc:
            logger.warning("quarantine.trim_failed", extra={"fields": {"reason": str(exc)}})
            return
        if dropped:
            self.dropped += dropped
            logger.warning(
                "quarantine.dropped",
                extra={"fields": {"records": dropped, "bytes": freed, "dropped_total": self.dropped}},
            )


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
