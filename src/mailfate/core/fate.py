"""The fate of a recipient: a pure function of the *set* of its events (docs/fate.md).

Each event contributes a :class:`Summary`; summaries merge with OR, MIN, MAX and "keep the greater
rank", all of which are commutative, associative and idempotent. So the merged summary, and the status
read off it, cannot depend on arrival order or on duplicates. The stores keep exactly these columns and
merge them the same way inside the database (see ``MERGE``), so concurrent writers converge too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from mailfate.core.diagnostics import bounce_reason, complaint_reason
from mailfate.core.jsonutil import dumps
from mailfate.core.model import Event, Kind, Status
from mailfate.core.providers import classify


class BounceClass(StrEnum):
    #: Permanent, or promoted from Transient/Undetermined by a permanent DSN status (rule 2).
    HARD = "hard"
    #: Transient other than General: SES gave up retrying (rule 5).
    SOFT = "soft"
    #: Transient/General or Undetermined: an auto-reply if the mail was delivered, else a soft bounce.
    AMBIGUOUS = "ambiguous"


_DSN = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


def classify_bounce(details: Mapping[str, Any]) -> tuple[BounceClass, bool]:
    """Return the class of a bounce and whether rule 2 reclassified it from Transient/Undetermined."""
    bounce_type = details.get("bounce_type")
    if bounce_type == "Permanent":
        return BounceClass.HARD, False
    ambiguous = bounce_type != "Transient" or details.get("bounce_subtype") == "General"
    if not ambiguous:
        return BounceClass.SOFT, False
    if _permanent_status(details.get("status")):
        return BounceClass.HARD, True
    return BounceClass.AMBIGUOUS, False


def _permanent_status(status: Any) -> bool:
    """A 5.x.x RFC 3463 code that is not a policy code (5.7.x, often a spam block: not the address)."""
    match = _DSN.search(status) if isinstance(status, str) else None
    return bool(match) and match.group(1) == "5" and match.group(2) != "7"  # type: ignore[union-attr]


def _rank(*parts: str) -> str:
    return "\x1f".join(parts)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a recipient's events add up to. Field metadata names the merge each column uses."""

    complaint: bool = field(default=False, metadata={"merge": "or"})
    hard_bounce: bool = field(default=False, metadata={"merge": "or"})
    reject: bool = field(default=False, metadata={"merge": "or"})
    render_failure: bool = field(default=False, metadata={"merge": "or"})
    soft_bounce: bool = field(default=False, metadata={"merge": "or"})
    ambiguous_bounce: bool = field(default=False, metadata={"merge": "or"})
    engaged: bool = field(default=False, metadata={"merge": "or"})
    delayed: bool = field(default=False, metadata={"merge": "or"})
    opened: bool = field(default=False, metadata={"merge": "or"})
    clicked: bool = field(default=False, metadata={"merge": "or"})
    unsubscribed: bool = field(default=False, metadata={"merge": "or"})
    bounce_rank: str = field(default="", metadata={"merge": "rank", "values": ("bounce", "bounce_reason")})
    bounce: str | None = field(default=None, metadata={"merge": "ranked"})
    complaint_rank: str = field(
        default="", metadata={"merge": "rank", "values": ("complaint_info", "complaint_reason")}
    )
    complaint_info: str | None = field(default=None, metadata={"merge": "ranked"})
    delay_rank: str = field(default="", metadata={"merge": "rank", "values": ("delay",)})
    delay: str | None = field(default=None, metadata={"merge": "ranked"})
    first_event_at: str | None = field(default=None, metadata={"merge": "min"})
    last_event_at: str | None = field(default=None, metadata={"merge": "max"})
    address_raw: str = field(default="", metadata={"merge": "max"})
    #: The earliest Delivery: a delivery between soft bounces breaks a soft-bounce streak (suppression).
    delivered_at: str | None = field(default=None, metadata={"merge": "min"})
    #: A not-spam complaint: the mail reached the mailbox (rule 6), though no Delivery may say so.
    not_spam: bool = field(default=False, metadata={"merge": "or"})
    # Where the trouble is (docs/insights.md). New fields go last: the change feed keeps summaries as
    # arrays in this order, and an older, shorter one must still read.
    #: The mailbox provider that hosts the address ("google"...), "" until an event says it.
    provider: str = field(default="", metadata={"merge": "max"})
    #: How long SES took to hand the message over (the Delivery's processingTimeMillis).
    delivery_ms: int | None = field(default=None, metadata={"merge": "min"})
    #: Why it bounced, or what the complaint said, as recipients with the same reason share it.
    bounce_reason: str | None = field(default=None, metadata={"merge": "ranked"})
    complaint_reason: str | None = field(default=None, metadata={"merge": "ranked"})

    def merge(self, other: Summary) -> Summary:
        values: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            match f.metadata["merge"]:
                case "or":
                    values[f.name] = mine or theirs
                case "min" | "max":
                    present = [v for v in (mine, theirs) if v is not None]  # 0 is a value: no truthiness here
                    pick = min if f.metadata["merge"] == "min" else max
                    values[f.name] = pick(present) if present else None
                case "rank":
                    names = f.metadata["values"]
                    ours = mine >= theirs
                    values[f.name] = mine if ours else theirs
                    for name in names:
                        values[name] = getattr(self if ours else other, name)
        return Summary(**values)

    @property
    def status(self) -> Status:
        return next(status for status, holds, _ in STATUS_RULES if holds(self))

    @property
    def auto_reply(self) -> bool:
        return self.status is Status.DELIVERED and self.ambiguous_bounce


