"""The domain vocabulary: what SES tells us, normalized.

A *record* is one thing that arrived (an SNS envelope, an SQS body, an EventBridge event, a line of a
file). Each record yields zero or more :class:`Event` values, one per affected recipient, and at most
one :class:`Mail` describing the message they belong to. Nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mailfate.core.jsonutil import loads


class Kind(StrEnum):
    """The ten kinds of SES event, spelled as the API and the event timeline show them."""

    #: SES accepted the message and will try to deliver it.
    SEND = "Send"
    #: SES refused the message (a virus was found); it was never sent.
    REJECT = "Reject"
    #: The receiving side (or SES itself) gave up on the recipient.
    BOUNCE = "Bounce"
    #: The recipient reported the message, usually as spam.
    COMPLAINT = "Complaint"
    #: The recipient's mail server accepted the message.
    DELIVERY = "Delivery"
    #: A delivery attempt failed temporarily; SES keeps trying.
    DELIVERY_DELAY = "DeliveryDelay"
    #: The recipient opened the message (tracking pixel loaded).
    OPEN = "Open"
    #: The recipient clicked a tracked link.
    CLICK = "Click"
    #: A template could not be rendered; the message was not sent.
    RENDERING_FAILURE = "RenderingFailure"
    #: The recipient changed their subscription (list management).
    SUBSCRIPTION = "Subscription"


class Status(StrEnum):
    """The fate of one (message, recipient), from worst to best as docs/fate.md ranks them."""

    #: A complaint (any feedback type but ``not-spam``).
    COMPLAINED = "complained"
    #: A hard bounce, including a Transient/Undetermined one whose DSN status is permanent.
    BOUNCED = "bounced"
    #: SES rejected the message before sending.
    REJECTED = "rejected"
    #: The template failed to render.
    FAILED = "failed"
    #: SES stopped retrying after temporary failures.
    SOFT_BOUNCED = "soft_bounced"
    #: SES is still retrying.
    DELAYED = "delayed"
    #: SES accepted it; nothing further heard.
    SENT = "sent"
    #: The receiving server accepted it.
    DELIVERED = "delivered"


#: Message status is the most severe of its recipients' statuses, in this order.
SEVERITY: tuple[Status, ...] = tuple(Status)


@dataclass(frozen=True, slots=True)
class Mail:
    """The ``mail`` object SES attaches to every event: what was sent, by whom, to whom."""

    message_id: str
    source: str | None = None
    from_: Sequence[str] = ()
    subject: str | None = None
    sent_at: str | None = None
    destination: Sequence[str] = ()
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: As SES lists them: ``{"name": ..., "value": ...}`` in the original order.
    headers: Sequence[Mapping[str, Any]] = ()
    configuration_set: str | None = None
    sending_account: str | None = None

    @property
    def from_domain(self) -> str | None:
        """The sending domain, for grouping reputation figures."""
        tagged = self.tags.get("ses:from-domain")
        if tagged:
            return tagged[0].lower()
        address = self.from_[0] if self.from_ else self.source
        if address and "@" in address:
            return address.rsplit("@", 1)[1].strip(" >").lower()
        return None


@dataclass(frozen=True, slots=True)
class Event:
    """One normalized event for one recipient (or for the whole message when ``recipient`` is empty)."""

    kind: Kind
    message_id: str
    recipient: str
    recipient_raw: str
    timestamp: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def feedback_id(self) -> str:
        value = self.details.get("feedback_id")
        return value if isinstance(value, str) else ""

    @property
    def identity(self) -> str:
        """What makes two arrivals the same event, whatever route they took (docs/fate.md, "Events,
        duplicates and channels")."""
        parts = (self.kind.value, self.message_id, self.recipient, self.timestamp, self.feedback_id)
        data = "\x1f".join(parts).encode("utf-8", "surrogatepass")  # parsed text is storable; never fail here
        return hashlib.blake2b(data, digest_size=16).hexdigest()


class RecordKind(StrEnum):
    """What a stored raw record turned out to be."""

    #: An SES event with at least one (possibly message-level) event.
    EVENT = "event"
    #: Accepted and kept, but carries no event (topic validation text, non-email EventBridge events).
    NOTE = "note"
    #: An SNS SubscriptionConfirmation.
    SUBSCRIPTION_CONFIRMATION = "subscription_confirmation"
    #: An SNS UnsubscribeConfirmation.
    UNSUBSCRIBE_CONFIRMATION = "unsubscribe_confirmation"


@dataclass(frozen=True, slots=True)
class Record:
    """One understood record: its identity for deduplication, and what it says."""

    key: str
    transport: str
    kind: RecordKind
    body: str
    mail: Mail | None = None
    events: tuple[Event, ...] = ()
    sns: Mapping[str, Any] | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be understood: it goes to quarantine with the reason.

    ``body`` is kept exactly: bytes as they arrived (NUL bytes and invalid UTF-8 included), or text.
    ``size`` is set instead of the body for a record too large to hold in memory (``body`` then holds
    only its beginning), so that it is kept by reference to where it lies. ``authenticated`` is False
    for what anyone could have sent (a body posted to ``/sns`` before any signature was checked): the
    quarantine's size budget drops that first.
    """

    reason: str
    body: str | bytes
    transport: str = "file"
    location: str | None = None
    size: int | None = None
    authenticated: bool = True

    @property
    def raw(self) -> bytes:
        """The body as bytes (text that cannot be UTF-8 keeps its lone surrogates as their code units)."""
        return self.body if isinstance(self.body, bytes) else self.body.encode("utf-8", "surrogatepass")


def conflicting(record: Record, reason: str) -> Rejected:
    """A record kept in quarantine because its key is taken by other content."""
    return Rejected(reason, record.body, record.transport, record.key)


def same_content(a: str, b: str) -> bool:
    """Whether two bodies that carry the same record key say the same thing.

    One SNS notification arrives as different text by different routes (an HTTP POST, an SQS body, a
    file that decoded its ``Message``): what SNS signed (its type, topic and ``Message``) decides, and
    for other records the decoded document does.
    """
    if a == b:
        return True
    return bool(_content(a) == _content(b))


def _content(body: str) -> Any:
    try:
        value = loads(body)
    except ValueError:
        return body
    while isinstance(value, dict) and isinstance(value.get("Body"), str) and "Type" not in value:
        try:  # an SQS message around it
            value = loads(value["Body"])
        except ValueError:
            break
    if isinstance(value, dict) and "Type" in value and "Message" in value:
        message = value["Message"]
        if isinstance(message, str):
            with contextlib.suppress(ValueError):
                message = loads(message)
        return (value.get("Type"), value.get("TopicArn"), message)
    return value
