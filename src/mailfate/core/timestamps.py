"""Timestamps as mailfate stores them: UTC ISO 8601 with milliseconds, so that text order is time order."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.{ms:03d}Z"
# SES documents "2018-10-08T14:05:45 +0000" in one sample while real events say "...45.422Z".
_LOOSE_OFFSET = re.compile(r"\s*([+-]\d{2}):?(\d{2})$")


class BadTimestamp(ValueError):
    """A timestamp that cannot be read as ISO 8601."""


def parse_timestamp(text: str) -> datetime:
    """Read an SES or SNS timestamp into an aware UTC datetime."""
    if not isinstance(text, str) or not text:
        raise BadTimestamp(f"not a timestamp: {text!r}")
    cleaned = text.strip()
    cleaned = cleaned[:-1] + "+00:00" if cleaned.endswith(("Z", "z")) else _LOOSE_OFFSET.sub(r"\1:\2", cleaned)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise BadTimestamp(f"not an ISO 8601 timestamp: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """The one stored form: ``2022-04-01T21:24:49.422Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime(_FORMAT.format(ms=utc.microsecond // 1000))


_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def canonical_timestamp(text: str) -> str:
    """Any accepted spelling of a timestamp, in the stored form."""
    if isinstance(text, str) and _CANONICAL.fullmatch(text):
        return text  # what SES sends nearly always: already in the stored form
    return format_timestamp(parse_timestamp(text))


def now() -> str:
    return format_timestamp(datetime.now(UTC))
