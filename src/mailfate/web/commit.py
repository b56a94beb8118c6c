"""Group commit: many concurrent requests, one transaction, each answered only once it is durable.

A request adds its records to the pending list and waits. One drain task at a time takes everything
pending, writes it in one transaction, and answers every request in it; whatever arrived meanwhile goes
into the next transaction. Under load the batches grow, so each commit's fsync is shared; when idle a
request is written alone and at once.

For SQLite the write runs on the event loop itself: a batch takes about a millisecond, and a writer
thread would spend more than that waiting for the GIL each time SQLite hands it back. Stores whose
writes wait on the network (PostgreSQL) write from a thread instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mailfate.core.model import Record, Rejected
from mailfate.core.timestamps import now
from mailfate.store import Store
from mailfate.store.sql import prepare

#: Requests written in one transaction at the most.
MAX_BATCH = 512

_Pending = tuple[Sequence[Record | Rejected], "asyncio.Future[list[str]]"]


class CommitQueue:
    def __init__(self, store: Store, inline: bool = True, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.inline = inline
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def submit(self, items: Sequence[Record | Rejected]) -> list[str]:
        """Store ``items``; return each one's outcome ("stored", "duplicate", "quarantined") once committed."""
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the requests that are already running join this batch
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            prepared = prepare([item for items, _ in batch for item in items], now())
            try:
                if self.inline:
                    result = self.store.write(prepared)
                else:
                    result = await asyncio.to_thread(self.store.write, prepared)
            except Exception as exc:  # every waiting request learns that nothing was stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for items, future in batch:
                if not future.done():  # the client may have gone away
                    future.set_result(result.outcomes[start : start + len(items)])
                start += len(items)
