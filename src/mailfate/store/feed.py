"""Appending to the change feed, inside the transaction that makes the change.

A fate change is seen by reading the statuses of a batch's recipients before and after the merge;
a suppression change by comparing an address's suppression, computed by the pure rules of
:mod:`mailfate.core.suppression`, with the one last announced (``suppression_state``). Both happen in the
write transaction, so a change is committed exactly when the fact it reports is: a crash loses both
or neither. Changes are appended unnumbered; :func:`sequence` numbers them once they are committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailfate.core.changes import Change, cause, fate_change, group_events, suppression_change
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.suppression import Action, FateFacts, Policy, suppression_of
from mailfate.core.timestamps import format_timestamp
from mailfate.core.views import Fate, StoredEvent
from mailfate.store import sql
from mailfate.store.tx import Run, Transaction, chunks, marks

#: Statuses that can suppress an address, or stop suppressing it when they change.
_TROUBLE = frozenset({Status.COMPLAINED.value, Status.BOUNCED.value, Status.SOFT_BOUNCED.value})
TROUBLE_SQL = "(complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce)"


def statuses(tx: Transaction, message_ids: list[str]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for chunk in chunks(message_ids):
        statement = f"SELECT message_id, address, status FROM recipients WHERE message_id IN ({marks(chunk)})"
        rows = tx.execute(statement, chunk)
        found.update(((m, a), s) for m, a, s in rows)
    return found


def append_fate_changes(
    tx: Transaction,
    d: sql.Dialect,
    pairs: set[tuple[str, str]],
    message_ids: list[str],
    before: dict[tuple[str, str], str],
    events: Sequence[Sequence[Any]],
    now: datetime,
    policy: Policy,
) -> None:
    """Append a change for every pair of ``pairs`` whose status is not what it was ``before``.

    Only raw values are stored (the summary as it is now, the cause's key): turning them into the JSON
    of a change waits until someone reads it, which keeps bulk loads fast.
    """
    at = format_timestamp(now)
    changed: list[tuple[Any, ...]] = []
    announced: set[str] = set()  # addresses with a suppression announced: a delivery may end it
    columns = ", ".join(f"r.{c}" for c in sql.SUMMARY_COLUMNS)
    for chunk in chunks(message_ids):
        for message_id, address, status, suppressed, *summary in tx.execute(
            f"SELECT r.message_id, r.address, r.status, s.address IS NOT NULL, {columns} FROM recipients r "
            f"LEFT JOIN suppression_state s ON s.address = r.address WHERE r.message_id IN ({marks(chunk)})",
            chunk,
        ):
            key = (message_id, address)
            if key in pairs and status != before.get(key):
                changed.append((message_id, address, before.get(key), status, summary))
                if suppressed:
                    announced.add(address)
    if not changed:
        return
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
    # Which suppressions may have changed: those of trouble on either side, and those announced already
    # (a delivery timestamped between soft bounces ends a soft-bounce suppression).
    again = {c[1] for c in changed if c[2] in _TROUBLE or c[3] in _TROUBLE} | announced
    refresh_suppressions(tx, d, sorted(again), now, policy)


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


def refresh_suppressions(
    tx: Transaction, d: sql.Dialect, addresses: Sequence[str], now: datetime, policy: Policy
) -> int:
    """Compute these addresses' suppressions again; announce those that differ from the last announced.

    An address's suppression depends on all its messages, which other writers may be changing: on
    PostgreSQL this part takes turns (a lock held to commit), so each reads what the one before it
    committed, and what was last announced really is the previous suppression.
    """
    if not addresses:
        return 0
    if d.suppression_lock:
        tx.execute(d.suppression_lock)
    at = format_timestamp(now)
    announced: dict[str, str] = {}
    for chunk in chunks(list(addresses)):
        rows = tx.execute(f"SELECT address, payload FROM suppression_state WHERE address IN ({marks(chunk)})", chunk)
        announced.update((a, p) for a, p in rows)
    appended = 0
    for address, (fates, actions) in sorted(facts(tx.execute, addresses).items()):
        current = suppression_of(address, fates, actions, policy, now)
        payload = dumps(current.to_json()) if current else None
        previous = announced.get(address)
        if payload == previous:
            continue
        if current is None:
            tx.execute("DELETE FROM suppression_state WHERE address = ?", (address,))
        else:
            tx.execute(
                "INSERT INTO suppression_state (address, expires_at, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET expires_at = excluded.expires_at, payload = excluded.payload",
                (address, current.expires_at, payload),
            )
        change = suppression_change(address, current, loads(previous) if previous else None, at)
        tx.execute(
            "INSERT INTO changes (at, kind, address, payload) VALUES (?, 'suppression', ?, ?)",
            (at, address, dumps(change)),
        )
        appended += 1
    return appended


def expiring(tx: Transaction, now: datetime) -> list[str]:
    """Addresses whose announced suppression has expired by ``now``."""
    rows = tx.execute(
        "SELECT address FROM suppression_state WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY address",
        (format_timestamp(now),),
    )
    return [r[0] for r in rows]


def fill_suppression_state(tx: Transaction, now: datetime, policy: Policy) -> None:
    """Record today's suppressions as announced, without changes: for a database that predates the feed."""
    for address, (fates, actions) in facts(tx.execute, None).items():
        current = suppression_of(address, fates, actions, policy, now)
        if current is not None:
            tx.execute(
                "INSERT INTO suppression_state (address, expires_at, payload) VALUES (?, ?, ?)",
                (address, current.expires_at, dumps(current.to_json())),
            )


def facts(run: Run, addresses: Sequence[str] | None) -> dict[str, tuple[list[FateFacts], list[Action]]]:
    """What the suppression rules need, per address: all that could be suppressed when None."""
    if addresses is None:
        statement = f"SELECT address FROM recipients WHERE {TROUBLE_SQL} UNION SELECT address FROM suppression_actions"
        addresses = [r[0] for r in run(statement)]
    found: dict[str, tuple[list[FateFacts], list[Action]]] = {a: ([], []) for a in addresses}
    for chunk in chunks(list(addresses)):
        for address, *row in run(
            "SELECT address, message_id, status, bounce, complaint_info, delivered_at FROM recipients "
            f"WHERE address IN ({marks(chunk)}) AND ({TROUBLE_SQL} OR delivered_at IS NOT NULL)",
            chunk,
        ):
            found[address][0].append(FateFacts.from_row(*row))
        for address, action, at, reason in run(
            f"SELECT address, action, at, reason FROM suppression_actions WHERE address IN ({marks(chunk)})", chunk
        ):
            found[address][1].append(Action(action, at, reason))
    return found
