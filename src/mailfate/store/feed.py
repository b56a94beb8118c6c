"""Appending to the change feed, inside the transaction that makes the change.

A fate change is seen by reading the statuses of a batch's recipients before and after the merge; the
suppressions of the addresses whose facts may have changed are decided again (:mod:`.suppressions`),
which appends a change for each that did. Both happen in the write transaction, so a change is
committed exactly when the fact it reports is: a crash loses both or neither. Changes are appended
unnumbered; :func:`sequence` numbers them once they are committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailfate.core.changes import Change, cause, fate_change, group_events
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.suppression import Policy
from mailfate.core.timestamps import format_timestamp
from mailfate.core.views import Fate, StoredEvent
from mailfate.store import kept, sql, suppressions
from mailfate.store.tx import Run, Transaction, chunks, marks

#: Statuses that can suppress an address, or stop suppressing it when they change.
_TROUBLE = frozenset({Status.COMPLAINED.value, Status.BOUNCED.value, Status.SOFT_BOUNCED.value})
#: What of a fate the suppression rules read: its status, its worst bounce and complaint (their ranks
#: change with them), and its first Delivery.
_SUPPRESSION_FACTS = "status, bounce_rank, complaint_rank, delivered_at"


def statuses(tx: Transaction, message_ids: list[str]) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per (message, address): the status and the other facts the suppression rules read, before a write."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for chunk in chunks(message_ids):
        statement = (
            f"SELECT message_id, address, {_SUPPRESSION_FACTS} FROM recipients WHERE message_id IN ({marks(chunk)})"
        )
        found.update(((m, a), tuple(rest)) for m, a, *rest in tx.execute(statement, chunk))
    return found


def append_fate_changes(
    tx: Transaction,
    d: sql.Dialect,
    pairs: set[tuple[str, str]],
    message_ids: list[str],
    before: dict[tuple[str, str], tuple[str, ...]],
    events: Sequence[Sequence[Any]],
    now: datetime,
    policy: Policy,
) -> None:
    """Append a change for every pair of ``pairs`` whose status is not what it was ``before``, and
    decide again the suppressions that the write may have changed.

    Only raw values are stored (the summary as it is now, the cause's key): turning them into the JSON
    of a change waits until someone reads it, which keeps bulk loads fast.
    """
    at = format_timestamp(now)
    changed: list[tuple[Any, ...]] = []
    again: set[str] = set()  # addresses whose suppression may have changed
    columns = ", ".join(f"r.{c}" for c in sql.SUMMARY_COLUMNS)
    for chunk in chunks(message_ids):
        for message_id, address, status, suppressed, *summary in tx.execute(
            f"SELECT r.message_id, r.address, r.status, s.address IS NOT NULL, {columns} FROM recipients r "
            f"LEFT JOIN suppression_state s ON s.address = r.address WHERE r.message_id IN ({marks(chunk)})",
            chunk,
        ):
            key = (message_id, address)
            if key not in pairs:
                continue
            old = before.get(key)
            previous = old[0] if old else None
            if status != previous:
                changed.append((message_id, address, previous, status, summary))
            now_facts = (status, summary[_BOUNCE_RANK], summary[_COMPLAINT_RANK], summary[_DELIVERED_AT])
            if old == now_facts:
                continue
            # Trouble on either side (a bounce or a complaint came, went, or got worse) may change the
            # suppression; so may a Delivery, which ends a soft-bounce streak, where one is kept.
            delivered_before = old[3] if old else None
            if status in _TROUBLE or previous in _TROUBLE or (suppressed and delivered_before != now_facts[3]):
                again.add(address)
    if changed:
        changed.sort(key=lambda c: (c[0], c[1]))  # the same numbering whatever the batch's order
        by_pair = group_events(events, {(c[0], c[1]) for c in changed})
        tx.executemany(
            "INSERT INTO changes (at, kind, address, message_id, previous_status, cause, fate) "
            "VALUES (?, 'fate', ?, ?, ?, ?, ?)",
            [
                (at, address, message_id, previous, cause(by_pair.get((message_id, address), []), status),
                 dumps(summary))
                for message_id, address, previous, status, summary in changed
            ],
        )  # fmt: skip
    if policy.erasure_key is not None:  # an erased address that comes back takes its kept suppression back
        fresh = sorted({pair[1] for pair in pairs if pair not in before and pair[1] not in again})
        again.update(kept.erased(tx.execute, fresh, policy.erasure_key))
    suppressions.refresh(tx, d, sorted(again), now, policy)


_BOUNCE_RANK, _COMPLAINT_RANK, _DELIVERED_AT = (
    sql.SUMMARY_COLUMNS.index(c) for c in ("bounce_rank", "complaint_rank", "delivered_at")
)


def sequence(tx: Transaction, d: sql.Dialect, limit: int) -> int:
    """Number the committed changes that have no number yet, in the order they were appended.

    Writers append without numbers and commit in any order; only this step numbers them, one at a
    time (the sequence lock on PostgreSQL, the writer lock on SQLite), each time after the highest
    number so far. A change that commits late is numbered late: a reader that follows the feed by
    ``seq`` never sees a smaller number appear behind its cursor.
    """
    if d.sequence_lock:
        tx.execute(d.sequence_lock)
    ((top,),) = tx.execute("SELECT last FROM change_numbers")
    ids = [r[0] for r in tx.execute("SELECT id FROM changes WHERE seq IS NULL ORDER BY id LIMIT ?", (limit,))]
    tx.executemany("UPDATE changes SET seq = ? WHERE id = ?", [(top + n, i) for n, i in enumerate(ids, 1)])
    tx.execute("UPDATE change_numbers SET last = ?", (top + len(ids),))
    return len(ids)


#: The number of the last change, read without numbering anything (a read, for a metrics scrape): the
#: last numbered one plus those committed and not numbered yet, which :func:`sequence` numbers next, in
#: one run after it. One statement, so one snapshot on either database. Its cost is the count of those
#: (about 75 ms a million on SQLite), which stays small wherever the feed is read or a webhook is sent.
HEAD = "SELECT last + (SELECT count(*) FROM changes WHERE seq IS NULL) FROM change_numbers"

CHANGE_COLUMNS = "seq, kind, at, address, message_id, previous_status, cause, fate, payload"


def render(run: Run, rows: Sequence[Sequence[Any]]) -> list[Change]:
    """Changes from rows of CHANGE_COLUMNS: a fate change gets its fate and its cause event back."""
    wanted = {(r[4], r[6]) for r in rows if r[1] == "fate" and r[6]}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    message_ids = sorted({m for m, _ in wanted})
    for chunk in chunks(message_ids):
        for message_id, key, kind, recipient, timestamp, received_at, transport, details, record in run(
            "SELECT message_id, event_key, kind, recipient, timestamp, received_at, transport, details, record_key "
            f"FROM events WHERE message_id IN ({marks(chunk)})",
            chunk,
        ):
            if (message_id, key) in wanted:
                event = StoredEvent(kind, recipient, timestamp, received_at, transport, loads(details), record)
                found[(message_id, key)] = event.to_json()  # as the message API shows events
    changes = []
    for seq, kind, at, address, message_id, previous, key, fate, payload in rows:
        if kind == "fate":
            summary = sql.summary_from_row(loads(fate))
            payload = fate_change(Fate(message_id, address, summary), previous, found.get((message_id, key)), at)
        else:
            payload = loads(payload)
        changes.append(Change(seq, payload))
    return changes
