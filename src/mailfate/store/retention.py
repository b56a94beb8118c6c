"""Retention (docs/privacy.md): how long raw records, events and fates are kept, and the pruning that
applies it, from ``mailfate prune`` and from a periodic task of ``serve``.

What outlives the pruning: suppressions (the one in force of every address whose fates go is kept first,
:mod:`.kept`), suppressions added or lifted by hand, the figures per message (``message_counts``: the
reputation figures, the daily charts and the alerts read them) and per day and recipient domain
(``domain_days``: the figures by domain and provider, the top reasons). Messages and fates go by whole
days of sending, so a day's figures are either all still counted from its recipients or all read from
the daily rows, never half of each. Pruning works in batches, each its own short transaction: writers
wait for one batch at the most, never for the whole run.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailfate.core.timestamps import format_timestamp
from mailfate.store import kept, terms
from mailfate.store.tx import Transaction, marks

#: Rows (or messages) per batch, and batches per run at the most: a run's work is bounded; what is
#: left goes at the next one.
BATCH = 2000
MAX_BATCHES = 5000


@dataclass(frozen=True, slots=True)
class Retention:
    """Days each kind of data is kept (None: forever), and seconds between two runs of ``serve``'s task."""

    records_days: float | None = None
    events_days: float | None = None
    fates_days: float | None = None
    every: float = 3600.0

    @property
    def active(self) -> bool:
        return any(d is not None for d in (self.records_days, self.events_days, self.fates_days))

    def cutoffs(self, now: datetime) -> Cutoffs:
        """What is older than these goes: records by arrival; events and fates by their message's send
        day (midnight UTC, so that days go whole)."""

        def day(days: float | None) -> str | None:
            if days is None:
                return None
            moment = (now - timedelta(days=days)).astimezone(UTC)
            return format_timestamp(moment.replace(hour=0, minute=0, second=0, microsecond=0))

        records = format_timestamp(now - timedelta(days=self.records_days)) if self.records_days is not None else None
        return Cutoffs(records, day(self.events_days), day(self.fates_days))


@dataclass(frozen=True, slots=True)
class Cutoffs:
    records: str | None = None  # raw records received before this go
    events: str | None = None  # events of messages sent before this go
    fates: str | None = None  # messages sent before this go, with their fates, events and search terms


@dataclass(slots=True)
class Pruned:
    records: int = 0
    events: int = 0
    fates: int = 0
    messages: int = 0
    changes: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


class RetentionQueries:
    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    @abstractmethod
    def _pruning(self) -> contextlib.AbstractContextManager[bool]:
        """Held while one process prunes: True when this one may, False when another is at it."""

    def apply_retention(self, cutoffs: Cutoffs, batch: int = BATCH) -> Pruned | None:
        """Prune what is older than ``cutoffs``, a batch per transaction; None when another process is
        pruning this database right now (it will do the same)."""
        with self._pruning() as mine:
            if not mine:
                return None
            pruned = Pruned()
            if cutoffs.records is not None:
                pruned.records = self._batches(
                    "DELETE FROM records WHERE id IN "
                    "(SELECT id FROM records WHERE received_at < ? ORDER BY received_at LIMIT ?)",
                    (cutoffs.records, batch),
                )
            if cutoffs.fates is not None:
                self._prune_messages(cutoffs.fates, batch, pruned)
            if cutoffs.events is not None and (cutoffs.fates is None or cutoffs.events > cutoffs.fates):
                self._prune_events(cutoffs.events, batch, pruned)
            newest = max((c for c in (cutoffs.records, cutoffs.fates) if c is not None), default=None)
            if newest is not None:
                pruned.changes = self._prune_changes(newest, batch)
            return pruned

    def _batches(self, statement: str, args: Sequence[Any]) -> int:
        total = 0
        for _ in range(MAX_BATCHES):
            with self._transaction() as tx:
                count = tx.executemany(statement, [args])
            total += count
            if count < args[-1]:
                break
        return total

    def _prune_messages(self, before: str, batch: int, pruned: Pruned) -> None:
        for _ in range(MAX_BATCHES):
            with self._transaction() as tx:
                ids = [r[0] for r in tx.execute(
                    "SELECT message_id FROM messages WHERE sent_at < ? ORDER BY sent_at, message_id LIMIT ?",
                    (before, batch),
                )]  # fmt: skip
                if not ids:
                    return
                # The suppressions these fates decided outlive them.
                suppressed = tx.execute(
                    "SELECT s.address, s.payload FROM suppression_state s WHERE s.address IN "
                    f"(SELECT DISTINCT address FROM recipients WHERE message_id IN ({marks(ids)}))",
                    ids,
                )
                kept.keep(tx, [(a, p) for a, p in suppressed], format_timestamp(datetime.now(UTC)))
                terms.unindex(tx, ids)
                pruned.events += tx.executemany(f"DELETE FROM events WHERE message_id IN ({marks(ids)})", [ids])
                pruned.fates += tx.executemany(f"DELETE FROM recipients WHERE message_id IN ({marks(ids)})", [ids])
                pruned.messages += tx.executemany(f"DELETE FROM messages WHERE message_id IN ({marks(ids)})", [ids])

    def _prune_events(self, before: str, batch: int, pruned: Pruned) -> None:
        last = ("", "")
        for _ in range(MAX_BATCHES):
            with self._transaction() as tx:
                rows = tx.execute(
                    "SELECT sent_at, message_id FROM messages WHERE sent_at < ? AND (sent_at, message_id) > (?, ?) "
                    "ORDER BY sent_at, message_id LIMIT ?",
                    (before, *last, batch),
                )
                if not rows:
                    return
                ids = [r[1] for r in rows]
                pruned.events += tx.executemany(f"DELETE FROM events WHERE message_id IN ({marks(ids)})", [ids])
                last = (rows[-1][0], rows[-1][1])

    def _prune_changes(self, before: str, batch: int) -> int:
        # A change some webhook has not yet copied into its outbox, or still has to deliver, stays.
        return self._batches(
            "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ? "
            "AND seq <= COALESCE((SELECT min(seq) FROM webhook_cursors), (SELECT max(seq) FROM changes)) "
            "AND seq NOT IN (SELECT seq FROM webhook_outbox) ORDER BY at LIMIT ?)",
            (before, batch),
        )
