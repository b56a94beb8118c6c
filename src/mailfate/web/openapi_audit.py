"""The OpenAPI of roles and of the audit trail: GET /api/whoami, GET /api/audit, their schemas, and
what every write operation needs (an admin token). :mod:`.openapi` merges them in."""

from __future__ import annotations

from typing import Any

from mailfate.core.audit import AuditAction
from mailfate.web.openapi_schemas import ref


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


_ERRORS = {
    "400": _json(ref("Error"), "bad parameters"),
    "401": _json(ref("Error"), "a token is configured and the bearer token is missing or wrong"),
    "503": _json(ref("Error"), "storage unavailable"),
}
_ACTIONS = [a.value for a in AuditAction]

PATHS: dict[str, Any] = {
    "/api/whoami": {
        "get": {
            "summary": "The name and scope of the token of this request (anonymous, admin: no token is configured)",
            "responses": {"200": _json(ref("WhoAmI"), "the token"), **_ERRORS},
        }
    },
    "/api/audit": {
        "get": {
            "summary": "The audit trail: every action taken by hand, who took it, when, on what and why; "
            "newest first, paged",
            "parameters": [
                _query("limit", "1 to 1000, default 50", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("cursor", "next_cursor of the previous page"),
                _query("action", "only this action", {"type": "string", "enum": _ACTIONS}),
                _query("target", "only actions on this target: an address in any letter case, else exact"),
            ],
            "responses": {"200": _json(ref("AuditPage"), "a page of the trail"), **_ERRORS},
        }
    },
}

SCHEMAS: dict[str, Any] = {
    "WhoAmI": {
        "type": "object",
        "required": ["name", "scope"],
        "properties": {"name": {"type": "string"}, "scope": {"type": "string", "enum": ["read", "admin"]}},
    },
    "AuditEntry": {
        "type": "object",
        "required": ["id", "at", "actor", "action", "target", "reason", "detail"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string", "description": "the token's name, or cli:USER on the command line"},
            "action": {"type": "string", "enum": _ACTIONS},
            "target": {"type": "string", "description": "an address, a quarantine id, a webhook URL, an account"},
            "reason": {"type": "string", "description": "as given, or (no reason given)"},
            "detail": {"type": ["object", "null"], "description": "what else the action says (a count, a region)"},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["entries", "next_cursor"],
        "properties": {
            "entries": {"type": "array", "items": ref("AuditEntry")},
            "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
        },
    },
}

#: Operations that change nothing though their method is not GET: a read token may call them.
READING_WRITES = frozenset({("post", "/api/check")})
_FORBIDDEN = _json(ref("Error"), "the token may only read (scope read); this needs an admin token")


def require_admin(paths: dict[str, Any]) -> None:
    """Mark every operation of the API that is not a GET (and not among :data:`READING_WRITES`) as
    needing the admin role, with its 403: the rule the server's guard applies, stated once."""
    for path, operations in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method != "get" and (method, path) not in READING_WRITES:
                operation["security"] = [{"bearer": ["admin"]}]
                operation["responses"].setdefault("403", _FORBIDDEN)
