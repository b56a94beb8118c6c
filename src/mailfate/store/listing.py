"""The parameters of paged reads: the filters of ``GET /api/messages`` and ``GET /api/activity``, and the
pages of one message, one address and the suppression list. Every page ends with an opaque cursor to
the next one. Shared by both stores."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailfate.core.addresses import normalize_address
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.model import Status
from mailfate.core.search import Token, tokens
from mailfate.core.timestamps import BadTimestamp, query_timestamp
from mailfate.errors import UsageError

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


#: The filters of the message and activity lists (docs/api.md), as query parameters.
FILTERS = ("status", "auto_reply", "recipient", "domain", "sender", "configuration_set", "tag", "q", "since", "until")


@dataclass(frozen=True, slots=True)
class Filters:
    """What the message and activity lists are narrowed to. Every filter given must hold."""

    status: tuple[str, ...] = ()  # any of these statuses
    auto_reply: bool | None = None
    recipient: str | None = None  # a normalized address
    domain: str | None = None  # a recipient's domain, or a parent of it
    sender: str | None = None
    configuration_set: str | None = None
    tag: tuple[tuple[str, str], ...] = ()  # any of these (name, value) pairs: parse_tag
    q: tuple[Token, ...] = ()  # every token: core.search.tokens
    since: str | None = None
    until: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """From query parameters; every mistake is a UsageError that says which parameter."""
        statuses = tuple(s.strip() for s in params.get("status", "").split(",") if s.strip())
        known = [s.value for s in Status]
        for status in statuses:
            if status not in known:
                raise UsageError(f"status must be one of {', '.join(known)} (several: comma-separated)")
        auto_reply = params.get("auto_reply") or None
        if auto_reply not in (None, "true", "false"):
            raise UsageError("auto_reply must be true or false")
        domain = params.get("domain", "").strip().lower().lstrip("@")
        return cls(
            status=tuple(dict.fromkeys(statuses)),
            auto_reply=None if auto_reply is None else auto_reply == "true",
            recipient=normalize_address(params["recipient"]) if params.get("recipient") else None,
            domain=domain or None,
            sender=params.get("sender", "").strip() or None,
            configuration_set=params.get("configuration_set") or None,
            tag=parse_tag(params["tag"]) if params.get("tag") else (),
            q=tokens(params.get("q", "")),
            since=_time(params, "since"),
            until=_time(params, "until"),
        )


@dataclass(frozen=True, slots=True)
class MessageQuery(Filters):
    """A page of ``GET /api/messages``: messages with a recipient that the filters match; ``status`` is
    the message's own (its most severe recipient's)."""

    limit: int = 50
    cursor: tuple[str, str] | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> MessageQuery:
        return cls(
            **_fields(Filters.parse(params)),
            limit=parse_limit(params.get("limit"), 50, MAX_LIMIT),
            cursor=_pair(decode_cursor(params["cursor"], 2)) if params.get("cursor") else None,
        )


@dataclass(frozen=True, slots=True)
class ActivityQuery(Filters):
    """A page of ``GET /api/activity``: recipients newest first; ``status`` is each recipient's."""

    limit: int = 50
    cursor: tuple[str, str, str] | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ActivityQuery:
        cursor = decode_cursor(params["cursor"], 3) if params.get("cursor") else None
        return cls(
            **_fields(Filters.parse(params)),
            limit=parse_limit(params.get("limit"), 50, MAX_LIMIT),
            cursor=(cursor[0], cursor[1], cursor[2]) if cursor else None,
        )


def _fields(filters: Filters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in Filters.__dataclass_fields__}


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


def _time(params: Mapping[str, str], name: str) -> str | None:
    if not params.get(name):
        return None
    try:
        return query_timestamp(params[name])
    except BadTimestamp as exc:
        raise UsageError(f"{name} must be an ISO 8601 time") from exc
