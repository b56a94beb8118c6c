"""Paged reads: ``GET /api/messages`` (newest first, filtered), and the pages of one message, one
address and the suppression list. Every page ends with an opaque cursor to the next one. Shared by
both stores."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from mailfate.core.addresses import normalize_address
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.timestamps import BadTimestamp, query_timestamp
from mailfate.errors import UsageError
from mailfate.store.sql import Dialect

MAX_LIMIT = 500
#: At most this many recipients, and as many events, in one answer about one message.
MESSAGE_PART_LIMIT = 1000
#: Messages in one answer about one address, by default and at most.
RECIPIENT_LIMIT = 100
RECIPIENT_MAX_LIMIT = 1000
#: Suppressions in one page, by default and at most.
SUPPRESSION_LIMIT = 100
SUPPRESSION_MAX_LIMIT = 1000

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
    tag: tuple[tuple[str, str], ...] = ()
    limit: int = 50
    cursor: tuple[str, str] | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> MessageQuery:
        """From query parameters; every mistake is a UsageError that says which parameter."""
        status = params.get("status") or None
        if status is not None and status not in {s.value for s in Status}:
            raise UsageError(f"status must be one of {', '.join(s.value for s in Status)}")
        tag = parse_tag(params["tag"]) if params.get("tag") else ()
        limit = parse_limit(params.get("limit"), 50, MAX_LIMIT)
        return cls(
            status=status,
            recipient=normalize_address(params["recipient"]) if params.get("recipient") else None,
            since=_time(params, "since"),
            until=_time(params, "until"),
            tag=tag,
            limit=limit,
            cursor=_pair(decode_cursor(params["cursor"], 2)) if params.get("cursor") else None,
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
            where.append(f"({' OR '.join([tag_filter] * len(self.tag))})")
            args.extend(part for pair in self.tag for part in pair)
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


@dataclass(frozen=True, slots=True)
class MessagePart:
    """Which recipients and events of one message to answer with: at most ``limit`` of each, after
    the cursors that the previous answer gave (recipients by address, events in timeline order)."""

    limit: int = MESSAGE_PART_LIMIT
    recipients_after: str | None = None
    events_after: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> MessagePart:
        recipients = params.get("recipients_cursor")
        events = params.get("events_cursor")
        return cls(
            limit=parse_limit(params.get("limit"), MESSAGE_PART_LIMIT, MESSAGE_PART_LIMIT),
            recipients_after=decode_cursor(recipients, 1, "recipients_cursor")[0] if recipients else None,
            events_after=decode_cursor(events, 4, "events_cursor") if events else None,
        )


#: Colons considered in one ``tag`` parameter at the most (each is one more test per message).
MAX_TAG_SPLITS = 8


#: The answer about one message when no part is asked for: the first.
FIRST_PART = MessagePart()


def parse_tag(text: str) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs that ``tag`` may mean; a message matches if it has any of them.

    ``name=value`` splits at the first ``=`` (SES allows none in a tag name). ``name:value`` may split
    at any colon: SES's own tag names hold colons (``ses:configuration-set:marketing``) and so may a
    value (an IPv6 ``ses:source-ip``), and a message has only the names it has.
    """
    if "=" in text:
        name, _, value = text.partition("=")
        if name:
            return ((name, value),)
    colons = [i for i, c in enumerate(text) if c == ":" and i > 0][:MAX_TAG_SPLITS]
    if not colons:
        raise UsageError("tag must be name:value or name=value")
    return tuple((text[:i], text[i + 1 :]) for i in colons)


def parse_limit(raw: str | None, default: int, high: int, name: str = "limit") -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise UsageError(f"{name} must be a whole number") from exc
    if not 1 <= value <= high:
        raise UsageError(f"{name} must be between 1 and {high}")
    return value


def encode_cursor(*values: str) -> str:
    """An opaque cursor: the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(text: str, size: int, name: str = "cursor") -> tuple[str, ...]:
    try:
        value = loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if isinstance(value, list) and len(value) == size and all(isinstance(v, str) for v in value):
            return tuple(value)
    except (ValueError, TypeError, RecursionError):
        pass
    raise UsageError(f"{name} is not one that this API returned")


def _pair(values: tuple[str, ...]) -> tuple[str, str]:
    return values[0], values[1]


def _time(params: dict[str, str], name: str) -> str | None:
    if not params.get(name):
        return None
    try:
        return query_timestamp(params[name])
    except BadTimestamp as exc:
        raise UsageError(f"{name} must be an ISO 8601 time") from exc
