"""The OpenAPI 3.1 document of the HTTP API. tests/test_http_api.py checks it against the real routes
and the real responses, so it cannot drift from what the server does."""

from __future__ import annotations

from typing import Any

from mailfate._version import __version__
from mailfate.web import openapi_activity as activity
from mailfate.web import openapi_audit as audit
from mailfate.web.openapi_schemas import SCHEMAS, ref


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(ref("Error"), "bad parameters"),
    "401": _json(ref("Error"), "MAILFATE_API_TOKEN is set and the bearer token is missing or wrong"),
    "503": _json(ref("Error"), "storage unavailable"),
}


#: An optional ``{"reason": "..."}``: why someone acted by hand, kept with what they did.
_REASON = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}}}}},
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


PATHS: dict[str, Any] = {
    "/sns": {
        "post": {
            "summary": "SNS HTTP/S endpoint: Notification, SubscriptionConfirmation, UnsubscribeConfirmation",
            "security": [{}, {"basic": []}],
            "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "stored (or already stored: a duplicate)"},
                "400": _json(
                    ref("Error"),
                    "not JSON, not SNS, unknown SES shape (kept in quarantine), or "
                    "x-amz-sns-* headers that disagree with the body",
                ),
                "401": _json(ref("Error"), "MAILFATE_BASIC_AUTH is set and credentials are missing or wrong"),
                "403": _json(ref("Error"), "signature, certificate or topic refused; nothing stored"),
                "413": _json(ref("Error"), "body over 256 KiB"),
                "503": _json(ref("Error"), "storage unavailable or certificate not fetchable now: SNS retries"),
            },
        }
    },
    "/api/messages": {
        "get": {
            "summary": "Messages with a recipient that the filters match, newest first",
            "parameters": [
                *activity.filters("the message's status (its most severe recipient's)"),
                _query("limit", "1 to 500, default 50", {"type": "integer", "minimum": 1, "maximum": 500}),
                _query("cursor", "next_cursor of the previous page"),
            ],
            "responses": {"200": _json(ref("MessagePage"), "a page of messages"), **_ERRORS},
        }
    },
    "/api/messages/{message_id}": {
        "get": {
            "summary": "The fate of one message and of each recipient, with its events. recipient_counts and "
            "status cover every recipient; recipients (by address) and events (by time) come at most limit at a time, "
            "with a cursor to the next part",
            "parameters": [
                _path("message_id"),
                _query(
                    "limit",
                    "recipients, and events, in this answer: 1 to 1000, default 1000",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                ),
                _query("recipients_cursor", "next_recipients_cursor of the previous answer"),
                _query("events_cursor", "next_events_cursor of the previous answer"),
            ],
            "responses": {
                "200": _json(ref("Message"), "the message"),
                "404": _json(ref("Error"), "never seen"),
                **_ERRORS,
            },
        }
    },
    "/api/recipients/{address}": {
        "get": {
            "summary": "The messages sent to an address, newest first and paged, and its suppression",
            "parameters": [
                _path("address"),
                _query("limit", "1 to 1000, default 100", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("cursor", "next_cursor of the previous page"),
            ],
            "responses": {
                "200": _json(ref("Recipient"), "the address (never seen: no messages; not an address: 400)"),
                **_ERRORS,
            },
        },
        "delete": {
            "summary": "Erase an address: everything stored about it goes; if suppressed, it stays suppressed "
            "under a keyed hash. Idempotent",
            "parameters": [_path("address")],
            "requestBody": _REASON,
            "responses": {
                "200": _json(ref("Erasure"), "erased (or nothing was left of it)"),
                "501": _json(ref("Error"), "MAILFATE_ERASURE_KEY is not set on the server"),
                **_ERRORS,
            },
        },
    },
    "/api/quarantine": {
        "get": {
            "summary": "Records that could not be understood, newest first, with the reason and a preview",
            "parameters": [
                _query("limit", "1 to 1000, default 100", {"type": "integer", "minimum": 1, "maximum": 1000})
            ],
            "responses": {
                "200": _json({"type": "array", "items": ref("QuarantineItem")}, "quarantined records"),
                **_ERRORS,
            },
        }
    },
    "/api/quarantine/{item_id}": {
        "get": {
            "summary": "One quarantined record with its whole body, byte for byte",
            "parameters": [_path("item_id")],
            "responses": {
                "200": _json(ref("QuarantinedRecord"), "the record"),
                "404": _json(ref("Error"), "no such record (or it was dropped)"),
                **_ERRORS,
            },
        }
    },
    "/api/suppressions": {
        "get": {
            "summary": "Suppressed addresses by address, with reason, cause, time and expiry; paged",
            "parameters": [
                _query("limit", "1 to 1000, default 100", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("cursor", 'from the Link header (rel="next") of the previous page'),
                _query("contains", "only addresses that contain this text"),
            ],
            "responses": {
                "200": {
                    **_json({"type": "array", "items": ref("Suppression")}, "a page of the list"),
                    "headers": {
                        "Link": {
                            "description": '<URL of the next page>; rel="next", absent on the last page',
                            "schema": {"type": "string"},
                        }
                    },
                },
                **_ERRORS,
            },
        }
    },
    "/api/suppressions/{address}": {
        "put": {
            "summary": "Suppress an address by hand",
            "parameters": [_path("address")],
            "requestBody": _REASON,
            "responses": {"200": _json(ref("SuppressionState"), "suppressed"), **_ERRORS},
        },
        "delete": {
            "summary": "Lift a suppression: events timestamped before now no longer count",
            "parameters": [_path("address")],
            "requestBody": _REASON,
            "responses": {
                "200": _json(ref("SuppressionState"), "lifted"),
                "404": _json(ref("Error"), "not suppressed"),
                **_ERRORS,
            },
        },
    },
    "/api/check": {
        "post": {
            "summary": "May these addresses be mailed? One answer per address, in the order given",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "maxItems": 1000, "items": {"type": "string"}},
                    }
                },
            },
            "responses": {
                "200": _json({"type": "array", "items": ref("CheckResult")}, "one answer per address"),
                **_ERRORS,
            },
        }
    },
    "/api/check/{address}": {
        "get": {
            "summary": "May this address be mailed, and if not, why",
            "parameters": [_path("address")],
            "responses": {"200": _json(ref("CheckResult"), "the answer (400: not an email address)"), **_ERRORS},
        }
    },
    "/api/stats": {
        "get": {
            "summary": "Reputation figures by send time: rates and levels against the SES thresholds",
            "parameters": [
                _query("since", "from (ISO 8601); default 7 days before until"),
                _query("until", "before (ISO 8601); default now"),
                _query(
                    "group_by",
                    "configuration_set, sending_domain, day (UTC date of sending), tag:NAME, or by recipient: "
                    "recipient_domain or provider (these add delivery latency; busiest group first)",
                ),
            ],
            "responses": {"200": _json(ref("Stats"), "the figures"), **_ERRORS},
        }
    },
    "/api/diagnostics": {
        "get": {
            "summary": "The top bounce and complaint reasons of recipients sent in a window, per provider",
            "parameters": [
                _query("since", "from (ISO 8601); default 7 days before until"),
                _query("until", "before (ISO 8601); default now"),
                _query("provider", "only this provider (google, microsoft, yahoo, apple) or recipient domain"),
                _query("limit", "reasons, 1 to 1000, default 20", {"type": "integer"}),
            ],
            "responses": {"200": _json(ref("Diagnostics"), "the reasons, most frequent first"), **_ERRORS},
        }
    },
    "/api/changes": {
        "get": {
            "summary": "Changes of fates and suppressions after a cursor, oldest first",
            "parameters": [
                _query(
                    "after", "the seq of the last change already seen; default 0", {"type": "integer", "minimum": 0}
                ),
                _query("limit", "1 to 1000, default 100", {"type": "integer", "minimum": 1, "maximum": 1000}),
            ],
            "responses": {"200": _json({"type": "array", "items": ref("Change")}, "the changes"), **_ERRORS},
        }
    },
    "/api/webhooks": {
        "get": {
            "summary": "Outbound webhooks: what each URL got, what waits, what failed",
            "responses": {"200": _json({"type": "array", "items": ref("Webhook")}, "one per URL"), **_ERRORS},
        }
    },
    "/": {
        "get": {
            "summary": "The dashboard: an HTML page that reads this API (assets under /static/)",
            "security": [],
            "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Counters and gauges in the Prometheus text format: records received, refusals, duplicates, "
            "ingest latency, SQS messages consumed, the quarantine, the webhook backlog, the feed's head, and the "
            "reputation rates and levels (docs/operations.md)",
            "responses": {
                "200": {"description": "the metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "401": _ERRORS["401"],
                "503": _ERRORS["503"],
            },
        }
    },
    "/healthz": {"get": {"summary": "The process is up", "security": [], "responses": {"200": {"description": "up"}}}},
    "/readyz": {
        "get": {
            "summary": "Storage is reachable",
            "security": [],
            "responses": {"200": {"description": "ready"}, "503": _json(ref("Error"), "storage unreachable")},
        }
    },
    "/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
}


PATHS.update(activity.PATHS)
for _template, _operations in activity.ACTION_PATHS.items():
    PATHS[_template] = {**PATHS.get(_template, {}), **_operations}
PATHS.update(audit.PATHS)
audit.require_admin(PATHS)


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
            "schemas": {**SCHEMAS, **activity.SCHEMAS, **audit.SCHEMAS},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "MAILFATE_API_TOKEN (role admin) or one of MAILFATE_API_TOKENS (role read or "
                    "admin); an operation listing the admin role refuses a read token with a 403",
                },
                "basic": {"type": "http", "scheme": "basic", "description": "MAILFATE_BASIC_AUTH, on /sns"},
            },
        },
        "security": [{"bearer": []}],
    }
