"""Figures by recipient domain and provider, and the bounce and complaint reasons (docs/insights.md).

``domain_days`` holds, per day of sending, one row per (recipient domain, provider, reason) with the
counts of the reputation figures and a histogram of delivery times. A write keeps it exact by deltas:
it counts what the messages it touches contributed before (with their send time as ``message_counts``
still has it) and after, and adds the difference, in the same transaction. A window's whole days are
read from it; the part of a day at either end of the window is counted from the recipients themselves.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from mailfate.core.fate import fold
from mailfate.core.insights import (
    LATENCY_BOUNDS,
    Diagnostics,
    DiagnosticsQuery,
    DomainRow,
    Resolve,
    group_rows,
    top_reasons,
)
from mailfate.core.jsonutil import loads
from mailfate.core.model import Event, Kind
from mailfate.core.providers import CONSUMER_DOMAINS
from mailfate.core.stats import ALL_COUNTS, Stats, StatsQuery
from mailfate.store import sql
from mailfate.store.reputation import count_columns
from mailfate.store.tx import Run, Transaction, chunks, marks

KEYS = ("sent_day", "domain", "provider", "reason")
LATENCY_COLUMNS = tuple(f"latency_{i}" for i in range(len(LATENCY_BOUNDS) + 1))
VALUES = (*ALL_COUNTS, *LATENCY_COLUMNS)
_REASON = (
    "CASE WHEN r.status = 'complained' THEN COALESCE(r.complaint_reason, '') "
    "WHEN r.status IN ('bounced', 'soft_bounced') THEN COALESCE(r.bounce_reason, '') ELSE '' END"
)
_ADD = ", ".join(f"{c} = domain_days.{c} + excluded.{c}" for c in VALUES)
_UPSERT = (
    f"INSERT INTO domain_days ({', '.join((*KEYS, *VALUES))}) VALUES ({marks(KEYS + VALUES)}) "
    f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {_ADD}"
)

Key = tuple[str, str, str, str]
Contributions = dict[Key, list[int]]


@functools.lru_cache(maxsize=256)  # per batch size: the same few texts again and again
def _select(d: sql.Dialect, source: str, where: str) -> str:
    """What the recipients of ``source`` (aliased ``x``, with ``message_id`` and ``sent_at``) add to each
    row of ``domain_days``: the SQL of every delta, of a window's ends, and of a rebuild."""
    bounds = (0, *LATENCY_BOUNDS)
    # A recipient without a delivery time is in no bucket: its conditions are NULL, which no count counts
    # (and a SQLite sum of nothing but NULL is NULL: hence the COALESCE, once per group).
    within = [f"r.delivery_ms >= {low}" + (f" AND r.delivery_ms < {high}" if high else "") for low, high in
              zip(bounds, (*LATENCY_BOUNDS, None), strict=True)]  # fmt: skip
    latency = [f"COALESCE({d.count_if.format(condition)}, 0)" for condition in within]
    counts = count_columns(d.count_if, d.simulator_test, d.on_account_test)
    return (
        f"SELECT substr(COALESCE(x.sent_at, ''), 1, 10), {d.recipient_domain}, r.provider, {_REASON}, "
        f"{', '.join((*counts, *latency))} FROM {source} x JOIN recipients r ON r.message_id = x.message_id "
        f"WHERE {where} GROUP BY 1, 2, 3, 4"
    )


def contributions(tx: Transaction, d: sql.Dialect, message_ids: list[str]) -> Contributions:
    """What these messages' recipients add to ``domain_days`` now, by their send time in message_counts
    (which a write refreshes last: before that, it is the send time their recipients were counted by)."""
    found: Contributions = {}
    for chunk in chunks(message_ids):
        for day, domain, provider, reason, *values in tx.execute(
            _select(d, "message_counts", f"x.message_id IN ({marks(chunk)})"), chunk
        ):
            found[(day, domain, provider, reason)] = [int(v) for v in values]
    return found


