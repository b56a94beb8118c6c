"""Whether an address is suppressed, and why (docs/suppression-and-reputation.md). Pure: a function of the address's
fates, the suppressions added or lifted by hand, the policy and the clock, never of arrival order.

- ``complaint``: a complaint (rule 1). ``bounce``: a hard bounce (rule 2). ``manual``: added by hand.
- ``soft_bounce``: ``count`` soft-bounced messages (rule 5) whose bounce times fall within ``window``,
  with no Delivery timestamped between them or after them; it expires ``expiry`` after the last soft
  bounce. A Delivery that arrives late but is timestamped in between breaks the streak, as if it had
  arrived in order. Auto-replies are ``delivered`` fates, so they never count.
- Lifting by hand clears whatever is timestamped before the lift: later events suppress again.

This module is the only place that decides. The stores run :func:`suppression_of` in the transaction
that changes an address's facts and keep its answer; every surface reads that answer, applying only
the expiry of a soft-bounce suppression (:meth:`Suppression.in_force`). They read no more facts than
:func:`sufficient_facts` keeps, so the cost of a change does not grow with the address's history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mailfate.core.model import Status
from mailfate.core.timestamps import format_timestamp, parse_timestamp

#: When several reasons hold, the one reported: the worst first.
REASONS = ("complaint", "bounce", "manual", "soft_bounce")


@dataclass(frozen=True, slots=True)
class Policy:
    soft_bounce_count: int = 3
    soft_bounce_window: timedelta = timedelta(days=30)
    soft_bounce_expiry: timedelta = timedelta(days=30)
    #: The key of the hashes erased addresses are kept under (MAILFATE_ERASURE_KEY); None: not configured.
    #: It travels with the rules because every place that decides a suppression needs it.
    erasure_key: bytes | None = field(default=None, repr=False, compare=False)


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

    @classmethod
    def from_json(cls, address: str, body: dict[str, Any]) -> Suppression:
        return cls(address, body["reason"], body["since"], body.get("expires_at"), body.get("event"))

    @property
    def note(self) -> str | None:
        """What the person who suppressed the address by hand said about it (``--reason``)."""
        reason = (self.event or {}).get("reason") if self.reason == "manual" else None
        return reason if isinstance(reason, str) and reason else None

    def in_force(self, now: datetime) -> bool:
        """Time ends a soft-bounce suppression and nothing else: the one rule applied when reading."""
        return self.expires_at is None or self.expires_at > format_timestamp(now)


def suppression_of(
    address: str,
    fates: Iterable[FateFacts],
    actions: Iterable[Action],
    policy: Policy,
    now: datetime,
    kept: Iterable[Suppression] = (),
) -> Suppression | None:
    """The suppression in force of ``address``, or None. ``kept`` are suppressions decided before their
    facts were pruned (retention) or erased (``forget``): each still holds, unless lifted by hand since;
    a kept soft-bounce one also ends when it expires or a later Delivery breaks its streak."""
    fates = list(fates)
    actions = list(actions)
    lifted = max((a.at for a in actions if a.action == "lift"), default="")
    found: dict[str, Suppression] = {}

    def consider(reason: str, since: str, event: dict[str, Any] | None, expires: str | None = None) -> None:
        current = found.get(reason)
        # The earliest cause; of two at the same instant, the lesser message id: never the first one read.
        if since > lifted and (current is None or (since, _message(event)) < (current.since, _message(current.event))):
            found[reason] = Suppression(address, reason, since, expires, event)

    for fate in fates:
        if fate.status is Status.COMPLAINED and fate.complaint:
            consider("complaint", fate.complaint["timestamp"], _event("Complaint", fate.message_id, fate.complaint))
        # The bounce kept for a fate is its worst, so a hard bounce shows here whatever came with it.
        if fate.bounce and _hard(fate.bounce):
            consider("bounce", fate.bounce["timestamp"], _event("Bounce", fate.message_id, fate.bounce))
    for action in actions:
        if action.action == "suppress":
            consider("manual", action.at, {"kind": "manual", "reason": action.reason})
    last_delivery = max((f.delivered_at for f in fates if f.delivered_at), default="")
    for earlier in kept:
        if earlier.reason == "soft_bounce" and (not earlier.in_force(now) or last_delivery > earlier.since):
            continue
        consider(earlier.reason, earlier.since, earlier.event, earlier.expires_at)
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


def sufficient_facts(fates: Iterable[FateFacts], actions: Iterable[Action]) -> tuple[list[FateFacts], list[Action]]:
    """The few facts that decide :func:`suppression_of`: it gives the same answer from these as from all.

    The lift is the latest one; complaints and hard bounces count only after it; soft bounces only
    after it and after the latest Delivery, of which only the timestamp matters. The stores read
    exactly these (with indexes that reach them directly), so an address's deliveries and old troubles
    cost nothing. Suppressions added by hand are kept whole: there are few.
    """
    actions = list(actions)
    lifted = max((a.at for a in actions if a.action == "lift"), default="")
    fates = list(fates)
    latest = max((f for f in fates if f.delivered_at), key=lambda f: f.delivered_at or "", default=None)
    soft_from = max(lifted, latest.delivered_at if latest and latest.delivered_at else "")
    kept = [
        f
        for f in fates
        if (f.status is Status.COMPLAINED and f.complaint and f.complaint["timestamp"] > lifted)
        or (f.bounce and _hard(f.bounce) and f.bounce["timestamp"] > lifted)
        or (f.status is Status.SOFT_BOUNCED and f.bounce and f.bounce["timestamp"] > soft_from)
    ]
    if latest is not None and latest not in kept:
        kept.append(FateFacts(latest.message_id, Status.DELIVERED, None, None, latest.delivered_at))
    return kept, actions


def _message(event: dict[str, Any] | None) -> str:
    return str((event or {}).get("message_id") or "")


def _hard(bounce: dict[str, Any]) -> bool:
    return bounce.get("type") == "Permanent" or bool(bounce.get("reclassified"))
