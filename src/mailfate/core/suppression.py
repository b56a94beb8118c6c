"""Whether an address is suppressed, and why (SPEC section 5). Pure: a function of the address's
fates, the suppressions added or lifted by hand, the policy and the clock, never of arrival order.

- ``complaint``: a complaint (rule 1). ``bounce``: a hard bounce (rule 2). ``manual``: added by hand.
- ``soft_bounce``: ``count`` soft-bounced messages (rule 5) whose bounce times fall within ``window``,
  with no Delivery timestamped between them or after them; it expires ``expiry`` after the last soft
  bounce. A Delivery that arrives late but is timestamped in between breaks the streak, as if it had
  arrived in order. Auto-replies are ``delivered`` fates, so they never count.
- Lifting by hand clears whatever is timestamped before the lift: later events suppress again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mailfate.core.model import Status
from mailfate.core.timestamps import format_timestamp, parse_timestamp
from mailfate.core.views import RecipientView

#: When several reasons hold, the one reported: the worst first.
REASONS = ("complaint", "bounce", "manual", "soft_bounce")


@dataclass(frozen=True, slots=True)
class Policy:
    soft_bounce_count: int = 3
    soft_bounce_window: timedelta = timedelta(days=30)
    soft_bounce_expiry: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class FateFacts:
    """What one (message, address) fate tells the suppression rules."""

    message_id: str
    status: Status
    bounce: dict[str, Any] | None
    complaint: dict[str, Any] | None
    delivered_at: str | None

    @classmethod
    def from_row(cls, message_id: str, status: str, bounce: str | None, complaint: str | None,
                 delivered_at: str | None) -> FateFacts:  # fmt: skip
        return cls(
            message_id,
            Status(status),
            json.loads(bounce) if bounce else None,
            json.loads(complaint) if complaint else None,
            delivered_at,
        )


@dataclass(frozen=True, slots=True)
class Action:
    """A suppression added (``suppress``) or lifted (``lift``) by hand at ``at``."""

    action: str
    at: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    address: str
    reason: str
    since: str
    expires_at: str | None
    event: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "since": self.since, "expires_at": self.expires_at, "event": self.event}

    def to_item(self) -> dict[str, Any]:
        """As the suppression list shows it: with the address."""
        return {"address": self.address, **self.to_json()}


def suppression_of(
    address: str, fates: Iterable[FateFacts], actions: Iterable[Action], policy: Policy, now: datetime
) -> Suppression | None:
    fates = list(fates)
    actions = list(actions)
    lifted = max((a.at for a in actions if a.action == "lift"), default="")
    found: dict[str, Suppression] = {}

    def consider(reason: str, since: str, event: dict[str, Any] | None, expires: str | None = None) -> None:
        current = found.get(reason)
        if since > lifted and (current is None or since < current.since):
            found[reason] = Suppression(address, reason, since, expires, event)

    for fate in fates:
        if fate.status is Status.COMPLAINED and fate.complaint:
            consider("complaint", fate.complaint["timestamp"], _event("Complaint", fate.message_id, fate.complaint))
        # The bounce kept for a fate is its worst, so a hard bounce shows here whatever came with it.
        if fate.bounce and (fate.bounce.get("type") == "Permanent" or fate.bounce.get("reclassified")):
            consider("bounce", fate.bounce["timestamp"], _event("Bounce", fate.message_id, fate.bounce))
    for action in actions:
        if action.action == "suppress":
            consider("manual", action.at, {"kind": "manual", "reason": action.reason})
    soft = _soft_bounce(address, fates, lifted, policy, now)
    if soft is not None:
        consider(soft.reason, soft.since, soft.event, soft.expires_at)
    return next((found[r] for r in REASONS if r in found), None)


def _soft_bounce(
    address: str, fates: Sequence[FateFacts], lifted: str, policy: Policy, now: datetime
) -> Suppression | None:
    last_delivery = max((f.delivered_at for f in fates if f.delivered_at), default="")
    streak = sorted(
        (f.bounce["timestamp"], f.message_id, f.bounce)
        for f in fates
        if f.status is Status.SOFT_BOUNCED and f.bounce and f.bounce["timestamp"] > max(last_delivery, lifted)
    )
    n = policy.soft_bounce_count
    for i in range(len(streak) - n + 1):
        first, last = parse_timestamp(streak[i][0]), parse_timestamp(streak[i + n - 1][0])
        if last - first <= policy.soft_bounce_window:
            expires = parse_timestamp(streak[-1][0]) + policy.soft_bounce_expiry
            if expires <= now:
                return None
            _, message_id, bounce = streak[i + n - 1]
            return Suppression(
                address, "soft_bounce", streak[i + n - 1][0], format_timestamp(expires),
                _event("Bounce", message_id, bounce),
            )  # fmt: skip
    return None


def _event(kind: str, message_id: str, info: dict[str, Any]) -> dict[str, Any]:
    """The event that caused a suppression, as the API shows it."""
    event = {"kind": kind, "message_id": message_id, "timestamp": info.get("timestamp")}
    if kind == "Bounce":
        event.update(type=info.get("type"), subtype=info.get("subtype"), status=info.get("status"))
    else:
        event.update(feedback_type=info.get("feedback_type"))
    return event


class FactSource(Protocol):
    def suppression_facts(
        self, addresses: Sequence[str] | None = None
    ) -> dict[str, tuple[list[FateFacts], list[Action]]]: ...


def suppressions(
    store: FactSource, policy: Policy, now: datetime, addresses: Sequence[str] | None = None
) -> list[Suppression]:
    """Every suppressed address (or those of ``addresses`` that are), by address."""
    found = []
    for address, (fates, actions) in sorted(store.suppression_facts(addresses).items()):
        suppression = suppression_of(address, fates, actions, policy, now)
        if suppression is not None:
            found.append(suppression)
    return found


class SuppressedSource(FactSource, Protocol):
    def suppressed_addresses(
        self, now: str, after: str | None = None, limit: int = 100, contains: str | None = None
    ) -> list[str]: ...


def suppression_page(
    store: SuppressedSource,
    policy: Policy,
    now: datetime,
    limit: int,
    after: str | None = None,
    contains: str | None = None,
) -> tuple[list[Suppression], str | None]:
    """One page of the suppression list, by address, after ``after``; and the last address read when
    there is more (None: the end). The store names the addresses (those it has announced as suppressed,
    an indexed read); the rules above decide each one, as everywhere else."""
    addresses = store.suppressed_addresses(format_timestamp(now), after, limit + 1, contains)
    more = len(addresses) > limit
    addresses = addresses[:limit]
    return suppressions(store, policy, now, addresses), addresses[-1] if more and addresses else None


def every_suppression(
    store: SuppressedSource, policy: Policy, now: datetime, page: int = 1000
) -> Iterator[Suppression]:
    """The whole suppression list, by address, read a page at a time."""
    after: str | None = None
    while True:
        found, after = suppression_page(store, policy, now, page, after)
        yield from found
        if after is None:
            return


def suppression_for(store: FactSource, address: str, policy: Policy, now: datetime) -> Suppression | None:
    found = suppressions(store, policy, now, [address])
    return found[0] if found else None


def with_suppression(
    store: FactSource, view: RecipientView, policy: Policy, now: datetime | None = None
) -> RecipientView:
    """The recipient view with its suppression filled in."""
    current = suppression_for(store, view.address, policy, now or datetime.now(UTC))
    return replace(view, suppression=current.to_json() if current else None)
