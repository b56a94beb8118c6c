"""The suppression of every address, kept where every surface reads it.

``suppression_state`` holds, for each suppressed address, what :func:`~mailfate.core.suppression.
suppression_of` answered when the address's facts last changed. It is written in the transaction that
changes those facts (an event's fate, a suppression added or lifted by hand), with a change in the feed
when the answer differs from the one kept, so the kept answer, the facts and the feed commit together.
The library, the API, the command line, the dashboard and the check before sending all read this table;
the one thing a reader applies is time, which ends a soft-bounce suppression at its ``expires_at``.

A refresh reads only :func:`~mailfate.core.suppression.sufficient_facts`, through indexes that reach them
(migration 0007): the latest lift and delivery, complaints and hard bounces after the lift, soft bounces
after the lift and the delivery. An address's deliveries and old troubles are never read.
"""

from __future__ import annotations

import contextlib
import typing
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from mailfate.core.addresses import natural_key
from mailfate.core.changes import suppression_change
from mailfate.core.check import CheckResult, check
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.suppression import Action, FateFacts, Policy, Suppression, suppression_of
from mailfate.core.timestamps import format_timestamp
from mailfate.store import kept, sql
from mailfate.store.kept import kept_for
from mailfate.store.tx import Run, Transaction, chunks, marks

Facts = dict[str, tuple[list[FateFacts], list[Action]]]

#: Per address: the latest lift by hand, and the latest Delivery of any of its messages.
_MARKS = (
    "WITH a(address) AS (VALUES {rows}) SELECT a.address, "
    "(SELECT max(s.at) FROM suppression_actions s WHERE s.address = a.address AND s.action = 'lift'), "
    "(SELECT max(r.delivered_at) FROM recipients r WHERE r.address = a.address) FROM a"
)
_FATE = "r.address, r.message_id, r.status, r.bounce, r.complaint_info, r.delivered_at"
#: The fates that can still suppress: a rank starts with a one-character severity, then the timestamp.
_TROUBLE = (
    "WITH a(address, lifted, soft_from) AS (VALUES {rows}) "
    f"SELECT {_FATE} FROM a JOIN recipients r ON r.address = a.address "
    "WHERE r.complaint AND substr(r.complaint_rank, 3) > a.lifted "
    f"UNION ALL SELECT {_FATE} FROM a JOIN recipients r ON r.address = a.address "
    "WHERE r.hard_bounce AND substr(r.bounce_rank, 3) > a.lifted "
    f"UNION ALL SELECT {_FATE} FROM a JOIN recipients r ON r.address = a.address "
    "WHERE r.status = 'soft_bounced' AND substr(r.bounce_rank, 3) > a.soft_from"
)


def facts(run: Run, addresses: Sequence[str]) -> Facts:
    """What the rules need of these addresses, and no more (see the module's docstring)."""
    found: Facts = {a: ([], []) for a in addresses}
    for chunk in chunks(sorted(found)):
        latest = {
            a: (lifted or "", delivered) for a, lifted, delivered in run(_MARKS.format(rows=_rows(chunk, 1)), chunk)
        }
        args = []
        for address in chunk:
            lifted, delivered = latest[address]
            args += [address, lifted, max(lifted, delivered or "")]
        seen: set[tuple[str, str]] = set()
        for address, message_id, *row in run(_TROUBLE.format(rows=_rows(chunk, 3)), args):
            if (address, message_id) not in seen:  # a complained fate may be a hard bounce too
                seen.add((address, message_id))
                found[address][0].append(FateFacts.from_row(message_id, *row))
        for address, (_, delivered) in latest.items():
            if delivered:  # only its time matters: a Delivery between soft bounces breaks their streak
                found[address][0].append(FateFacts("", Status.DELIVERED, None, None, delivered))
        for address, action, at, reason in run(
            f"SELECT address, action, at, reason FROM suppression_actions WHERE address IN ({marks(chunk)})", chunk
        ):
            found[address][1].append(Action(action, at, reason))
    return found


def _rows(chunk: Sequence[str], width: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * len(chunk))


