"""Structured logs: one JSON object per line on stderr, so that log pipelines need no parsing rules."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import orjson

logger = logging.getLogger("mailfate")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)  # timestamps in UTC, as the Z says

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        # The server writes a line per request: the date and time change once a second, not per line.
        second = int(record.created)
        if second != self._second:
            self._stamp, self._second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)), second
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)  # log(..., extra={"fields": {...}}): the cheap way
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # text that is not Unicode (a lone surrogate from a request): escaped, not lost
            return json.dumps(entry, default=str)


def log_event(level: int, event: str, fields: dict[str, Any]) -> None:
    """``logger.log(level, event, extra={"fields": fields})`` for a line per request: the same record,
    without the search up the stack for the caller's file and line, which no line shows."""
    if logger.isEnabledFor(level):
        logger.handle(logger.makeRecord(logger.name, level, __file__, 0, event, (), None, extra={"fields": fields}))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def redact_url(url: str) -> str:
    """A URL without the password of its user part, for logs and the API (database and webhook URLs).

    The user part ends at the *last* ``@`` of the authority (which ends at the first ``/``, ``?`` or
    ``#``), as URL parsers read it: a password holding an ``@`` is hidden whole. A URL without a
    password is shown as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, after = rest[:end], rest[end:]
    if "@" not in authority:
        return url
    credentials, _, host = authority.rpartition("@")
    user, _, password = credentials.partition(":")
    if not password:  # a user name alone (or an empty password): nothing to hide, nothing made up
        return url
    return f"{scheme}://{user}:***@{host}{after}"
