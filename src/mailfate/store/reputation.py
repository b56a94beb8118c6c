"""Reputation figures (docs/suppression-and-reputation.md) from the per-message counts that every write
keeps current."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from mailfate.core.insights import RECIPIENT_GROUPINGS, Resolve
from mailfate.core.stats import ALL_COUNTS, Figures, Stats, StatsQuery
from mailfate.store import sql


class ReputationQueries:
    dialect: sql.Dialect

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def recipient_stats(self, query: StatsQuery, resolve: Resolve | None = None) -> Stats: ...

    def stats(self, query: StatsQuery, resolve: Resolve | None = None) -> Stats:
        """The figures of ``query``; ``resolve`` (the MX lookup, when enabled) may name the provider of
        domains no event named one for."""
        if query.group_by in RECIPIENT_GROUPINGS:
            return self.recipient_stats(query, resolve)
        d = self.dialect
        columns = ", ".join(f"COALESCE(sum(m.{c}), 0)" for c in ALL_COUNTS)
        window = "m.sent_at >= ? AND m.sent_at < ?"
        args: list[Any] = [query.since, query.until]
        grouped: list[tuple[Any, ...]] = []
        if query.tag is not None:
            # One pass, grouped by each message's array of values of the tag; the arrays then spread to
            # their values here. Cheaper than expanding every message's tags in SQL, and the totals come
            # free: every message is in exactly one array group (NULL: it lacks the tag).
            by_array = self._read(
                f"SELECT {d.tag_array} AS k, {columns} FROM message_counts m WHERE {window} GROUP BY k",
                [d.tag_path.format(query.tag), *args],
            )
            totals = tuple(sum(int(row[i + 1]) for row in by_array) for i in range(len(ALL_COUNTS)))
            grouped = _spread(by_array)
        elif query.group_by is not None:
            key = {"configuration_set": "m.configuration_set", "sending_domain": "m.from_domain",
                   "day": "substr(m.sent_at, 1, 10)"}[query.group_by]  # fmt: skip
            grouped = self._read(
                f"SELECT {key} AS key, {columns} FROM message_counts m WHERE {window} GROUP BY {key} ORDER BY {key}",
                args,
            )
            # Every message is in exactly one such group: the totals are the groups' sums.
            totals = tuple(sum(int(row[i + 1]) for row in grouped) for i in range(len(ALL_COUNTS)))
        else:
            (totals,) = self._read(f"SELECT {columns} FROM message_counts m WHERE {window}", args)
        return Stats(
            query,
            Figures(None, dict(zip(ALL_COUNTS, (int(v) for v in totals), strict=True))),
            [Figures(row[0], dict(zip(ALL_COUNTS, (int(v) for v in row[1:]), strict=True))) for row in grouped],
        )


def _spread(by_array: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows keyed by a JSON array of tag values, as rows keyed by each value (a message with two values
    counts in both groups)."""
    groups: dict[str, list[int]] = {}
    for array, *counts in by_array:
        values = json.loads(array) if array else []
        for value in sorted({str(v) for v in values} if isinstance(values, list) else {str(values)}):
            sums = groups.setdefault(value, [0] * len(counts))
            for i, count in enumerate(counts):
                sums[i] += int(count)
    return [(value, *sums) for value, sums in sorted(groups.items())]


def count_columns(count_if: str, simulator: str, on_account: str) -> list[str]:
    """The counts, in the order of ALL_COUNTS. ``count_if`` is the dialect's conditional count with one
    ``{}`` for the condition; ``simulator`` and ``on_account`` its tests for a simulator address and for
    an OnAccountSuppressionList bounce. Each condition is cheap: this runs once per recipient."""
    parts = {
        "sent": "count(*)",
        "delivered": count_if.format("r.status = 'delivered'"),
        "hard_bounces": count_if.format("r.status = 'bounced'"),
        "soft_bounces": count_if.format("r.status = 'soft_bounced'"),
        "auto_replies": count_if.format("r.status = 'delivered' AND r.ambiguous_bounce"),
        "complaints": count_if.format("r.status = 'complained'"),
        "opens": count_if.format("r.opened"),
        "clicks": count_if.format("r.clicked"),
        "excluded_sent": count_if.format(simulator),
        "excluded_bounces": count_if.format(f"r.status = 'bounced' AND ({simulator} OR {on_account})"),
        "excluded_complaints": count_if.format(f"r.status = 'complained' AND {simulator}"),
    }
    return list(parts.values())