def refresh(
    tx: Transaction,
    d: sql.Dialect,
    addresses: Sequence[str],
    now: datetime,
    policy: Policy,
    announce: bool = True,
    with_kept: bool = True,
) -> int:
    """Decide these addresses' suppressions again; keep and announce those that changed. How many did.

    An address's suppression depends on all its messages, which other writers may be changing: on
    PostgreSQL this part takes turns (a lock held to commit), so each reads what the one before it
    committed, and the suppression kept really is the previous one.
    """
    if not addresses:
        return 0
    if d.suppression_lock:
        tx.execute(d.suppression_lock)
    at = format_timestamp(now)
    decided: dict[str, str] = {}
    for chunk in chunks(sorted(set(addresses))):
        rows = tx.execute(f"SELECT address, payload FROM suppression_state WHERE address IN ({marks(chunk)})", chunk)
        decided.update((a, p) for a, p in rows)
    appended = 0
    earlier = kept_for(tx, sorted(set(addresses)), policy.erasure_key, at) if with_kept else {}
    for address, (fates, actions) in sorted(facts(tx.execute, addresses).items()):
        current = suppression_of(address, fates, actions, policy, now, earlier.get(address, ()))
        payload = dumps(current.to_json()) if current else None
        previous = decided.get(address)
        if payload == previous:
            continue
        if current is None:
            tx.execute("DELETE FROM suppression_state WHERE address = ?", (address,))
        else:
            tx.execute(
                "INSERT INTO suppression_state (address, expires_at, payload, sort_key) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET expires_at = excluded.expires_at, payload = excluded.payload",
                (address, current.expires_at, payload, natural_key(address)),
            )
        appended += 1
        if not announce:
            continue
        change = suppression_change(address, current, loads(previous) if previous else None, at)
        tx.execute(
            "INSERT INTO changes (at, kind, address, payload) VALUES (?, 'suppression', ?, ?)",
            (at, address, dumps(change)),
        )
    return appended


def refresh_all(
    tx: Transaction, d: sql.Dialect, now: datetime, policy: Policy, announce: bool = True, with_kept: bool = True
) -> int:
    """Decide again every address that is or could be suppressed (an upgrade's data step: ``with_kept``
    False before migration 0013 made the kept suppressions)."""
    rows = tx.execute(
        "SELECT address FROM recipients WHERE complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce "
        "UNION SELECT address FROM suppression_actions UNION SELECT address FROM suppression_state"
        + (" UNION SELECT address FROM kept_suppressions WHERE address LIKE '%@%'" if with_kept else "")
    )
    addresses = sorted(r[0] for r in rows)
    return sum(refresh(tx, d, chunk, now, policy, announce, with_kept) for chunk in chunks(addresses))


def policy_text(policy: Policy) -> str:
    return dumps({"count": policy.soft_bounce_count, "window": policy.soft_bounce_window.total_seconds(),
                  "expiry": policy.soft_bounce_expiry.total_seconds()})  # fmt: skip


def adopt_policy(tx: Transaction, d: sql.Dialect, policy: Policy, now: datetime) -> int:
    """Decide every suppression again if the kept ones were decided by other thresholds (the settings
    changed); announce what changes. How many did."""
    if not tx.execute("SELECT 1 FROM schema_migrations WHERE version = '0007_b_suppression_policy'"):
        return 0  # a schema held back on purpose (an upgrade test): nothing of this to follow yet
    wanted = policy_text(policy)
    if [r[0] for r in tx.execute("SELECT policy FROM suppression_policy")] == [wanted]:
        return 0
    changed = refresh_all(tx, d, now, policy)
    tx.execute(
        "INSERT INTO suppression_policy (id, policy) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
        (wanted,),
    )
    return changed


def expiring(run: Run, now: datetime, limit: int | None = None) -> list[str]:
    """Addresses whose kept suppression has expired by ``now``: time has ended them, unannounced yet."""
    rows = run(
        "SELECT address FROM suppression_state WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY address"
        + (" LIMIT ?" if limit else ""),
        (format_timestamp(now), limit) if limit else (format_timestamp(now),),
    )
    return [r[0] for r in rows]


def in_force(run: Run, addresses: Sequence[str], now: datetime) -> dict[str, Suppression]:
    """The suppressions in force at ``now`` of those of ``addresses`` that are suppressed."""
    found = {}
    for chunk in chunks(sorted(set(addresses))):
        for address, payload in run(
            f"SELECT address, payload FROM suppression_state WHERE address IN ({marks(chunk)})", chunk
        ):
            suppression = Suppression.from_json(address, loads(payload))
            if suppression.in_force(now):
                found[address] = suppression
    return found


