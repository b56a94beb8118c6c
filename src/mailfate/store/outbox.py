"""The durable outbox of outbound webhooks, in the same database as the facts it reports.

Each URL has a cursor into the change feed. The sender copies the changes after it into the outbox,
leases the head of each address's queue (so one address's changes go out in order while different
addresses go out side by side), and records each attempt. A delivered change leaves the outbox; one
given up on stays, ``failed``, for the API and the dashboard to show. A lease that runs out, because
its sender died, frees the change for another attempt: delivery is at least once.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mailfate.core.audit import Actor, AuditAction
from mailfate.core.changes import Change
from mailfate.store import feed, sql
from mailfate.store.audit import record as record_audit
from mailfate.store.audit import webhook_target
from mailfate.store.tx import Transaction


@dataclass(frozen=True, slots=True)
class Delivery:
    """One change leased for delivery to one URL."""

    url: str
    change: Change
    attempts: int
    first_attempt_at: str | None


# The head of each address's queue: the change whose seq is the least pending one of its address. Said
# as a scalar min(), which the planner answers with one probe of webhook_outbox_pending per candidate
# whatever it knows: a NOT EXISTS anti-join was planned as a quadratic scan on a fresh PostgreSQL
# database (no statistics yet), 0.4 to 2 s per claim at 3,000 pending changes.
_HEAD = (
    "o.url = ? AND o.state = 'pending' AND o.next_attempt_at <= ? AND o.leased_until < ? "
    "AND o.seq = (SELECT min(p.seq) FROM webhook_outbox p WHERE p.url = o.url AND p.address = o.address "
    "AND p.state = 'pending')"
)


class Outbox:
    dialect: sql.Dialect

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    @abstractmethod
    def sequence(self, limit: int = 10_000) -> int: ...

    def register_webhooks(self, urls: Sequence[str]) -> None:
        """Start a cursor for each new URL at the end of the feed: it gets the changes from now on (the
        history is in ``GET /api/changes``).
        A URL seen before resumes where it was."""
        self.sequence()
        with self._transaction() as tx:
            for url in urls:
                tx.execute(
                    "INSERT INTO webhook_cursors (url, seq) SELECT ?, last FROM change_numbers "
                    "WHERE TRUE ON CONFLICT (url) DO NOTHING",  # WHERE: SQLite's parser needs it here
                    (url,),
                )

    def webhook_urls(self) -> list[str]:
        """Every URL registered here (by a server or consumer that sends to it, now or before), in order:
        what the command line lists and redelivers for, without the server's settings."""
        return [row[0] for row in self._read("SELECT url FROM webhook_cursors ORDER BY url")]

    def fill_outbox(self, url: str, now: str, limit: int = 1000, kinds: Sequence[str] | None = None) -> int:
        """Copy the changes after the URL's cursor into its outbox (only those of ``kinds`` when given: the
        cursor passes the others); how many were copied."""
        self.sequence()
        (cursor,) = self._read("SELECT seq FROM webhook_cursors WHERE url = ?", (url,))[0]
        if not self._read("SELECT 1 FROM changes WHERE seq > ? LIMIT 1", (cursor,)):
            return 0  # idle polls stay read-only: no writer lock taken
        with self._transaction() as tx:
            lock = " FOR UPDATE" if self.dialect.ordered_writes else ""  # two senders filling: one waits
            ((cursor,),) = tx.execute(f"SELECT seq FROM webhook_cursors WHERE url = ?{lock}", (url,))
            rows = tx.execute(
                "SELECT seq, address, kind FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (cursor, limit)
            )
            if not rows:
                return 0
            wanted = [(url, seq, address, now) for seq, address, kind in rows if kinds is None or kind in kinds]
            if wanted:
                tx.executemany(
                    "INSERT INTO webhook_outbox (url, seq, address, next_attempt_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (url, seq) DO NOTHING",
                    wanted,
                )
            tx.execute("UPDATE webhook_cursors SET seq = ? WHERE url = ?", (rows[-1][0], url))
            return len(wanted)

    def claim_deliveries(self, url: str, now: str, lease_until: str, limit: int = 50) -> list[Delivery]:
        """Lease the deliverable changes: due, not leased, and first in their address's queue."""
        if not self._read(f"SELECT 1 FROM webhook_outbox o WHERE {_HEAD} LIMIT 1", (url, now, now)):
            return []
        with self._transaction() as tx:
            skip = " FOR UPDATE SKIP LOCKED" if self.dialect.ordered_writes else ""
            seqs = [
                r[0]
                for r in tx.execute(
                    f"SELECT o.seq FROM webhook_outbox o WHERE {_HEAD} ORDER BY o.seq LIMIT ?{skip}",
                    (url, now, now, limit),
                )
            ]
            if not seqs:
                return []
            marks = ", ".join("?" * len(seqs))
            leased = tx.execute(
                f"UPDATE webhook_outbox SET leased_until = ? WHERE url = ? AND seq IN ({marks}) AND leased_until < ? "
                "RETURNING seq, attempts, first_attempt_at",
                (lease_until, url, *seqs, now),
            )
            rows = tx.execute(f"SELECT {feed.CHANGE_COLUMNS} FROM changes WHERE seq IN ({marks})", seqs)
            changes = {change.seq: change for change in feed.render(tx.execute, rows)}
        found = [Delivery(url, changes[seq], attempts, first) for seq, attempts, first in leased]
        return sorted(found, key=lambda d: d.change.seq)

    def delivered(self, delivery: Delivery, now: str) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM webhook_outbox WHERE url = ? AND seq = ?", (delivery.url, delivery.change.seq))
            tx.execute(
                "UPDATE webhook_cursors SET delivered = delivered + 1, last_delivered_at = ? WHERE url = ?",
                (now, delivery.url),
            )

    def delivery_failed(
        self, delivery: Delivery, now: str, status: int | None, error: str, retry_at: str | None
    ) -> None:
        """Record a failed attempt: try again at ``retry_at``, or give up on the change when None."""
        with self._transaction() as tx:
            tx.execute(
                "UPDATE webhook_outbox SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?), "
                "last_status = ?, last_error = ?, next_attempt_at = ?, leased_until = '', state = ? "
                "WHERE url = ? AND seq = ?",
                (now, status, error[:500], retry_at or now, "pending" if retry_at else "failed",
                 delivery.url, delivery.change.seq),
            )  # fmt: skip

    def redeliver(self, url: str, seqs: Sequence[int] | None, now: str, by: Actor | None = None) -> list[int]:
        """Try the given-up changes of ``url`` again (those numbered ``seqs``; every one when None): each
        becomes due at ``now`` with a new retry window, its attempts and last error kept for the page.
        Returns the seqs that were given up and are pending again, in order. ``by``: who asked, recorded
        in the audit trail in the same transaction (the URL without its password), when any was."""
        where, wanted = "url = ? AND state = 'failed'", sorted(set(seqs or ()))[:10_000]
        if seqs is not None:
            if not wanted:
                return []
            where += f" AND seq IN ({', '.join('?' * len(wanted))})"
        with self._transaction() as tx:
            rows = tx.execute(
                "UPDATE webhook_outbox SET state = 'pending', next_attempt_at = ?, leased_until = '', "
                f"first_attempt_at = NULL WHERE {where} RETURNING seq",
                (now, url, *wanted),
            )
            done = sorted(int(r[0]) for r in rows)
            if by is not None and done:
                record_audit(tx, by.entry(AuditAction.WEBHOOK_REDELIVER, webhook_target(url), {"seqs": done}))
        return done

    def webhooks(self, urls: Sequence[str], problems: int = 20) -> list[dict[str, Any]]:
        """Per URL: how far it is, what waits, and the latest changes that failed or are being retried."""
        found = []
        ((latest,),) = self._read(feed.HEAD)
        for url in urls:
            rows = self._read("SELECT seq, delivered, last_delivered_at FROM webhook_cursors WHERE url = ?", (url,))
            cursor, delivered, last = rows[0] if rows else (0, 0, None)
            counts = dict(self._read("SELECT state, count(*) FROM webhook_outbox WHERE url = ? GROUP BY state", (url,)))
            failures = self._read(
                "SELECT seq, address, state, attempts, first_attempt_at, next_attempt_at, last_status, last_error "
                "FROM webhook_outbox WHERE url = ? AND attempts > 0 ORDER BY seq DESC LIMIT ?",
                (url, problems),
            )
            found.append(
                {
                    "url": url,
                    "delivered": int(delivered),
                    "last_delivered_at": last,
                    "pending": int(counts.get("pending", 0)) + max(0, int(latest) - int(cursor)),
                    "failed": int(counts.get("failed", 0)),
                    "failures": [_failure(r) for r in failures],
                }
            )
        return found


def _failure(row: Sequence[Any]) -> dict[str, Any]:
    seq, address, state, attempts, first, next_at, status, error = row
    return {
        "seq": seq,
        "address": address,
        "state": state,
        "attempts": attempts,
        "first_attempt_at": first,
        "next_attempt_at": next_at if state == "pending" else None,
        "last_status": status,
        "last_error": error,
    }
