"""Reputation figures (docs/suppression-and-reputation.md): what was sent in a window, and how close the
account is to an SES review or pause. Counted by the database in one pass; rates and levels computed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mailfate.core.timestamps import BadTimestamp, format_timestamp, parse_timestamp
from mailfate.errors import UsageError

#: SES thresholds (developer guide, reputation dashboard): (under review from, pause risk from).
BOUNCE_THRESHOLDS = (0.05, 0.10)
COMPLAINT_THRESHOLDS = (0.001, 0.005)
COUNTS = ("sent", "delivered", "hard_bounces", "soft_bounces", "auto_replies", "complaints", "opens", "clicks")
#: The rates' numerators and denominator leave out the mailbox simulator, and the bounce rate leaves out
#: bounces of addresses on the account-level suppression list (SES does not count them either).
#: day: the UTC date of sending, YYYY-MM-DD; recipient_domain and provider group recipients, not messages
#: (docs/insights.md).
GROUPINGS = ("configuration_set", "sending_domain", "day", "recipient_domain", "provider")


def level(rate: float, thresholds: tuple[float, float]) -> str:
    review, pause = thresholds
    return "pause_risk" if rate >= pause else "under_review" if rate >= review else "healthy"


@dataclass(frozen=True, slots=True)
class Figures:
    key: str | None
    counts: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)  # what some groupings add (delivery latency)

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        sent = c["sent"] - c["excluded_sent"]
        bounce_rate = (c["hard_bounces"] - c["excluded_bounces"]) / sent if sent else 0.0
        complaint_rate = (c["complaints"] - c["excluded_complaints"]) / sent if sent else 0.0
        body: dict[str, Any] = {} if self.key is None else {"key": self.key}
        body.update({name: self.counts[name] for name in COUNTS})
        body.update(
            bounce_rate=round(bounce_rate, 6),
            complaint_rate=round(complaint_rate, 6),
            bounce_level=level(bounce_rate, BOUNCE_THRESHOLDS),
            complaint_level=level(complaint_rate, COMPLAINT_THRESHOLDS),
        )
        body.update(self.extra)
        return body


@dataclass(frozen=True, slots=True)
class StatsQuery:
    since: str
    until: str
    group_by: str | None = None  # one of GROUPINGS, or tag:NAME

    @classmethod
    def parse(cls, since: str | None, until: str | None, group_by: str | None, now: datetime) -> StatsQuery:
        try:
            end = parse_timestamp(until) if until else now
            start = parse_timestamp(since) if since else end - timedelta(days=7)
        except OverflowError as exc:  # a week before the first day of the calendar
            raise UsageError("until is too early: give since as well") from exc
        except BadTimestamp as exc:
            raise UsageError(f"since and until must be ISO 8601 times: {exc}") from exc
        if start >= end:
            raise UsageError("since must be before until")
        if group_by and group_by not in GROUPINGS and not (group_by.startswith("tag:") and len(group_by) > 4):
            raise UsageError(
                "group_by must be configuration_set, sending_domain, day, recipient_domain, provider or tag:NAME"
            )
        if group_by and '"' in group_by:
            raise UsageError("a tag name cannot contain a double quote")
        return cls(format_timestamp(start), format_timestamp(end), group_by or None)

    @property
    def tag(self) -> str | None:
        return self.group_by[4:] if self.group_by and self.group_by.startswith("tag:") else None


@dataclass(frozen=True, slots=True)
class Stats:
    query: StatsQuery
    totals: Figures
    groups: list[Figures]

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.query.since,
            "until": self.query.until,
            "group_by": self.query.group_by,
            "totals": self.totals.to_json(),
            "groups": [g.to_json() for g in self.groups],
        }


ALL_COUNTS = (*COUNTS, "excluded_sent", "excluded_bounces", "excluded_complaints")
