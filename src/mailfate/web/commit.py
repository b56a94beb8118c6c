"""Group commit: many concurrent requests, one transaction, each answered only after it is durable.

A request hands its records to the queue and waits. One writer thread takes everything that is waiting,
writes it in one transaction and then answers every request in it. Under load the batches grow, so the
cost of each commit (an fsync) is shared; when idle, a request is written alone and at once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from ..model import Record, Rejected
from ..store import Store
from ..store.sql import prepare
from ..timestamps import now
from ..views import IngestResult

#: Requests written in one transaction at the most.
MAX_BATCH = 512

_Item = tuple[Sequence[Record | Rejected], Future[list[str]]]


class CommitQueue:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mailfate-commit", daemon=True)
        self._thread.start()

    async def submit(self, items: Sequence[Record | Rejected]) -> list[str]:
        """Store ``items``; return each one's outcome ("stored", "duplicate", "quarantined") once committed."""
        future: Future[list[str]] = Future()
        self._queue.put((items, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            result: IngestResult = self.store.write(prepare([i for items, _ in batch for i in items], now()))
        except BaseException as exc:  # every waiting request learns that nothing was stored
            for _, future in batch:
                future.set_exception(exc)
            return
        start = 0
        for items, future in batch:
            future.set_result(result.outcomes[start : start + len(items)])
            start += len(items)
