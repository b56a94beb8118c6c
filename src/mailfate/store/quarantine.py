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

from mailfate.core.audit import Actor, AuditAction
from mailfate.core.model import Record
from mailfate.core.views import PREVIEW_BYTES, IngestResult, QuarantineItem
from mailfate.errors import UnstorableData
from mailfate.store import sql
from mailfate.store.audit import record as record_audit
from mailfate.store.tx import Transaction, marks

#: What one quarantined row costs beyond its body and texts: the row and its index entries, as both
#: databases store them (an empty body with a short reason takes about 150 bytes). The migration that
#: keeps the running total (0011_quarantine_usage) counts each row with the same figure.
ROW_OVERHEAD = 160
#: Rows one trim deletes at the most: its cost stays small whatever the backlog.
TRIM_ROWS = 5000


def row_cost(body_bytes: int, *texts: str | None) -> int:
    """What one row costs, as the migration's triggers count it: its body, its texts in UTF-8, and
    :data:`ROW_OVERHEAD`."""
    return ROW_OVERHEAD + body_bytes + sum(len(text.encode()) for text in texts if text is not None)


_USAGE = "SELECT coalesce(sum(bytes), 0), coalesce(sum(rows), 0) FROM quarantine_usage"

_ROW = f"({', '.join('?' * len(sql.QUARANTINE_COLUMNS))})"
#: Rows per INSERT: one statement, so PostgreSQL's statement triggers count them in one update.
_INSERT_ROWS = 500


def insert_quarantined(tx: Transaction, rows: Sequence[Sequence[Any]]) -> None:
    """Insert quarantine rows (as :func:`mailfate.store.sql.quarantine_row` builds them), many per statement."""
    for start in range(0, len(rows), _INSERT_ROWS):
        part = rows[start : start + _INSERT_ROWS]
        tx.execute(
            f"INSERT INTO quarantine ({', '.join(sql.QUARANTINE_COLUMNS)}) VALUES {', '.join([_ROW] * len(part))}",
            [value for row in part for value in row],
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

    @abstractmethod
    def _write(self, tx: Transaction, batch: sql.PreparedBatch) -> IngestResult: ...

    def quarantine_ids(self, after: int = 0, limit: int = 1000) -> list[int]:
        """The ids of quarantined records after ``after``, oldest first: how a replay of all pages."""
        rows = self._read("SELECT id FROM quarantine WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        return [int(r[0]) for r in rows]

    def dismiss_quarantined(self, ids: Sequence[int], by: Actor | None = None) -> list[int]:
        """Delete these quarantined records for good; the ids that were there (the running total of the
        budget follows in the same transaction, by the triggers of the table). ``by``: who dismisses
        them, recorded in the audit trail (an entry per record) in the same transaction."""
        gone: list[int] = []
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 1000):
            part = wanted[start : start + 1000]
            with self._transaction() as tx:
                rows = tx.execute(f"DELETE FROM quarantine WHERE id IN ({marks(part)}) RETURNING id", part)
                if by is not None:
                    for (item_id,) in rows:
                        record_audit(tx, by.entry(AuditAction.QUARANTINE_DISMISS, f"quarantine:{item_id}"))
            gone.extend(int(r[0]) for r in rows)
        return sorted(gone)

    def release_quarantined(
        self, item_id: int, record: Record, received_at: str, by: Actor | None = None
    ) -> str | None:
        """Store ``record`` (what a quarantined record now parses into) as facts and drop its quarantine
        row, in one transaction: both or neither. Returns "stored" or "duplicate", or None when the row
        is no longer there (replayed or dismissed meanwhile). A record that the store still will not take
        (its key taken by other content, a value the database refuses) raises RecordConflict or
        UnstorableData and leaves the row as it was. ``by``: who replays it, recorded in the audit trail
        in the same transaction."""
        batch = sql.prepare([record], received_at)
        if batch.quarantine:  # its rows could not be built: it stays where it is
            raise UnstorableData(batch.quarantine[0][3])
        with self._transaction() as tx:
            if not tx.execute("DELETE FROM quarantine WHERE id = ? RETURNING id", (item_id,)):
                return None
            result = self._write(tx, batch)
            outcome = result.outcomes[0] if result.outcomes else "stored"
            if by is not None:
                record_audit(tx, by.entry(AuditAction.QUARANTINE_REPLAY, f"quarantine:{item_id}", {"outcome": outcome}))
        return outcome

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

    def quarantine_usage(self) -> tuple[int, int]:
        """(bytes, rows) of the quarantine: what its rows cost (:data:`ROW_OVERHEAD` each, plus their
        bodies and texts), from the running total that triggers keep in every writing transaction."""
        ((used, rows),) = self._read(_USAGE)
        return int(used), int(rows)

    def trim_quarantine(self, max_bytes: int | None, before: str | None) -> tuple[int, int]:
        """Keep the quarantine within ``max_bytes`` by dropping the oldest records that anyone could
        have sent (bodies posted to /sns before any signature check), and drop every record received
        before ``before``. Returns (records dropped, bytes freed).

        The cost does not grow with what is stored: the total is one running sum, and the victims are
        read from the front of an index of unauthenticated rows, at most :data:`TRIM_ROWS` per call
        (the server calls again after its next batch of junk, so a backlog shrinks call by call)."""
        dropped = freed = 0
        if before is not None and self._read("SELECT 1 FROM quarantine WHERE received_at < ? LIMIT 1", (before,)):
            with self._transaction() as tx:
                ((used, rows),) = tx.execute(_USAGE)
                tx.execute("DELETE FROM quarantine WHERE received_at < ?", (before,))
                ((used_after, rows_after),) = tx.execute(_USAGE)
                dropped, freed = int(rows) - int(rows_after), int(used) - int(used_after)
        if max_bytes is None or self.quarantine_usage()[0] <= max_bytes:
            return dropped, freed
        with self._transaction() as tx:
            ((used, _),) = tx.execute(_USAGE)
            excess, left = int(used) - max_bytes, TRIM_ROWS
            while excess > 0 and left > 0:
                victims = []
                for item_id, *columns in tx.execute(
                    "SELECT id, length(body), reason, transport, received_at, location FROM quarantine "
                    "WHERE NOT authenticated ORDER BY id LIMIT ?",
                    (min(left, 1000),),
                ):
                    victims.append(item_id)
                    excess -= row_cost(*columns)
                    if excess <= 0:
                        break
                if not victims:
                    break  # what is left came through an authenticated route: never dropped for the budget
                tx.execute(f"DELETE FROM quarantine WHERE id IN ({marks(victims)})", victims)
                dropped, left = dropped + len(victims), left - len(victims)
            ((now_used, _),) = tx.execute(_USAGE)
            freed += int(used) - int(now_used)
        return dropped, freed


def _quarantine_item(row: Sequence[Any], preview: bytes, body: bytes | None) -> QuarantineItem:
    item_id, received_at, transport, location, reason, size, authenticated = row[:7]
    return QuarantineItem(
        item_id, received_at, transport, location, reason, int(size), bool(authenticated), preview, body
    )