#: docs/fate.md, first match wins. The SQL twin of each predicate is what the stores' generated
#: ``status`` column computes; tests check both agree on every combination of flags.
STATUS_RULES: tuple[tuple[Status, Callable[[Summary], bool], str], ...] = (
    (Status.COMPLAINED, lambda s: s.complaint, "complaint"),
    (Status.BOUNCED, lambda s: s.hard_bounce, "hard_bounce"),
    (Status.REJECTED, lambda s: s.reject, "reject"),
    (Status.FAILED, lambda s: s.render_failure, "render_failure"),
    (
        Status.SOFT_BOUNCED,
        lambda s: s.soft_bounce or (s.ambiguous_bounce and not s.engaged),
        "soft_bounce OR (ambiguous_bounce AND NOT engaged)",
    ),
    (Status.DELIVERED, lambda s: s.engaged or s.not_spam, "engaged OR not_spam"),
    (Status.DELAYED, lambda s: s.delayed, "delayed"),
    (Status.SENT, lambda s: True, "TRUE"),
)

#: Column name -> merge kind, for the stores' upsert statements.
MERGE: dict[str, str] = {f.name: f.metadata["merge"] for f in fields(Summary)}
#: A rank column -> the columns that go with the greater rank.
RANKED_VALUES: dict[str, tuple[str, ...]] = {
    f.name: f.metadata["values"] for f in fields(Summary) if "values" in f.metadata
}


def _json(value: Mapping[str, Any]) -> str:
    return dumps(value)


def summarize_event(event: Event) -> Summary:
    """What one event says about its recipient."""
    d = event.details
    base: dict[str, Any] = {
        "first_event_at": event.timestamp,
        "last_event_at": event.timestamp,
        "address_raw": event.recipient_raw,
        "provider": classify(event.recipient, d),
    }
    match event.kind:
        case Kind.COMPLAINT:
            counts = d.get("feedback_type") != "not-spam"
            info = {
                "feedback_type": d.get("feedback_type"),
                "subtype": d.get("complaint_subtype"),
                "user_agent": d.get("user_agent"),
                "feedback_id": d.get("feedback_id"),
                "timestamp": event.timestamp,
            }
            text = _json(info)
            rank = _rank("1" if counts else "0", event.timestamp, event.feedback_id, text)
            return Summary(
                **base, complaint=counts, not_spam=not counts, complaint_rank=rank, complaint_info=text,
                complaint_reason=complaint_reason(d),
            )  # fmt: skip
        case Kind.BOUNCE:
            cls, reclassified = classify_bounce(d)
            info = {
                "type": d.get("bounce_type"),
                "subtype": d.get("bounce_subtype"),
                "action": d.get("action"),
                "status": d.get("status"),
                "diagnostic_code": d.get("diagnostic_code"),
                "reclassified": reclassified,
                "feedback_id": d.get("feedback_id"),
                "timestamp": event.timestamp,
            }
            severity = {BounceClass.HARD: "2", BounceClass.SOFT: "1", BounceClass.AMBIGUOUS: "0"}[cls]
            text = _json(info)
            return Summary(
                **base,
                hard_bounce=cls is BounceClass.HARD,
                soft_bounce=cls is BounceClass.SOFT,
                ambiguous_bounce=cls is BounceClass.AMBIGUOUS,
                bounce_rank=_rank(severity, event.timestamp, event.feedback_id, text),
                bounce=text,
                bounce_reason=bounce_reason(d),
            )
        case Kind.DELIVERY_DELAY:
            info = {
                "type": d.get("delay_type"),
                "status": d.get("status"),
                "diagnostic_code": d.get("diagnostic_code"),
                "expiration_time": d.get("expiration_time"),
                "timestamp": event.timestamp,
            }
            text = _json(info)
            return Summary(**base, delayed=True, delay_rank=_rank(event.timestamp, text), delay=text)
        case Kind.DELIVERY:
            return Summary(**base, engaged=True, delivered_at=event.timestamp, delivery_ms=_millis(d))
        case Kind.OPEN:
            return Summary(**base, engaged=True, opened=True)
        case Kind.CLICK:
            return Summary(**base, engaged=True, clicked=True)
        case Kind.REJECT:
            return Summary(**base, reject=True)
        case Kind.RENDERING_FAILURE:
            return Summary(**base, render_failure=True)
        case Kind.SUBSCRIPTION:
            return Summary(**base, unsubscribed=_opted_out(d.get("new_topic_preferences")))
    return Summary(**base)


#: processingTimeMillis beyond this (over a year) is no time SES took: left out.
_MAX_MILLIS = 366 * 86_400_000


def _millis(details: Mapping[str, Any]) -> int | None:
    value = details.get("processing_time_ms")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_MILLIS:
        return value
    return None


def _opted_out(preferences: Any) -> bool:
    """A Subscription event unsubscribes unless its new preferences plainly opt in to everything."""
    if not isinstance(preferences, dict):
        return True
    if preferences.get("unsubscribeAll"):
        return True
    topics = preferences.get("topicSubscriptionStatus") or []
    return any(isinstance(t, dict) and t.get("subscriptionStatus") == "OptOut" for t in topics)


def fold(events: Iterable[Event]) -> dict[tuple[str, str], Summary]:
    """The reference fold: every (message id, recipient) and its merged summary."""
    result: dict[tuple[str, str], Summary] = {}
    for event in events:
        if not event.recipient:
            continue  # a message-level event (a bounce with no recipient) changes no fate
        key = (event.message_id, event.recipient)
        summary = summarize_event(event)
        previous = result.get(key)
        result[key] = summary if previous is None else previous.merge(summary)
    return result


def message_status(statuses: Iterable[Status]) -> Status | None:
    """The most severe recipient status: complained, bounced, ..., sent, delivered."""
    present = set(statuses)
    return next((s for s in Status if s in present), None)
