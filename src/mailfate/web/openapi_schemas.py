"""The JSON shapes of the API, as OpenAPI 3.1 schemas (docs/api.md). :mod:`.openapi` puts them
in the document; tests/test_http_api.py checks real responses against them."""

from __future__ import annotations

from typing import Any

from mailfate.core.model import Kind, Status

STATUS = {"type": "string", "enum": [s.value for s in Status]}
TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_QUARANTINE_FIELDS: dict[str, Any] = {
    "id": {"type": "integer"},
    "received_at": TIME,
    "source": {"type": "string"},
    "location": {"type": ["string", "null"]},
    "reason": {"type": "string"},
    "size": {"type": "integer", "description": "bytes received (a record kept by reference: its full size)"},
    "authenticated": {
        "type": "boolean",
        "description": "false for a body posted to /sns before any signature check (dropped first)",
    },
    "preview": {"type": "string", "description": "the first bytes of the body as text"},
    "truncated": {"type": "boolean", "description": "the preview is not the whole body"},
}


_SUPPRESSION: dict[str, Any] = {
    "reason": {"type": "string", "enum": ["complaint", "bounce", "manual", "soft_bounce"]},
    "since": TIME,
    "expires_at": {**TIME, "description": "soft_bounce only: when it ends by itself"},
    "event": {
        "type": ["object", "null"],
        "description": "what caused it: a Bounce or Complaint (kind, message_id, timestamp, type...), or "
        '{"kind": "manual", "reason": the note given when it was suppressed by hand, or null}',
    },
}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
    },
    "Fate": {
        "type": "object",
        "required": ["address", "status", "auto_reply", "opened", "clicked", "unsubscribed", "bounce", "complaint",
                     "first_event_at", "last_event_at", "explanation"],
        "properties": {
            "address": {"type": "string"},
            "address_as_sent": {"type": "string"},
            "status": STATUS,
            "auto_reply": {"type": "boolean"},
            "opened": {"type": "boolean"},
            "clicked": {"type": "boolean"},
            "unsubscribed": {"type": "boolean"},
            "bounce": {"type": ["object", "null"], "description": "type, subtype, action, status, "
                       "diagnostic_code, reclassified, feedback_id, timestamp"},
            "complaint": {"type": ["object", "null"]},
            "delay": {"type": ["object", "null"]},
            "first_event_at": TIME,
            "last_event_at": TIME,
            "explanation": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["kind", "recipient", "timestamp", "received_at"],
        "properties": {
            "kind": {"type": "string", "enum": [k.value for k in Kind]},
            "recipient": {"type": ["string", "null"]},
            "timestamp": TIME,
            "received_at": TIME,
            "source": {"type": "string", "description": "sns, sqs, eventbridge or file"},
            "record": {"type": "string"},
            "details": {"type": "object"},
        },
    },
    "RecipientCounts": {"type": "object", "properties": {s.value: {"type": "integer"} for s in Status}},
    "Message": {
        "type": "object",
        "required": ["message_id", "status", "recipient_counts", "source", "subject", "sent_at", "tags",
                     "recipients", "events"],
        "properties": {
            "message_id": {"type": "string"},
            "status": STATUS,
            "recipient_counts": ref("RecipientCounts"),
            "source": {"type": ["string", "null"]},
            "from": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": ["string", "null"]},
            "sent_at": TIME,
            "destination": {"type": "array", "items": {"type": "string"}},
            "tags": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "configuration_set": {"type": ["string", "null"]},
            "sending_account": {"type": ["string", "null"]},
            "recipients": {"type": "array", "items": ref("Fate")},
            "events": {"type": "array", "items": ref("Event")},
            "next_recipients_cursor": {"type": "string", "description": "only when more recipients follow"},
            "next_events_cursor": {"type": "string", "description": "only when more events follow"},
        },
    },
    "MessageSummary": {
        "type": "object",
        "required": ["message_id", "status", "recipient_counts", "source", "subject", "sent_at", "tags"],
        "properties": {
            "message_id": {"type": "string"},
            "status": STATUS,
            "recipient_counts": ref("RecipientCounts"),
            "source": {"type": ["string", "null"]},
            "subject": {"type": ["string", "null"]},
            "sent_at": TIME,
            "tags": {"type": "object"},
        },
    },
    "MessagePage": {
        "type": "object",
        "required": ["messages", "next_cursor"],
        "properties": {
            "messages": {"type": "array", "items": ref("MessageSummary")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Recipient": {
        "type": "object",
        "required": ["address", "suppressed", "suppression", "messages"],
        "properties": {
            "address": {"type": "string"},
            "suppressed": {"type": "boolean"},
            "suppression": {"oneOf": [ref("SuppressionInfo"), {"type": "null"}]},
            "messages": {"type": "array", "items": {"type": "object"}},
            "next_cursor": {"type": "string", "description": "only when older messages follow"},
        },
    },
    "SuppressionInfo": {
        "type": "object",
        "description": "Why an address may not be mailed. Every endpoint that shows one reads the same kept value.",
        "required": ["reason", "since", "expires_at", "event"],
        "properties": _SUPPRESSION,
    },
    "Suppression": {
        "type": "object",
        "required": ["address", "reason", "since", "expires_at", "event"],
        "properties": {"address": {"type": "string"}, **_SUPPRESSION},
    },
    "SuppressionState": {
        "type": "object",
        "required": ["address", "suppressed", "suppression"],
        "properties": {
            "address": {"type": "string"},
            "suppressed": {"type": "boolean"},
            "suppression": {"oneOf": [ref("SuppressionInfo"), {"type": "null"}]},
        },
    },
    "Erasure": {
        "type": "object",
        "required": ["address", "removed", "suppressed"],
        "properties": {
            "address": {"type": "string"},
            "removed": {
                "type": "object",
                "description": "rows deleted per kind; records: raw records rewritten with the address replaced",
                "additionalProperties": {"type": "integer"},
            },
            "suppressed": {"type": "boolean", "description": "it stays suppressed, kept under its keyed hash"},
        },
    },
    "CheckResult": {
        "type": "object",
        "required": ["address", "allowed", "suppression"],
        "properties": {
            "address": {"type": "string", "description": "normalized; as given when it is not an email address"},
            "allowed": {"type": "boolean", "description": "true: it is an email address and not suppressed"},
            "suppression": {"oneOf": [ref("SuppressionInfo"), {"type": "null"}]},
            "error": {"type": "string", "description": "only when the item is not an email address"},
        },
    },
    "Figures": {
        "type": "object",
        "required": ["sent", "delivered", "hard_bounces", "soft_bounces", "auto_replies", "complaints", "opens",
                     "clicks", "bounce_rate", "complaint_rate", "bounce_level", "complaint_level"],
        "properties": {
            "key": {"type": ["string", "null"], "description": "the group (groups only)"},
            **{name: {"type": "integer"} for name in ("sent", "delivered", "hard_bounces", "soft_bounces",
                                                       "auto_replies", "complaints", "opens", "clicks")},
            "bounce_rate": {"type": "number", "description": "hard bounces over recipients sent, a fraction"},
            "complaint_rate": {"type": "number"},
            "bounce_level": {"type": "string", "enum": ["healthy", "under_review", "pause_risk"]},
            "complaint_level": {"type": "string", "enum": ["healthy", "under_review", "pause_risk"]},
            "provider": {"type": ["string", "null"],
                         "description": "group_by=recipient_domain: the provider hosting the domain, if known"},
            "delivery_p50_ms": {"type": ["integer", "null"], "description": "group_by=recipient_domain or "
                                "provider: median time SES took to deliver, from processingTimeMillis (at most "
                                "10% low: kept to two significant digits)"},
            "delivery_p95_ms": {"type": ["integer", "null"], "description": "the same, 95th percentile"},
        },
    },
    "Diagnostics": {
        "type": "object",
        "required": ["since", "until", "provider", "totals", "reasons"],
        "properties": {
            "since": TIME,
            "until": TIME,
            "provider": {"type": ["string", "null"]},
            "totals": {"type": "object", "description": "recipients per kind: bounce, soft_bounce, complaint"},
            "reasons": {"type": "array", "items": {
                "type": "object",
                "required": ["kind", "provider", "reason", "count", "examples"],
                "properties": {
                    "kind": {"type": "string", "enum": ["bounce", "soft_bounce", "complaint"]},
                    "provider": {"type": "string", "description": "google, microsoft, yahoo, apple, else the "
                                 "recipient domain"},
                    "reason": {"type": "string", "description": "the diagnostic code with addresses, ids, IPs, "
                               "times and numbers masked, after the bounce type; or the complaint feedback type"},
                    "count": {"type": "integer", "description": "recipients"},
                    "examples": {"type": "array", "items": {"type": "string"}, "description": "message ids"},
                },
            }},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["since", "until", "totals", "groups"],
        "properties": {
            "since": TIME,
            "until": TIME,
            "group_by": {"type": ["string", "null"]},
            "totals": ref("Figures"),
            "groups": {"type": "array", "items": ref("Figures")},
        },
    },
    "QuarantineItem": {
        "type": "object",
        "description": "A quarantined record as lists show it: the beginning of its body only.",
        "required": ["id", "received_at", "source", "reason", "size", "authenticated", "preview", "truncated"],
        "properties": _QUARANTINE_FIELDS,
    },
    "QuarantinedRecord": {
        "type": "object",
        "description": "One quarantined record with its whole body: UTF-8 text, or base64 when the bytes are "
        "not UTF-8 or hold NUL (body_encoding says which).",
        "required": ["id", "received_at", "source", "reason", "size", "preview", "body", "body_encoding"],
        "properties": {
            **_QUARANTINE_FIELDS,
            "body": {"type": "string"},
            "body_encoding": {"type": "string", "enum": ["utf-8", "base64"]},
        },
    },
    "Change": {
        "type": "object",
        "description": "A change of a recipient's fate (type fate), of an address's suppression (type "
                       "suppression), or of a reputation level (type reputation: no address). seq is the change's "
                       "id: a redelivered webhook carries the same seq.",
        "required": ["seq", "type", "at"],
        "properties": {
            "seq": {"type": "integer"},
            "type": {"type": "string", "enum": ["fate", "suppression", "reputation"]},
            "at": TIME,
            "address": {"type": "string", "description": "fate and suppression changes"},
            "message_id": {"type": "string", "description": "fate changes"},
            "status": STATUS,
            "previous_status": {"type": ["string", "null"], "description": "null: the first event seen"},
            "fate": ref("Fate"),
            "event": {"type": ["object", "null"], "description": "the event that caused the change"},
            "suppressed": {"type": "boolean", "description": "suppression changes"},
            "suppression": {"type": ["object", "null"]},
            "previous_suppression": {"type": ["object", "null"]},
            "metric": {"type": "string", "enum": ["bounce", "complaint"], "description": "reputation changes"},
            "configuration_set": {"type": ["string", "null"], "description": "null: all mail"},
            "level": {"type": "string", "enum": ["healthy", "under_review", "pause_risk"]},
            "previous_level": {"type": "string", "enum": ["healthy", "under_review", "pause_risk"]},
            "rate": {"type": "number"},
            "thresholds": {"type": "object"},
            "window": {"type": "object", "description": "since, until and min_volume of the evaluation"},
            "figures": ref("Figures"),
            "text": {"type": "string", "description": "the same, in one line a person reads"},
        },
    },
    "Webhook": {
        "type": "object",
        "required": ["webhook", "url", "delivered", "pending", "failed", "failures"],
        "properties": {
            "webhook": {"type": "integer", "description": "its position in the settings (MAILFATE_WEBHOOK_URL "
                        "first, then MAILFATE_ALERT_URL), 1 first: what redelivery and /metrics name it by"},
            "url": {"type": "string", "description": "scheme, host and port only: the rest is masked"},
            "delivered": {"type": "integer"},
            "last_delivered_at": TIME,
            "pending": {"type": "integer"},
            "failed": {"type": "integer", "description": "changes given up on"},
            "failures": {"type": "array", "items": {"type": "object"},
                         "description": "latest changes given up on or being retried, with the last error"},
        },
    },
}  # fmt: skip
