"""One extractor per SES event kind: which recipients an event applies to, and the details worth keeping.

Pure, like :mod:`mailfate.sources.parse`, which calls them once it knows the kind, the mail object and
the event's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mailfate.core.addresses import normalize_address
from mailfate.core.jsonutil import depth_within
from mailfate.core.model import Event, Kind, Mail
from mailfate.errors import PayloadError

# One extractor per kind: which recipients the event applies to, and the details worth keeping.
Extractor = Callable[[Mail, dict[str, Any], str, str], Iterable[Event]]


def _details(fields: Mapping[str, str], payload: Mapping[str, Any], source: str) -> dict[str, Any]:
    details = {
        ours: _detail(payload[theirs], theirs) for theirs, ours in fields.items() if payload.get(theirs) is not None
    }
    if source != "event":
        details["timestamp_source"] = source
    return details


def _per_message(kind: Kind, fields: Mapping[str, str]) -> Extractor:
    """Send, Reject, Rendering Failure, Open, Click, Subscription: every address in mail.destination."""

    def extract(mail: Mail, payload: dict[str, Any], stamp: str, source: str) -> Iterable[Event]:
        details = _details(fields, payload, source)
        for raw in mail.destination or ("",):
            yield Event(kind, mail.message_id, normalize_address(raw), raw, stamp, details)

    return extract


def _per_recipient(kind: Kind, list_key: str, fields: Mapping[str, str], each: Mapping[str, str]) -> Extractor:
    """Bounce, Complaint, Delivery, DeliveryDelay: only the recipients the payload lists."""

    def extract(mail: Mail, payload: dict[str, Any], stamp: str, source: str) -> Iterable[Event]:
        common = _details(fields, payload, source)
        listed = payload.get(list_key)
        if listed is None:
            raise PayloadError(f"{kind.value} event without {list_key}")
        if not isinstance(listed, list):
            raise PayloadError(f"{kind.value} {list_key} is not a list")
        if not listed:
            # An auto-reply may arrive with no recipient: kept as an event of the whole message.
            yield Event(kind, mail.message_id, "", "", stamp, common)
        for item in listed:
            raw = item if isinstance(item, str) else item.get("emailAddress") if isinstance(item, dict) else None
            if not isinstance(raw, str) or not raw.strip():
                raise PayloadError(f"{kind.value} {list_key} entry without an address")
            details = dict(common)
            if isinstance(item, dict):
                details.update({o: _detail(item[t], t) for t, o in each.items() if item.get(t) is not None})
            yield Event(kind, mail.message_id, normalize_address(raw), raw, stamp, details)

    return extract


_DSN_FIELDS = {"action": "action", "status": "status", "diagnosticCode": "diagnostic_code"}
EXTRACTORS: dict[Kind, Extractor] = {
    Kind.SEND: _per_message(Kind.SEND, {}),
    Kind.REJECT: _per_message(Kind.REJECT, {"reason": "reason"}),
    Kind.RENDERING_FAILURE: _per_message(
        Kind.RENDERING_FAILURE, {"templateName": "template_name", "errorMessage": "error_message"}
    ),
    Kind.OPEN: _per_message(Kind.OPEN, {"ipAddress": "ip_address", "userAgent": "user_agent"}),
    Kind.CLICK: _per_message(
        Kind.CLICK,
        {"ipAddress": "ip_address", "userAgent": "user_agent", "link": "link", "linkTags": "link_tags"},
    ),
    Kind.SUBSCRIPTION: _per_message(
        Kind.SUBSCRIPTION,
        {
            "contactList": "contact_list",
            "source": "source",
            "newTopicPreferences": "new_topic_preferences",
            "oldTopicPreferences": "old_topic_preferences",
        },
    ),
    Kind.BOUNCE: _per_recipient(
        Kind.BOUNCE,
        "bouncedRecipients",
        {
            "bounceType": "bounce_type",
            "bounceSubType": "bounce_subtype",
            "feedbackId": "feedback_id",
            "reportingMTA": "reporting_mta",
            "remoteMtaIp": "remote_mta_ip",
        },
        _DSN_FIELDS,
    ),
    Kind.COMPLAINT: _per_recipient(
        Kind.COMPLAINT,
        "complainedRecipients",
        {
            "complaintFeedbackType": "feedback_type",
            "complaintSubType": "complaint_subtype",
            "feedbackId": "feedback_id",
            "userAgent": "user_agent",
            "arrivalDate": "arrival_date",
        },
        {},
    ),
    Kind.DELIVERY: _per_recipient(
        Kind.DELIVERY,
        "recipients",
        {
            "smtpResponse": "smtp_response",
            "processingTimeMillis": "processing_time_ms",
            "reportingMTA": "reporting_mta",
            "remoteMtaIp": "remote_mta_ip",
        },
        {},
    ),
    Kind.DELIVERY_DELAY: _per_recipient(
        Kind.DELIVERY_DELAY,
        "delayedRecipients",
        {"delayType": "delay_type", "expirationTime": "expiration_time", "reportingMTA": "reporting_mta"},
        {"status": "status", "diagnosticCode": "diagnostic_code"},
    ),
}


#: How deep a value kept among an event's details may nest (SES's deepest, linkTags, has two levels).
_DETAIL_DEPTH = 8


def _detail(value: Any, name: str) -> Any:
    if isinstance(value, dict | list) and not depth_within(value, _DETAIL_DEPTH):
        raise PayloadError(f"{name} nested deeper than {_DETAIL_DEPTH} levels")
    return value
