"""The OpenAPI 3.1 document of the HTTP API. tests/test_http_api.py checks it against the real routes
and the real responses, so it cannot drift from what the server does."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model import Kind, Status

_STATUS = {"type": "string", "enum": [s.value for s in Status]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "bad parameters"),
    "401": _json(_ref("Error"), "MAILFATE_API_TOKEN is set and the bearer token is missing or wrong"),
    "503": _json(_ref("Error"), "storage unavailable"),
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


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
            "status": _STATUS,
            "auto_reply": {"type": "boolean"},
            "opened": {"type": "boolean"},
            "clicked": {"type": "boolean"},
            "unsubscribed": {"type": "boolean"},
            "bounce": {"type": ["object", "null"], "description": "type, subtype, action, status, "
                       "diagnostic_code, reclassified, feedback_id, timestamp"},
            "complaint": {"type": ["object", "null"]},
            "delay": {"type": ["object", "null"]},
            "first_event_at": _TIME,
            "last_event_at": _TIME,
            "explanation": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["kind", "recipient", "timestamp", "received_at"],
        "properties": {
            "kind": {"type": "string", "enum": [k.value for k in Kind]},
            "recipient": {"type": ["string", "null"]},
            "timestamp": _TIME,
            "received_at": _TIME,
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
            "status": _STATUS,
            "recipient_counts": _ref("RecipientCounts"),
            "source": {"type": ["string", "null"]},
            "from": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": ["string", "null"]},
            "sent_at": _TIME,
            "destination": {"type": "array", "items": {"type": "string"}},
            "tags": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "configuration_set": {"type": ["string", "null"]},
            "sending_account": {"type": ["string", "null"]},
            "recipients": {"type": "array", "items": _ref("Fate")},
            "events": {"type": "array", "items": _ref("Event")},
        },
    },
    "MessageSummary": {
        "type": "object",
        "required": ["message_id", "status", "recipient_counts", "source", "subject", "sent_at", "tags"],
        "properties": {
            "message_id": {"type": "string"},
            "status": _STATUS,
            "recipient_counts": _ref("RecipientCounts"),
            "source": {"type": ["string", "null"]},
            "subject": {"type": ["string", "null"]},
            "sent_at": _TIME,
            "tags": {"type": "object"},
        },
    },
    "MessagePage": {
        "type": "object",
        "required": ["messages", "next_cursor"],
        "properties": {
            "messages": {"type": "array", "items": _ref("MessageSummary")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Recipient": {
        "type": "object",
        "required": ["address", "suppressed", "suppression", "messages"],
        "properties": {
            "address": {"type": "string"},
            "suppressed": {"type": "boolean"},
            "suppression": {"type": ["object", "null"]},
            "messages": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Suppression": {
        "type": "object",
        "required": ["address", "reason", "since", "expires_at", "event"],
        "properties": {
            "address": {"type": "string"},
            "reason": {"type": "string", "enum": ["complaint", "bounce", "manual", "soft_bounce"]},
            "since": _TIME,
            "expires_at": _TIME,
            "event": {"type": ["object", "null"], "description": "what caused it: kind, message_id, timestamp"},
        },
    },
    "SuppressionState": {
        "type": "object",
        "required": ["address", "suppressed", "suppression"],
        "properties": {
            "address": {"type": "string"},
            "suppressed": {"type": "boolean"},
            "suppression": {"type": ["object", "null"]},
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
        },
    },
    "Stats": {
        "type": "object",
        "required": ["since", "until", "totals", "groups"],
        "properties": {
            "since": _TIME,
            "until": _TIME,
            "group_by": {"type": ["string", "null"]},
            "totals": _ref("Figures"),
            "groups": {"type": "array", "items": _ref("Figures")},
        },
    },
    "QuarantineItem": {
        "type": "object",
        "required": ["id", "received_at", "source", "reason", "body"],
        "properties": {
            "id": {"type": "integer"},
            "received_at": _TIME,
            "source": {"type": "string"},
            "location": {"type": ["string", "null"]},
            "reason": {"type": "string"},
            "body": {"type": "string"},
        },
    },
    "Change": {
        "type": "object",
        "description": "A change of a recipient's fate (type fate) or of an address's suppression (type "
                       "suppression). seq is the change's id: a redelivered webhook carries the same seq.",
        "required": ["seq", "type", "at", "address"],
        "properties": {
            "seq": {"type": "integer"},
            "type": {"type": "string", "enum": ["fate", "suppression"]},
            "at": _TIME,
            "address": {"type": "string"},
            "message_id": {"type": "string", "description": "fate changes"},
            "status": _STATUS,
            "previous_status": {"type": ["string", "null"], "description": "null: the first event seen"},
            "fate": _ref("Fate"),
            "event": {"type": ["object", "null"], "description": "the event that caused the change"},
            "suppressed": {"type": "boolean", "description": "suppression changes"},
            "suppression": {"type": ["object", "null"]},
            "previous_suppression": {"type": ["object", "null"]},
        },
    },
    "Webhook": {
        "type": "object",
        "required": ["url", "delivered", "pending", "failed", "failures"],
        "properties": {
            "url": {"type": "string", "description": "password hidden"},
            "delivered": {"type": "integer"},
            "last_delivered_at": _TIME,
            "pending": {"type": "integer"},
            "failed": {"type": "integer", "description": "changes given up on"},
            "failures": {"type": "array", "items": {"type": "object"},
                         "description": "latest changes given up on or being retried, with the last error"},
        },
    },
}  # fmt: skip

PATHS: dict[str, Any] = {
    "/sns": {
        "post": {
            "summary": "SNS HTTP/S endpoint: Notification, SubscriptionConfirmation, UnsubscribeConfirmation",
            "security": [{}, {"basic": []}],
            "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "stored (or already stored: a duplicate)"},
                "400": _json(
                    _ref("Error"),
                    "not JSON, not SNS, unknown SES shape (kept in quarantine), or "
                    "x-amz-sns-* headers that disagree with the body",
                ),
                "401": _json(_ref("Error"), "MAILFATE_BASIC_AUTH is set and credentials are missing or wrong"),
                "403": _json(_ref("Error"), "signature, certificate or topic refused; nothing stored"),
                "413": _json(_ref("Error"), "body over 256 KiB"),
                "503": _json(_ref("Error"), "storage unavailable or certificate not fetchable now: SNS retries"),
            },
        }
    },
    "/api/messages": {
        "get": {
            "summary": "Messages, newest first",
            "parameters": [
                _query("status", "message status", _STATUS),
                _query("recipient", "only messages to this address"),
                _query("since", "sent at or after (ISO 8601)"),
                _query("until", "sent before (ISO 8601)"),
                _query("tag", "key:value"),
                _query("limit", "1 to 500, default 50", {"type": "integer"}),
                _query("cursor", "next_cursor of the previous page"),
            ],
            "responses": {"200": _json(_ref("MessagePage"), "a page of messages"), **_ERRORS},
        }
    },
    "/api/messages/{message_id}": {
        "get": {
            "summary": "The fate of one message and of each recipient, with every event",
            "parameters": [_path("message_id")],
            "responses": {
                "200": _json(_ref("Message"), "the message"),
                "404": _json(_ref("Error"), "never seen"),
                **_ERRORS,
            },
        }
    },
    "/api/recipients/{address}": {
        "get": {
            "summary": "Every message sent to an address, and its suppression",
            "parameters": [_path("address")],
            "responses": {"200": _json(_ref("Recipient"), "the address (never seen: no messages)"), **_ERRORS},
        }
    },
    "/api/quarantine": {
        "get": {
            "summary": "Records that could not be understood, newest first, with the reason",
            "parameters": [_query("limit", "1 to 1000, default 100", {"type": "integer"})],
            "responses": {
                "200": _json({"type": "array", "items": _ref("QuarantineItem")}, "quarantined records"),
                **_ERRORS,
            },
        }
    },
    "/api/suppressions": {
        "get": {
            "summary": "Suppressed addresses, with reason, cause, time and expiry",
            "responses": {"200": _json({"type": "array", "items": _ref("Suppression")}, "the list"), **_ERRORS},
        }
    },
    "/api/suppressions/{address}": {
        "put": {
            "summary": "Suppress an address by hand",
            "parameters": [_path("address")],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}}}}
                },
            },
            "responses": {"200": _json(_ref("SuppressionState"), "suppressed"), **_ERRORS},
        },
        "delete": {
            "summary": "Lift a suppression: events timestamped before now no longer count",
            "parameters": [_path("address")],
            "responses": {
                "200": _json(_ref("SuppressionState"), "lifted"),
                "404": _json(_ref("Error"), "not suppressed"),
                **_ERRORS,
            },
        },
    },
    "/api/stats": {
        "get": {
            "summary": "Reputation figures by send time: rates and levels against the SES thresholds",
            "parameters": [
                _query("since", "from (ISO 8601); default 7 days before until"),
                _query("until", "before (ISO 8601); default now"),
                _query("group_by", "configuration_set, sending_domain, day (UTC date of sending) or tag:NAME"),
            ],
            "responses": {"200": _json(_ref("Stats"), "the figures"), **_ERRORS},
        }
    },
    "/api/changes": {
        "get": {
            "summary": "Changes of fates and suppressions after a cursor, oldest first",
            "parameters": [
                _query("after", "the seq of the last change already seen; default 0", {"type": "integer"}),
                _query("limit", "1 to 1000, default 100", {"type": "integer"}),
            ],
            "responses": {"200": _json({"type": "array", "items": _ref("Change")}, "the changes"), **_ERRORS},
        }
    },
    "/api/webhooks": {
        "get": {
            "summary": "Outbound webhooks: what each URL got, what waits, what failed",
            "responses": {"200": _json({"type": "array", "items": _ref("Webhook")}, "one per URL"), **_ERRORS},
        }
    },
    "/": {
        "get": {
            "summary": "The dashboard: an HTML page that reads this API (assets under /static/)",
            "security": [],
            "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
        }
    },
    "/healthz": {"get": {"summary": "The process is up", "security": [], "responses": {"200": {"description": "up"}}}},
    "/readyz": {
        "get": {
            "summary": "Storage is reachable",
            "security": [],
            "responses": {"200": {"description": "ready"}, "503": _json(_ref("Error"), "storage unreachable")},
        }
    },
    "/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mailfate",
            "version": __version__,
            "description": "The true fate of every email sent through Amazon SES.",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "MAILFATE_API_TOKEN"},
                "basic": {"type": "http", "scheme": "basic", "description": "MAILFATE_BASIC_AUTH, on /sns"},
            },
        },
        "security": [{"bearer": []}],
    }
