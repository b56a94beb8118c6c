"""Timestamps as mailfate stores them: UTC ISO 8601 with milliseconds, so that text order is time order.

Every stored instant has the one form ``YYYY-MM-DDTHH:MM:SS.mmmZ``, four-digit year included, so that
comparing the text compares the times. What an event says happened is refused unless it is a real
instant between :data:`EARLIEST` and :data:`LATEST`: nothing SES sends lies outside, and the rules that
add days to an event's time (soft-bounce expiry) can never run past the calendar.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# SES documents "2018-10-08T14:05:45 +0000" in one sample while real events say "...45.422Z".
_LOOSE_OFFSET = re.compile(r"\s*([+-]\d{2}):?(\d{2})$")
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

#: The range of instants an event may carry (refused outside it: the record goes to quarantine).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class BadTimestamp(ValueError):
    """A timestamp that is not a real instant in ISO 8601."""


def parse_timestamp(text: str) -> datetime:
    """Read an SES or SNS timestamp (or a time a user typed) into an aware UTC datetime.

    Any real instant is accepted here, from year 1 to 9999; an offset that would carry it past either
    end of the calendar is refused rather than raising OverflowError somewhere later.
    """
    if not isinstance(text, str) or not text or len(text) > 64:
        raise BadTimestamp(f"not a timestamp: {_show(text)}")
    cleaned = text.strip()
    cleaned = cleaned[:-1] + "+00:00" if cleaned.endswith(("Z", "z")) else _LOOSE_OFFSET.sub(r"\1:\2", cleaned)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise BadTimestamp(f"not an ISO 8601 timestamp: {_show(text)}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise BadTimestamp(f"timestamp out of range: {_show(text)}") from exc


def format_timestamp(moment: datetime) -> str:
    """The one stored form: ``2022-04-01T21:24:49.422Z`` (the year always four digits)."""
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


def canonical_timestamp(text: str) -> str:
    """An event's timestamp in the stored form; :class:`BadTimestamp` unless it is a real instant in range."""
    if isinstance(text, str) and _CANONICAL.fullmatch(text):
        # What SES sends nearly always: already in the stored form, but still checked to be a real date.
        try:
            moment = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
        except ValueError as exc:
            raise BadTimestamp(f"not a real instant: {_show(text)}") from exc
        _in_range(moment, text)
        return text
    moment = parse_timestamp(text)
    _in_range(moment, text)
    return format_timestamp(moment)


def query_timestamp(text: str) -> str:
    """A time given as a query parameter or option, in the stored form (any real instant)."""
    return format_timestamp(parse_timestamp(text))


def now() -> str:
    return format_timestamp(datetime.now(UTC))


def _in_range(moment: datetime, text: str) -> None:
    if not EARLIEST <= moment < LATEST:
        raise BadTimestamp(f"timestamp out of range (1970 to 8999): {_show(text)}")


def _show(value: object) -> str:
    return repr(value)[:80]
