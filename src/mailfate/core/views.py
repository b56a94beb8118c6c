"""What the stores return, and its JSON form (the contract shapes of docs/api.md)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mailfate.core.explain import explain_fate
from mailfate.core.fate import Summary, message_status
from mailfate.core.model import Status


@dataclass(frozen=True, slots=True)
class Fate:
    """The fate of one recipient of one message."""

    message_id: str
    address: str
    summary: Summary

    @property
    def status(self) -> Status:
        return self.summary.status

    def to_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "address": self.address,
            "address_as_sent": s.address_raw or self.address,
            "status": s.status.value,
            "auto_reply": s.auto_reply,
            "opened": s.opened,
            "clicked": s.clicked,
            "unsubscribed": s.unsubscribed,
            "bounce": _loads(s.bounce),
            "complaint": _loads(s.complaint_info),
            "delay": _loads(s.delay),
            "first_event_at": s.first_event_at,
            "last_event_at": s.last_event_at,
            "explanation": explain_fate(s),
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    kind: str
    recipient: str
    timestamp: str
    received_at: str
    transport: str
    details: dict[str, Any]
    record_key: str

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
class MessageView:
    message_id: str
    source: str | None
    from_: list[str]
    subject: str | None
    sent_at: str | None
    destination: list[str]
    tags: dict[str, list[str]]
    configuration_set: str | None
    sending_account: str | None
    recipients: list[Fate] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    # A message with very many recipients or events is answered in parts: the counts are of every
    # recipient (None: count those listed), the cursors lead to the next part (None: nothing more).
    counts: dict[str, int] | None = None
    next_recipients_cursor: str | None = None
    next_events_cursor: str | None = None

    @property
    def recipient_counts(self) -> dict[str, int]:
        if self.counts is not None:
            return {s.value: self.counts.get(s.value, 0) for s in Status}
        counted = Counter(f.status.value for f in self.recipients)
        return {s.value: counted.get(s.value, 0) for s in Status}

    @property
    def status(self) -> Status:
        present = (Status(s) for s, n in self.recipient_counts.items() if n)
        return message_status(present) or Status.SENT

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
            "recipients": [f.to_json() for f in self.recipients],
            "events": [e.to_json() for e in self.events],
        }
        # Only when there is more: the shape of an ordinary message stays as it always was.
        if self.next_recipients_cursor:
            body["next_recipients_cursor"] = self.next_recipients_cursor
        if self.next_events_cursor:
            body["next_events_cursor"] = self.next_events_cursor
        return body


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """A message as the message list shows it: no per-recipient detail, just the counts."""

    message_id: str
    status: Status
    recipient_counts: dict[str, int]
    source: str | None
    subject: str | None
    sent_at: str | None
    tags: dict[str, list[str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "status": self.status.value,
            "recipient_counts": {s.value: self.recipient_counts.get(s.value, 0) for s in Status},
            "source": self.source,
            "subject": self.subject,
            "sent_at": self.sent_at,
            "tags": self.tags,
        }


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[MessageSummary]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"messages": [m.to_json() for m in self.messages], "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class RecipientMessage:
    """One message sent to an address, as the address lookup lists it."""

    fate: Fate
    subject: str | None
    sent_at: str | None

    def to_json(self) -> dict[str, Any]:
        body = self.fate.to_json()
        body.pop("address")
        return {"message_id": self.fate.message_id, "subject": self.subject, "sent_at": self.sent_at, **body}


@dataclass(frozen=True, slots=True)
class RecipientView:
    address: str
    messages: list[RecipientMessage]
    suppression: dict[str, Any] | None = None
    next_cursor: str | None = None  # to the next page of messages; None: no more

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "address": self.address,
            "suppressed": self.suppression is not None,
            "suppression": self.suppression,
            "messages": [m.to_json() for m in self.messages],
        }
        if self.next_cursor:  # only when there are older messages
            body["next_cursor"] = self.next_cursor
        return body


#: How much of a quarantined body a list shows (the whole body is one request away).
PREVIEW_BYTES = 300


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """A quarantined record. Lists carry the beginning of the body (``body`` is None); one item read
    by its id carries all of it, byte for byte."""

    id: int
    received_at: str
    transport: str
    location: str | None
    reason: str
    size: int
    authenticated: bool
    preview: bytes
    body: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """The list form: a preview as text (invalid UTF-8 shown as U+FFFD)."""
        return {
            "id": self.id,
            "received_at": self.received_at,
            "source": self.transport,
            "location": self.location,
            "reason": self.reason,
            "size": self.size,
            "authenticated": self.authenticated,
            "preview": _preview(self.preview),
            "truncated": self.size > len(self.preview),
        }

    def to_json_with_body(self) -> dict[str, Any]:
        """One item with its whole body: as text when it is UTF-8 without NUL, else base64."""
        body = self.body or b""
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
            if "\x00" in text:
                raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL")
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(body).decode(), "base64"
        return {**self.to_json(), "body": text, "body_encoding": encoding}


def _preview(data: bytes) -> str:
    text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)


@dataclass(slots=True)
class IngestResult:
    """What one call to ``Store.ingest`` did. ``outcomes`` has one entry per item, in order."""

    records: int = 0
    events: int = 0
    duplicates: int = 0
    duplicate_events: int = 0
    quarantined: int = 0
    notes: int = 0
    outcomes: list[str] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.records += other.records
        self.events += other.events
        self.duplicates += other.duplicates
        self.duplicate_events += other.duplicate_events
        self.quarantined += other.quarantined
        self.notes += other.notes
        self.outcomes.extend(other.outcomes)

    def to_json(self) -> dict[str, int]:
        """Each count apart: ``duplicates`` are records already stored (by SNS MessageId or content),
        ``duplicate_events`` events of new records that had arrived by another route."""
        return {
            "records": self.records,
            "events": self.events,
            "duplicates": self.duplicates,
            "duplicate_records": self.duplicates,
            "duplicate_events": self.duplicate_events,
            "quarantined": self.quarantined,
            "notes": self.notes,
        }


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None
