"""Reputation alerts (docs/changes-and-webhooks.md): the levels of the sliding window, compared with the
ones last announced (``reputation_state``); a change is appended to the feed for each that moved.

Any number of processes may evaluate at once. The figures are counted outside any lock (on SQLite a
write transaction would stop ingest meanwhile); the comparison and the writes happen in one transaction
that holds the reputation lock (PostgreSQL) or the writer lock (SQLite), against the state as it is
then. An evaluation of an older window than the one a state was set by changes nothing: no process
announces a level twice, nor brings back one that a later evaluation replaced.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailfate.core.alerts import AlertPolicy, Transition, transitions
from mailfate.core.insights import Resolve
from mailfate.core.jsonutil import dumps
from mailfate.core.stats import Figures, Stats, StatsQuery
from mailfate.core.timestamps import format_timestamp
from mailfate.store import sql
from mailfate.store.tx import Transaction


class ReputationAlerts:
    dialect: sql.Dialect

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    @abstractmethod
    def stats(self, query: StatsQuery, resolve: Resolve | None = None) -> Stats: ...

    def evaluate_reputation(self, policy: AlertPolicy, now: datetime) -> list[Transition]:
        """Announce in the feed every level that changed in the window ending ``now``; what was announced."""
        until = format_timestamp(now)
        since = format_timestamp(now - policy.window)
        stats = self.stats(StatsQuery(since, until, "configuration_set"))
        scopes: dict[str | None, Figures] = {None: stats.totals}
        scopes.update((g.key, g) for g in stats.groups if g.key is not None)
        if not transitions(scopes, *_announced(self._read(_STATE), until), policy, since, until):
            return []  # the usual case: nothing moved, and no write lock was taken
        with self._transaction() as tx:
            if self.dialect.reputation_lock:
                tx.execute(self.dialect.reputation_lock)
            found = transitions(scopes, *_announced(tx.execute(_STATE), until), policy, since, until)
            for t in found:
                tx.execute(
                    "INSERT INTO reputation_state (scope, metric, level, evaluated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (scope, metric) DO UPDATE SET level = excluded.level, "
                    "evaluated_at = excluded.evaluated_at",
                    (t.scope, t.metric, t.level, until),
                )
                tx.execute(
                    "INSERT INTO changes (at, kind, address, payload) VALUES (?, 'reputation', ?, ?)",
                    (until, t.queue, dumps(t.payload(until))),
                )
        return found


_STATE = "SELECT scope, metric, level, evaluated_at FROM reputation_state"


def _announced(
    rows: Sequence[Sequence[Any]], until: str
) -> tuple[dict[tuple[str, str], str], frozenset[tuple[str, str]]]:
    """The levels last announced, and the scopes a window ending at or after ``until`` has decided."""
    levels = {(scope, metric): level for scope, metric, level, _ in rows}
    settled = frozenset((scope, metric) for scope, metric, _, at in rows if at >= until)
    return levels, settled