def fill_sort_keys(tx: Transaction) -> None:
    """Give the rows kept before migration 0012 their :func:`natural_key` (its data step)."""
    rows = tx.execute("SELECT address FROM suppression_state")
    if rows:
        tx.executemany("UPDATE suppression_state SET sort_key = ? WHERE address = ?",
                       [(natural_key(address), address) for (address,) in rows])  # fmt: skip


def listing(
    run: Run, now: datetime, after: str | None = None, limit: int | None = None, contains: str | None = None
) -> list[Suppression]:
    """The suppressions in force at ``now``, by address as a person reads it (user2 before user10):
    after the address ``after``, at most ``limit``, of the addresses that hold ``contains`` when given."""
    where, args = ["(expires_at IS NULL OR expires_at > ?)"], [format_timestamp(now)]
    if after is not None:  # in the order a person reads: numbers as numbers (natural_key)
        where.append("(sort_key, address) > (?, ?)")
        args += [natural_key(after), after]
    if contains:
        where.append("address LIKE ? ESCAPE '!'")
        args.append("%" + contains.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%")
    statement = f"SELECT address, payload FROM suppression_state WHERE {' AND '.join(where)} ORDER BY sort_key, address"
    if limit is not None:
        statement += f" LIMIT {int(limit)}"
    return [Suppression.from_json(address, loads(payload)) for address, payload in run(statement, args)]


class SuppressionQueries:
    """What the stores answer about suppression: all of it read from ``suppression_state``."""

    dialect: sql.Dialect
    policy: Policy  # the rules the kept suppressions are decided by
    _erasure_checked: bytes | bool | None = False  # the erasure key last found to fit the database

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def suppression(self, address: str, now: datetime | None = None) -> Suppression | None:
        """The suppression in force of ``address`` (normalized), or None when it may be mailed."""
        return self._in_force([address], now or datetime.now(UTC)).get(address)

    def _in_force(self, addresses: Sequence[str], now: datetime) -> dict[str, Suppression]:
        """Decided suppressions, and for the addresses without one, those kept as erased addresses."""
        found = in_force(self._read, addresses, now)
        others = sorted({a for a in addresses if a not in found})
        if self._erasure_checked != self.policy.erasure_key:
            kept.check_key(self._read, self.policy.erasure_key)
            self._erasure_checked = self.policy.erasure_key
        found.update(kept.erased_in_force(self._read, others, now, self.policy.erasure_key))
        return found

    def suppressions(
        self, after: str | None = None, limit: int | None = None, contains: str | None = None,
        now: datetime | None = None,
    ) -> list[Suppression]:  # fmt: skip
        """The suppressions in force, by address: after the address ``after``, at most ``limit``, of the
        addresses that hold ``contains`` when given (a page of the list)."""
        return listing(self._read, now or datetime.now(UTC), after, limit, contains)

    def check(self, addresses: str | Iterable[object], now: datetime | None = None) -> list[CheckResult]:
        """May each of ``addresses`` be mailed? One result per address, in order (see :mod:`~.core.check`)."""
        given = [addresses] if isinstance(addresses, str) else list(addresses)
        moment = now or datetime.now(UTC)
        return check(given, lambda found: self._in_force(found, moment))

    def add_action(self, address: str, action: Action, audit: AuditEntry | None = None) -> None:
        """Record a suppression added or lifted by hand (idempotent), with its entry in the audit trail
        in the same transaction when ``audit`` is given."""
        from mailfate.store.audit import record  # the audit trail's writer: this method alone needs it

        with self._transaction() as tx:
            # Before anything is written: without the erasure key the refresh below cannot tell whether the
            # address was erased while suppressed, and the command would fail after its suppression was kept.
            kept.check_key(tx.execute, self.policy.erasure_key)
            if audit is not None:
                record(tx, audit)
            tx.execute(
                "INSERT INTO suppression_actions (address, action, at, reason) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address, action, at) DO NOTHING",
                (address, action.action, action.at, action.reason),
            )
            refresh(tx, self.dialect, [address], datetime.now(UTC), self.policy)

    def expire_suppressions(self, now: datetime) -> int:
        """Announce the suppressions that have expired by ``now`` (time ends them, not an event)."""
        if not expiring(self._read, now, limit=1):
            return 0  # the usual case stays read-only
        with self._transaction() as tx:
            return refresh(tx, self.dialect, expiring(tx.execute, now), now, self.policy)


if typing.TYPE_CHECKING:  # for the annotation of add_action only
    from mailfate.store.audit import AuditEntry
