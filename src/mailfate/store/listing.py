"""``GET /api/messages``: newest first, filtered, paged by an opaque cursor. Shared by both stores."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from mailfate.core.addresses import normalize_address
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.timestamps import BadTimestamp, canonical_timestamp
from mailfate.errors import UsageError
from mailfate.store.sql import Dialect

MAX_LIMIT = 500

# The most severe recipient status, computed by the database (the order of the Status enum).
_RANK = " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(Status))
_BACK = " ".join(f"WHEN {i} THEN '{s.value}'" for i, s in enumerate(Status))
MESSAGE_STATUS_SQL = (
    f"(SELECT CASE MIN(CASE r.status {_RANK} END) {_BACK} ELSE 'sent' END "
    "FROM recipients r WHERE r.message_id = m.message_id)"
)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    status: str | None = None
    recipient: str | None = None
    since: str | None = None
    until: str | None = None
    tag: tuple[str, str] | None = None
    limit: int = 50
    cursor: tuple[str, str] | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> MessageQuery:
        """From query parameters; every mistake is a UsageError that says which parameter."""
        status = params.get("status") or None
        if status is not None and status not in {s.value for s in Status}:
            raise UsageError(f"status must be one of {', '.join(s.value for s in Status)}")
        tag = None
        if params.get("tag"):
            key, sep, value = params["tag"].partition(":")
            if not sep or not key:
                raise UsageError("tag must be key:value")
            tag = (key, value)
        try:
            limit = int(params.get("limit") or 50)
        except ValueError as exc:
            raise UsageError("limit must be a whole number") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
        return cls(
            status=status,
            recipient=normalize_address(params["recipient"]) if params.get("recipient") else None,
            since=_time(params, "since"),
            until=_time(params, "until"),
            tag=tag,
            limit=limit,
            cursor=decode_cursor(params["cursor"]) if params.get("cursor") else None,
        )

    def sql(self, d: Dialect, tag_filter: str) -> tuple[str, list[Any]]:
        """The query, with ``tag_filter`` the dialect's test that tag key %(k)s holds value %(v)s."""
        where: list[str] = []
        args: list[Any] = []
        p = d.placeholder
        if self.since:
            where.append(f"m.sent_at >= {p}")
            args.append(self.since)
        if self.until:
            where.append(f"m.sent_at < {p}")
            args.append(self.until)
        if self.recipient:
            where.append(f"EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.message_id AND r.address = {p})")
            args.append(self.recipient)
        if self.tag:
            where.append(tag_filter)
            args.extend(self.tag)
        if self.status:
            where.append(f"{MESSAGE_STATUS_SQL} = {p}")
            args.append(self.status)
        if self.cursor:
            where.append(f"(m.sent_at < {p} OR (m.sent_at = {p} AND m.message_id < {p}))")
            args.extend([self.cursor[0], self.cursor[0], self.cursor[1]])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        query = (
            f"SELECT m.message_id, {MESSAGE_STATUS_SQL}, m.source, m.subject, m.sent_at, m.tags FROM messages m "
            f"{clause} ORDER BY m.sent_at DESC, m.message_id DESC LIMIT {p}"
        )
        return query, [*args, self.limit + 1]


def encode_cursor(sent_at: str, message_id: str) -> str:
    return base64.urlsafe_b64encode(dumps([sent_at, message_id]).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, str]:
    try:
        value = loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        sent_at, message_id = value
        if isinstance(sent_at, str) and isinstance(message_id, str):
            return sent_at, message_id
    except (ValueError, TypeError):
        pass
    raise UsageError("cursor is not one that this API returned")


def _time(params: dict[str, str], name: str) -> str | None:
    if not params.get(name):
        return None
    try:
        return canonical_timestamp(params[name])
    except BadTimestamp as exc:
        raise UsageError(f"{name} must be an ISO 8601 time") from exc
