"""The quarantine: what could not be understood or stored, kept byte for byte with the reason.

Anyone can post garbage to ``/sns``, so the quarantine has a size budget: past it, the oldest records
that anyone could have sent (bodies refused before any signature was checked) are dropped first. What
came through an authenticated route (a verified signature, an SQS queue, a file) is only ever dropped
by the retention, or by hand.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mailfate.core.views import PREVIEW_BYTES, QuarantineItem
from mailfate.store import sql
from mailfate.store.tx import Transaction, marks

QUARANTINE_INSERT = (
    f"INSERT INTO quarantine ({', '.join(sql.QUARANTINE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(sql.QUARANTINE_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class QuarantineLimits:
    """The quarantine's size budget in bytes (None: unbounded) and how long it keeps a record."""

    max_bytes: int | None = None
    retention_days: float | None = None
    #: How often, in seconds, the retention is applied at most (the budget: after each batch that needs it).
    every: float = 60.0


class QuarantineStore:
    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]:
        """The newest quarantined records, each with the beginning of its body only."""
        rows = self._read(
            "SELECT id, received_at, transport, location, reason, size, authenticated, substr(body, 1, ?) "
            "FROM quarantine ORDER BY id DESC LIMIT ?",
            (PREVIEW_BYTES, limit),
        )
        return [_quarantine_item(r, bytes(r[7] or b""), None) for r in rows]  # SQLite: substr of an empty blob is NULL

    def quarantined_item(self, item_id: int) -> QuarantineItem | None:
        """One quarantined record with its whole body, byte for byte."""
        rows = self._read(
            "SELECT id, received_at, transport, location, reason, size, authenticated, body FROM quarantine "
            "WHERE id = ?",
            (item_id,),
        )
        if not rows:
            return None
        body = bytes(rows[0][7] or b"")
        return _quarantine_item(rows[0], body[:PREVIEW_BYTES], body)

    def trim_quarantine(self, max_bytes: int | None, before: str | None) -> tuple[int, int]:
        """Keep the quarantine within ``max_bytes`` by dropping the oldest records that anyone could
        have sent (bodies posted to /sns before any signature check), and drop every record received
        before ``before``. Returns (records dropped, bytes freed)."""
        dropped = freed = 0
        if before is not None and self._read("SELECT 1 FROM quarantine WHERE received_at < ? LIMIT 1", (before,)):
            with self._transaction() as tx:
                ((count, size),) = tx.execute(
                    "SELECT count(*), coalesce(sum(size), 0) FROM quarantine WHERE received_at < ?", (before,)
                )
                tx.execute("DELETE FROM quarantine WHERE received_at < ?", (before,))
                dropped, freed = int(count), int(size)
        if max_bytes is None:
            return dropped, freed
        ((total,),) = self._read("SELECT coalesce(sum(length(body)), 0) FROM quarantine")
        excess = int(total) - max_bytes
        if excess <= 0:
            return dropped, freed
        with self._transaction() as tx:
            victims: list[int] = []
            for item_id, size in tx.execute(
                "SELECT id, length(body) FROM quarantine WHERE NOT authenticated ORDER BY id LIMIT 10000"
            ):
                if excess <= 0:
                    break
                victims.append(item_id)
                excess -= int(size)
                freed += int(size)
            for start in range(0, len(victims), 1000):
                chunk = victims[start : start + 1000]
                tx.execute(f"DELETE FROM quarantine WHERE id IN ({marks(chunk)})", chunk)
        return dropped + len(victims), freed


def _quarantine_item(row: Sequence[Any], preview: bytes, body: bytes | None) -> QuarantineItem:
    item_id, received_at, transport, location, reason, size, authenticated = row[:7]
    return QuarantineItem(
        item_id, received_at, transport, location, reason, int(size), bool(authenticated), preview, body
    )
