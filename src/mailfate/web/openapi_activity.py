"""The OpenAPI of the activity list and of what an operator does by hand (replay, dismiss, redeliver):
their paths, the filters the lists share, and their schemas. :mod:`.openapi` merges them in."""

from __future__ import annotations

from typing import Any

from mailfate.web.openapi_schemas import STATUS, TIME, ref


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_ERRORS = {
    "400": _json(ref("Error"), "bad parameters"),
    "401": _json(ref("Error"), "MAILFATE_API_TOKEN is set and the bearer token is missing or wrong"),
    "503": _json(ref("Error"), "storage unavailable"),
}


def filters(status: str) -> list[dict[str, Any]]:
    """The filters of GET /api/messages and GET /api/activity; ``status`` says whose status it is."""
    return [
        query("status", f"{status}; several comma-separated: any of them", {"type": "string"}),
        query(
            "auto_reply",
            "true: only recipients whose delivery drew an auto-reply; false: none of them",
            {"type": "string", "enum": ["true", "false"]},
        ),
        query("recipient", "this recipient address (exact, any case)"),
        query("domain", "recipients at this domain or under it (example.com: also mail.example.com)"),
        query("sender", "the sending address (the mail's source), exact, any case"),
        query("configuration_set", "sent through this SES configuration set"),
        query(
            "tag",
            "name:value, the message has this value of this tag; a colon in the name "
            "(SES's ses:configuration-set) is fine: any colon may split it. name=value splits at the '='",
        ),
        query(
            "q",
            "search: every word (split at spaces) must begin a message id, a recipient address, its local "
            "part, its domain or a parent domain, or a word of the subject; any case",
        ),
        query("since", "sent at or after (ISO 8601)"),
        query("until", "sent before (ISO 8601)"),
    ]


PATHS: dict[str, Any] = {
    "/api/activity": {
        "get": {
            "summary": "Recipients of messages, newest first: each with its fate and its message's subject",
            "parameters": [
                *filters("the recipient's status"),
                query("limit", "1 to 500, default 50", {"type": "integer", "minimum": 1, "maximum": 500}),
                query("cursor", "next_cursor of the previous page"),
            ],
            "responses": {"200": _json(ref("ActivityPage"), "a page of the list"), **_ERRORS},
        }
    },
    "/api/activity.csv": {
        "get": {
            "summary": "Every row of the activity list that the filters match, as CSV, streamed",
            "parameters": filters("the recipient's status"),
            "responses": {
                "200": {
                    "description": "text/csv with a header line; one line per recipient, newest first. Any cell "
                    "that starts with = + - @, a tab or a carriage return is prefixed with '",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_ERRORS,
            },
        }
    },
}


def _body(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


_IDS = {
    "type": "object",
    "required": ["ids"],
    "properties": {"ids": {"type": "array", "maxItems": 10000, "items": {"type": "integer", "minimum": 1}}},
}
_NOT_FOUND = {"404": _json(ref("Error"), "no such record in the quarantine")}

# Write routes of the actions an operator takes by hand (web/actions.py), merged into the paths.
ACTION_PATHS: dict[str, Any] = {
    "/api/quarantine/replay": {
        "post": {
            "summary": "Replay quarantined records with today's code: what now parses becomes facts and leaves",
            "description": "The records named by ids; sent with no body, every record in the quarantine. A record "
            "that is still not understood stays in the quarantine with its reason; the answer says what today's "
            "code makes of it.",
            "requestBody": _body(_IDS, False),
            "responses": {"200": _json(ref("ReplayResult"), "what became of each record"), **_ERRORS},
        }
    },
    "/api/quarantine/dismiss": {
        "post": {
            "summary": "Drop quarantined records for good",
            "requestBody": _body(_IDS, True),
            "responses": {"200": _json(ref("Dismissed"), "what was dropped, and the ids not there"), **_ERRORS},
        }
    },
    "/api/quarantine/{item_id}/replay": {
        "post": {
            "summary": "Replay one quarantined record with today's code",
            "parameters": [_path("item_id")],
            "responses": {"200": _json(ref("Replayed"), "what became of it"), **_NOT_FOUND, **_ERRORS},
        }
    },
    "/api/quarantine/{item_id}": {
        "delete": {
            "summary": "Drop one quarantined record for good",
            "parameters": [_path("item_id")],
            "responses": {"200": _json(ref("Dismissed"), "dropped"), **_NOT_FOUND, **_ERRORS},
        }
    },
    "/api/webhooks/redeliver": {
        "post": {
            "summary": "Deliver again changes a webhook gave up on: those numbered seqs, or every one of the webhook",
            "requestBody": _body(
                {
                    "type": "object",
                    "description": "names the webhook by webhook (its position) or by url, not both",
                    "properties": {
                        "webhook": {"type": "integer", "minimum": 1, "description": "as GET /api/webhooks numbers it"},
                        "url": {
                            "type": "string",
                            "description": "as configured, or as GET /api/webhooks shows it when no other is shown so",
                        },
                        "seqs": {"type": "array", "maxItems": 10000, "items": {"type": "integer", "minimum": 1}},
                    },
                },
                True,
            ),
            "responses": {
                "200": _json(ref("Redelivered"), "the changes due again"),
                "404": _json(ref("Error"), "no such webhook is configured"),
                **_ERRORS,
            },
        }
    },
}

_ID_LIST = {"type": "array", "items": {"type": "integer"}}

SCHEMAS: dict[str, Any] = {
    "Replayed": {
        "type": "object",
        "required": ["id", "outcome", "reason"],
        "properties": {
            "id": {"type": "integer"},
            "outcome": {
                "type": "string",
                "enum": ["stored", "duplicate", "kept", "missing"],
                "description": "stored: now facts; duplicate: its facts were there already (it left too); "
                "kept: still not understood; missing: not in the quarantine",
            },
            "reason": {"type": ["string", "null"], "description": "why it was kept, as today's code says"},
        },
    },
    "ReplayResult": {
        "type": "object",
        "required": ["stored", "duplicate", "kept", "missing", "items"],
        "properties": {
            "stored": {"type": "integer"},
            "duplicate": {"type": "integer"},
            "kept": {"type": "integer"},
            "missing": {"type": "integer"},
            "items": {"type": "array", "items": ref("Replayed")},
        },
    },
    "Dismissed": {
        "type": "object",
        "required": ["dismissed", "missing"],
        "properties": {"dismissed": _ID_LIST, "missing": _ID_LIST},
    },
    "Redelivered": {
        "type": "object",
        "required": ["webhook", "url", "redelivered", "missing"],
        "properties": {
            "webhook": {"type": "integer", "description": "its position in the settings, 1 first"},
            "url": {"type": "string", "description": "scheme, host and port only: the rest is masked"},
            "redelivered": {**_ID_LIST, "description": "seqs of the changes due again"},
            "missing": {**_ID_LIST, "description": "seqs asked for that were not given up on"},
        },
    },
    "ActivityRow": {
        "allOf": [ref("Fate")],
        "type": "object",
        "required": ["message_id", "subject", "source", "sent_at", "configuration_set", "tags"],
        "properties": {
            "message_id": {"type": "string"},
            "status": STATUS,
            "subject": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]},
            "sent_at": TIME,
            "configuration_set": {"type": ["string", "null"]},
            "tags": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    },
    "ActivityPage": {
        "type": "object",
        "required": ["activity", "next_cursor"],
        "properties": {
            "activity": {"type": "array", "items": ref("ActivityRow")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
}
