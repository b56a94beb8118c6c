"""The storage contract every backend keeps, and the URL that chooses one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from ..errors import UsageError
from ..model import Record, Rejected
from ..stats import Stats, StatsQuery
from ..suppression import Action, FateFacts
from ..views import IngestResult, MessagePage, MessageView, QuarantineItem, RecipientView
from .listing import MessageQuery
from .sql import PreparedBatch

DEFAULT_URL = "sqlite:///mailfate.db"


class Store(Protocol):
    """Durable, idempotent storage of records, events and fates.

    ``ingest`` commits everything it is given in one transaction before it returns, or raises
    :class:`~mailfate.errors.StorageError` having committed nothing. Calling it twice with the same
    records changes nothing the second time; calling it with the same records in any order, from any
    number of processes, leaves the same fates.
    """

    url: str

    def ingest(self, items: Sequence[Record | Rejected], received_at: str) -> IngestResult: ...

    def write(self, batch: PreparedBatch) -> IngestResult:
        """Commit rows made by :func:`mailfate.store.sql.prepare`; ``ingest`` is ``write(prepare(...))``."""
        ...

    def message(self, message_id: str) -> MessageView | None: ...

    def messages(self, query: MessageQuery) -> MessagePage: ...

    def recipient(self, address: str, limit: int = 100) -> RecipientView: ...

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]: ...

    def suppression_facts(
        self, addresses: Sequence[str] | None = None
    ) -> dict[str, tuple[list[FateFacts], list[Action]]]:
        """What the suppression rules need, per address: all addresses that could be suppressed when None."""
        ...

    def add_action(self, address: str, action: Action) -> None: ...

    def stats(self, query: StatsQuery) -> Stats: ...

    def prune(self, before: str) -> tuple[int, int]: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def database_url(url: str | None = None) -> str:
    """``--db``, else ``MAILFATE_DB``, else ``sqlite:///mailfate.db``."""
    return url or os.environ.get("MAILFATE_DB") or DEFAULT_URL


def open_store(url: str | None = None, *, bulk: bool = False) -> Store:
    """Open (and migrate) the store at ``url``: ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    ``postgresql://...``. ``bulk`` tunes it for loading files rather than for answering requests."""
    resolved = database_url(url)
    if resolved.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(resolved, bulk=bulk)
    if resolved.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(resolved)
    raise UsageError(f"unknown database URL {resolved!r}: expected sqlite:///PATH or postgresql://...")