def apply(tx: Transaction, before: Contributions, after: Contributions) -> None:
    """Add to ``domain_days`` the difference between what the touched messages contributed before and
    after, in key order (concurrent PostgreSQL writers must lock rows in one order)."""
    rows = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        delta = [n - o for n, o in zip(new or [0] * len(VALUES), old or [0] * len(VALUES), strict=True)]
        if any(delta):
            rows.append((*key, *delta))
    if rows:
        tx.executemany(_UPSERT, rows)


def rebuild(tx: Transaction, d: sql.Dialect) -> None:
    """Count ``domain_days`` again from every recipient (a migration's data step)."""
    tx.execute("DELETE FROM domain_days")
    tx.execute(f"INSERT INTO domain_days ({', '.join((*KEYS, *VALUES))}) {_select(d, 'messages', 'TRUE')}")


#: Events read per step of the backfill.
_BACKFILL_PAGE = 20_000


def backfill(tx: Transaction, d: sql.Dialect) -> None:
    """Fill the recipients' provider, delivery time and reasons from the events stored before they
    existed (a migration's data step), then count ``domain_days``.

    A page of events merges into each recipient as the write path would: the greatest provider, the
    least time, and a reason only from the page that holds the recipient's ranked (stored) bounce or
    complaint, so a recipient whose events span pages ends the same as one whose events do not.
    """
    kinds = ("Delivery", "Bounce", "Complaint")
    after = ("", "")
    while True:
        rows = tx.execute(
            "SELECT message_id, event_key, recipient, kind, timestamp, details FROM events "
            f"WHERE (message_id, event_key) > (?, ?) AND kind IN ({marks(kinds)}) AND recipient <> '' "
            "ORDER BY message_id, event_key LIMIT ?",
            (*after, *kinds, _BACKFILL_PAGE),
        )
        if not rows:
            break
        after = (rows[-1][0], rows[-1][1])
        events = [Event(Kind(kind), m, r, r, t, loads(details)) for m, _, r, kind, t, details in rows]
        tx.executemany(
            "UPDATE recipients SET provider = CASE WHEN ? > provider THEN ? ELSE provider END, "
            "delivery_ms = CASE WHEN delivery_ms IS NULL OR ? < delivery_ms THEN ? ELSE delivery_ms END, "
            "bounce_reason = CASE WHEN bounce_rank = ? THEN ? ELSE bounce_reason END, "
            "complaint_reason = CASE WHEN complaint_rank = ? THEN ? ELSE complaint_reason END "
            "WHERE message_id = ? AND address = ?",
            [
                (s.provider, s.provider, s.delivery_ms, s.delivery_ms, s.bounce_rank, s.bounce_reason,
                 s.complaint_rank, s.complaint_reason, message_id, address)
                for (message_id, address), s in fold(events).items()
            ],
        )  # fmt: skip
    # Consumer addresses with no such event say their provider by their domain alone.
    known = sorted(CONSUMER_DOMAINS.items())
    cases = " ".join("WHEN ? THEN ?" for _ in known)
    tx.execute(
        f"UPDATE recipients SET provider = CASE {d.recipient_domain.replace('r.address', 'address')} {cases} "
        "ELSE '' END WHERE provider = ''",
        [value for domain, provider in known for value in (domain, provider.value)],
    )
    rebuild(tx, d)


