"""Where the trouble is and why (docs/insights.md): figures by recipient domain and by mailbox provider,
with delivery latency, and the top bounce and complaint reasons. Pure: the stores count, this groups.

The stores keep, per day of sending, one row per (recipient domain, provider, reason) with the counts
of the reputation figures (:data:`mailfate.core.stats.ALL_COUNTS`) and a histogram of delivery times
(:data:`LATENCY_BOUNDS`). Everything here is sums of such rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailfate.core.providers import group_key
from mailfate.core.stats import ALL_COUNTS, Figures, StatsQuery
from mailfate.errors import UsageError

#: Groupings of recipients rather than of messages.
RECIPIENT_GROUPINGS = ("recipient_domain", "provider")
#: Delivery times are counted in buckets, by these upper bounds in milliseconds (the last bucket has
#: none): a fixed histogram adds up across days and groups at any volume. A percentile is estimated
#: within its bucket, linearly.
#: Finest where SES usually is (a quarter second to a few seconds), coarse up to an hour of retrying.
LATENCY_BOUNDS = (100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 30_000, 60_000, 300_000,
                  3_600_000)  # fmt: skip
LATENCY_BUCKETS = len(LATENCY_BOUNDS) + 1


def latency_bucket(millis: int) -> int:
    """The bucket of a delivery time (the stores count the same in SQL)."""
    return next((i for i, bound in enumerate(LATENCY_BOUNDS) if millis < bound), len(LATENCY_BOUNDS))


def percentile(histogram: Sequence[int], fraction: float) -> int | None:
    """The delivery time below which ``fraction`` of the histogram's counts lie, interpolated within its
    bucket; the lower bound of the last, open bucket. None for an empty histogram."""
    total = sum(histogram)
    if not total:
        return None
    wanted = total * fraction
    seen = 0
    for i, count in enumerate(histogram):
        if count and seen + count >= wanted:
            low = LATENCY_BOUNDS[i - 1] if i else 0
            if i == len(LATENCY_BOUNDS):
                return low
            return round(low + (LATENCY_BOUNDS[i] - low) * max(0.0, wanted - seen) / count)
        seen += count
    return None  # not reached: the counts add up to total


@dataclass
class _Group:
    counts: list[int] = field(default_factory=lambda: [0] * len(ALL_COUNTS))
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)
    providers: set[str] = field(default_factory=set)

    def add(self, counts: Sequence[int], latency: Sequence[int]) -> None:
        for i, value in enumerate(counts):
            self.counts[i] += int(value)
        for i, value in enumerate(latency):
            self.latency[i] += int(value)

    def figures(self, key: str | None, provider: str | None = None) -> Figures:
        extra: dict[str, Any] = {}
        if provider is not None:
            extra["provider"] = provider or None
        extra["delivery_p50_ms"] = percentile(self.latency, 0.50)
        extra["delivery_p95_ms"] = percentile(self.latency, 0.95)
        return Figures(key, dict(zip(ALL_COUNTS, self.counts, strict=True)), extra)


#: One row as the stores give it: domain, provider ("" when unknown), counts, delivery time histogram.
DomainRow = tuple[str, str, Sequence[int], Sequence[int]]
#: What the optional MX lookup says of a domain no event named a provider for (None: nothing).
Resolve = Callable[[Iterable[str]], dict[str, str]]


def group_rows(
    rows: Iterable[DomainRow], group_by: str, resolve: Resolve | None = None
) -> tuple[Figures, list[Figures]]:
    """The totals and the groups of ``group_by`` (recipient_domain or provider), busiest first.

    A domain no event named a provider for is asked of ``resolve`` (the MX lookup, when enabled)."""
    by_domain: dict[tuple[str, str], _Group] = {}
    totals = _Group()
    for domain, provider, counts, latency in rows:
        group = by_domain.get((domain, provider))
        if group is None:
            group = by_domain[(domain, provider)] = _Group()
        group.add(counts, latency)
        totals.add(counts, latency)
    # The MX lookup is asked about the busiest domains first: it answers a bounded number at a time.
    unknown = sorted((d for d, p in by_domain if not p), key=lambda d: -by_domain[(d, "")].counts[0])
    found = resolve(unknown) if resolve is not None and unknown else {}
    groups: dict[str, _Group] = {}
    for (domain, provider), part in by_domain.items():
        provider = provider or found.get(domain, "")
        key = domain if group_by == "recipient_domain" else group_key(domain, provider)
        target = groups.get(key)
        if target is None:
            target = groups[key] = _Group()
        target.add(part.counts, part.latency)
        target.providers.add(provider)
    # A row a recipient has left (its fate or provider changed) stays at zero: not a group.
    ordered = sorted(
        ((k, g) for k, g in groups.items() if any(g.counts)), key=lambda item: (-item[1].counts[0], item[0])
    )
    shown = [g.figures(key, max(g.providers) if group_by == "recipient_domain" else None) for key, g in ordered]
    return totals.figures(None), shown


@dataclass(frozen=True, slots=True)
class DiagnosticsQuery:
    since: str
    until: str
    provider: str | None = None
    limit: int = 20

    @classmethod
    def parse(
        cls, since: str | None, until: str | None, provider: str | None, limit: str | None, now: datetime
    ) -> DiagnosticsQuery:
        window = StatsQuery.parse(since, until, None, now)
        try:
            count = int(limit) if limit not in (None, "") else 20
        except ValueError as exc:
            raise UsageError("limit must be a whole number") from exc
        if not 1 <= count <= 1000:
            raise UsageError("limit must be between 1 and 1000")
        wanted = provider.strip().lower() if provider else None
        return cls(window.since, window.until, wanted or None, count)


#: Which reasons a row counts toward: its hard bounces, its soft bounces, its complaints.
REASON_KINDS = ("bounce", "soft_bounce", "complaint")


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str  # one of REASON_KINDS
    provider: str  # the provider's name, else the recipient domain
    reason: str
    count: int
    examples: tuple[str, ...]  # message ids

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "provider": self.provider,
            "reason": self.reason,
            "count": self.count,
            "examples": list(self.examples),
        }


@dataclass(frozen=True, slots=True)
class Diagnostics:
    query: DiagnosticsQuery
    totals: dict[str, int]  # recipients counted per kind
    reasons: list[Reason]

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.query.since,
            "until": self.query.until,
            "provider": self.query.provider,
            "totals": self.totals,
            "reasons": [r.to_json() for r in self.reasons],
        }


#: A diagnostics row from the stores: domain, provider, reason, hard bounces, soft bounces, complaints.
ReasonRow = tuple[str, str, str, int, int, int]
#: Where to find example messages of a reason: (kind, domain, provider, reason) -> message ids.
Examples = Callable[[str, str, str, str], list[str]]


def top_reasons(
    rows: Iterable[ReasonRow], query: DiagnosticsQuery, examples: Examples, resolve: Resolve | None = None
) -> Diagnostics:
    """The reasons, most frequent first, each per provider (a domain no provider is known for stands
    for itself), at most ``query.limit``, with up to three example messages each; only one provider's
    when the query names it."""
    pending = list(rows)
    unknown = sorted({r[0] for r in pending if not r[1]})
    found = resolve(unknown) if resolve is not None and unknown else {}
    merged: dict[tuple[str, str, str], list[Any]] = {}  # -> [count, {(domain, provider): count}]
    totals = dict.fromkeys(REASON_KINDS, 0)
    for domain, provider, reason, *counts in pending:
        who = group_key(domain, provider or found.get(domain, ""))
        if query.provider is not None and who != query.provider:
            continue
        for kind, count in zip(REASON_KINDS, counts, strict=True):
            if count:
                totals[kind] += int(count)
                entry = merged.setdefault((kind, who, reason), [0, {}])
                entry[0] += int(count)
                entry[1][(domain, provider)] = entry[1].get((domain, provider), 0) + int(count)
    ordered = sorted(merged.items(), key=lambda item: (-item[1][0], item[0]))[: query.limit]
    reasons = []
    for (kind, who, reason), (count, sources) in ordered:
        found_ids: list[str] = []
        for domain, provider in sorted(sources, key=lambda s: -sources[s]):  # the biggest source first
            found_ids += [m for m in examples(kind, domain, provider, reason) if m not in found_ids]
            if len(found_ids) >= 3:
                break
        reasons.append(Reason(kind, who, reason, count, tuple(found_ids[:3])))
    return Diagnostics(query, totals, reasons)
