"""What the clients return for a message and an address: typed, read from the service's JSON.

They have the attributes of the library's views (:class:`mailfate.MessageView`, :class:`mailfate.Fate`,
:class:`mailfate.RecipientView`), so that code written against ``store.message(...)`` runs against
``client.message(...)``: ``view.status`` is a :class:`mailfate.Status`, each recipient has ``address``,
``status`` and ``auto_reply``, and ``to_json()`` gives back the object the API answered (docs/api.md).
What the library computes from its stored facts (a fate's explanation) comes here as the service wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from mailfate.core.model import Status


class SuppressionJSON(TypedDict):
    reason: str
    since: str
    expires_at: str | None
    event: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RecipientFate:
    """The fate of one recipient of one message (the library's :class:`mailfate.Fate`)."""

    message_id: str
    address: str
    status: Status
    auto_reply: bool = False
    opened: bool = False
    clicked: bool = False
    unsubscribed: bool = False
    bounce: dict[str, Any] | None = None
    complaint: dict[str, Any] | None = None
    delay: dict[str, Any] | None = None
    first_event_at: str | None = None
    last_event_at: str | None = None
    explanation: str = ""
    address_as_sent: str = ""

    @classmethod
    def from_json(cls, body: dict[str, Any], message_id: str, address: str) -> RecipientFate:
        return cls(
            message_id=message_id,
            address=address,
            status=Status(body["status"]),
            auto_reply=bool(body.get("auto_reply")),
            opened=bool(body.get("opened")),
            clicked=bool(body.get("clicked")),
            unsubscribed=bool(body.get("unsubscribed")),
            bounce=body.get("bounce"),
            complaint=body.get("complaint"),
            delay=body.get("delay"),
            first_event_at=body.get("first_event_at"),
            last_event_at=body.get("last_event_at"),
            explanation=body.get("explanation") or "",
            address_as_sent=body.get("address_as_sent") or address,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "address_as_sent": self.address_as_sent or self.address,
            "status": self.status.value,
            "auto_reply": self.auto_reply,
            "opened": self.opened,
            "clicked": self.clicked,
            "unsubscribed": self.unsubscribed,
            "bounce": self.bounce,
            "complaint": self.complaint,
            "delay": self.delay,
            "first_event_at": self.first_event_at,
            "last_event_at": self.last_event_at,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One stored event of a message (the library's ``StoredEvent``)."""

    kind: str
    recipient: str  # "" for an event of the whole message
    timestamp: str
    received_at: str
    transport: str
    details: dict[str, Any]
    record_key: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> MessageEvent:
        return cls(
            body["kind"],
            body.get("recipient") or "",
            body["timestamp"],
            body["received_at"],
            body.get("source") or "",
            body.get("details") or {},
            body.get("record") or "",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "recipient": self.recipient or None,
            "timestamp": self.timestamp,
            "received_at": self.received_at,
            "source": self.transport,
            "record": self.record_key,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """``GET /api/messages/{id}`` (the library's :class:`mailfate.MessageView`)."""

    message_id: str
    status: Status
    recipient_counts: dict[str, int]
    source: str | None
    from_: list[str]
    subject: str | None
    sent_at: str | None
    destination: list[str]
    tags: dict[str, list[str]]
    configuration_set: str | None
    sending_account: str | None
    recipients: list[RecipientFate] = field(default_factory=list)
    events: list[MessageEvent] = field(default_factory=list)
    next_recipients_cursor: str | None = None
    next_events_cursor: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Message:
        message_id = body["message_id"]
        return cls(
            message_id=message_id,
            status=Status(body["status"]),
            recipient_counts=dict(body.get("recipient_counts") or {}),
            source=body.get("source"),
            from_=list(body.get("from") or []),
            subject=body.get("subject"),
            sent_at=body.get("sent_at"),
            destination=list(body.get("destination") or []),
            tags=dict(body.get("tags") or {}),
            configuration_set=body.get("configuration_set"),
            sending_account=body.get("sending_account"),
            recipients=[RecipientFate.from_json(r, message_id, r["address"]) for r in body.get("recipients", [])],
            events=[MessageEvent.from_json(e) for e in body.get("events", [])],
            next_recipients_cursor=body.get("next_recipients_cursor"),
            next_events_cursor=body.get("next_events_cursor"),
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": self.message_id,
            "status": self.status.value,
            "recipient_counts": self.recipient_counts,
            "source": self.source,
            "from": self.from_,
            "subject": self.subject,
            "sent_at": self.sent_at,
            "destination": self.destination,
            "tags": self.tags,
            "configuration_set": self.configuration_set,
            "sending_account": self.sending_account,
            "recipients": [r.to_json() for r in self.recipients],
            "events": [e.to_json() for e in self.events],
        }
        if self.next_recipients_cursor:
            body["next_recipients_cursor"] = self.next_recipients_cursor
        if self.next_events_cursor:
            body["next_events_cursor"] = self.next_events_cursor
        return body


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message sent to an address, as the address lookup lists it (the library's ``RecipientMessage``)."""

    fate: RecipientFate
    subject: str | None
    sent_at: str | None

    @property
    def message_id(self) -> str:
        return self.fate.message_id

    def to_json(self) -> dict[str, Any]:
        body = self.fate.to_json()
        body.pop("address")
        return {"message_id": self.fate.message_id, "subject": self.subject, "sent_at": self.sent_at, **body}


@dataclass(frozen=True, slots=True)
class Recipient:
    """``GET /api/recipients/{address}`` (the library's :class:`mailfate.RecipientView`)."""

    address: str
    messages: list[SentMessage]
    suppression: SuppressionJSON | None = None
    next_cursor: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Recipient:
        address = body["address"]
        messages = [
            SentMessage(RecipientFate.from_json(m, m["message_id"], address), m.get("subject"), m.get("sent_at"))
            for m in body.get("messages", [])
        ]
        return cls(address, messages, body.get("suppression"), body.get("next_cursor"))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "address": self.address,
            "suppressed": self.suppressed,
            "suppression": self.suppression,
            "messages": [m.to_json() for m in self.messages],
        }
        if self.next_cursor:
            body["next_cursor"] = self.next_cursor
        return body