class InsightQueries:
    dialect: sql.Dialect

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def recipient_stats(self, query: StatsQuery, resolve: Resolve | None = None) -> Stats:
        """Figures grouped by recipient domain or provider (``query.group_by``), with delivery times."""
        assert query.group_by is not None
        sums = ", ".join(f"sum({c})" for c in VALUES)
        rows: list[DomainRow] = []
        for whole, args in _parts(self._read, query.since, query.until):
            if whole:
                found = self._read(
                    f"SELECT domain, provider, {sums} FROM domain_days WHERE sent_day >= ? AND sent_day < ? "
                    "GROUP BY domain, provider",
                    args,
                )
            else:  # domain, provider, and the values after the day and the reason
                found = [(r[1], r[2], *r[4:]) for r in self._read(_select(self.dialect, "messages", _WINDOW), args)]
            rows += [(r[0], r[1], r[2 : 2 + len(ALL_COUNTS)], r[2 + len(ALL_COUNTS) :]) for r in found]
        totals, groups = group_rows(rows, query.group_by, resolve)
        return Stats(query, totals, groups)

    def diagnostics(self, query: DiagnosticsQuery, resolve: Resolve | None = None) -> Diagnostics:
        """The top bounce and complaint reasons of recipients sent in the window, per provider."""
        columns = [KEYS.index(c) for c in ("domain", "provider", "reason")]
        counted = [len(KEYS) + ALL_COUNTS.index(c) for c in ("hard_bounces", "soft_bounces", "complaints")]
        rows = []
        for whole, args in _parts(self._read, query.since, query.until):
            if whole:
                found = self._read(
                    "SELECT sent_day, domain, provider, reason, sum(hard_bounces), sum(soft_bounces), "
                    "sum(complaints) FROM domain_days WHERE reason <> '' AND sent_day >= ? AND sent_day < ? "
                    "GROUP BY sent_day, domain, provider, reason",
                    args,
                )
                rows += [(r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6])) for r in found]
            else:
                found = self._read(_select(self.dialect, "messages", _WINDOW), args)
                rows += [(*(r[i] for i in columns), *(int(r[i]) for i in counted)) for r in found if r[3]]
        return top_reasons(rows, query, lambda *what: self._examples(query, *what), resolve)

    def _examples(self, query: DiagnosticsQuery, kind: str, domain: str, provider: str, reason: str) -> list[str]:
        """Up to three messages sent in the window whose recipient at ``domain`` has this reason."""
        column, status = {
            "bounce": ("bounce_reason", "bounced"),
            "soft_bounce": ("bounce_reason", "soft_bounced"),
            "complaint": ("complaint_reason", "complained"),
        }[kind]
        rows = self._read(
            f"SELECT r.message_id FROM recipients r JOIN messages m ON m.message_id = r.message_id "
            f"WHERE r.{column} = ? AND r.status = ? AND r.provider = ? AND {self.dialect.recipient_domain} = ? "
            "AND m.sent_at >= ? AND m.sent_at < ? LIMIT 3",
            (reason, status, provider, domain, query.since, query.until),
        )
        return sorted(str(r[0]) for r in rows)


_WINDOW = "x.sent_at >= ? AND x.sent_at < ?"


def _parts(run: Run, since: str, until: str) -> list[tuple[bool, tuple[str, str]]]:
    """The window as whole days (read from ``domain_days``: True, with the days) and its ends (counted
    from the recipients: False, with the times). A day's end holds nothing when no message was sent in
    it outside the window: then the whole day is read instead."""
    first, last = _day(since), _day(until)
    if since.endswith("T00:00:00.000Z") or not _sent(run, f"{first}T00:00:00.000Z", since):
        start = first
    else:
        start = _next_day(first) or last  # past the calendar's last day: the window is within it
    following = _next_day(last)
    if following and not until.endswith("T00:00:00.000Z") and not _sent(run, until, f"{following}T00:00:00.000Z"):
        end = following
    else:  # the calendar's last day has no day after it: its part up to until is counted from recipients
        end = last
    if start >= end:  # within one day: no whole day at all
        return [(False, (since, until))]
    parts = [(True, (start, end))]
    if start != first:
        parts.append((False, (since, f"{start}T00:00:00.000Z")))
    if end == last and not until.endswith("T00:00:00.000Z"):
        parts.append((False, (f"{end}T00:00:00.000Z", until)))
    return parts


def _day(stamp: str) -> str:
    return stamp[:10]


def _next_day(day: str) -> str | None:
    """The day after ``day``; None after 9999-12-31, where a date cannot go (a window may end there)."""
    moment = date.fromisoformat(day)
    return None if moment == date.max else (moment + timedelta(days=1)).isoformat()


def _sent(run: Run, since: str, until: str) -> bool:
    return bool(run("SELECT 1 FROM messages WHERE sent_at >= ? AND sent_at < ? LIMIT 1", (since, until)))
