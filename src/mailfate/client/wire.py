"""What the two clients share: the requests they make and how they read the answers. No I/O here.

Each call is a :class:`Call` (method, path, JSON body) and a function that turns the decoded answer into
the result; :func:`answer` turns an HTTP status and body into that result, or into the error of
:mod:`mailfate.errors` that the status means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NotRequired, TypedDict, TypeVar
from urllib.parse import quote, urlsplit

from mailfate.client.views import Message, Recipient, SuppressionJSON
from mailfate.core.changes import Change
from mailfate.core.check import MAX_ADDRESSES, CheckResult
from mailfate.core.jsonutil import loads
from mailfate.core.suppression import Suppression
from mailfate.errors import BadRequest, Forbidden, NotFound, ServiceError, ServiceUnavailable, Unauthorized

T = TypeVar("T")

#: The largest answer a client reads (``max_response_bytes``): far above any the service gives (a check
#: of 1,000 addresses is under 1 MB), far below what would hurt the application holding it.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


def headers(token: str | None) -> dict[str, str]:
    """What every request of a client carries: the token, and no compression (the response size limit is
    on what is held, not on what a bomb would inflate to)."""
    sent = {"Authorization": f"Bearer {token}"} if token else {}
    sent["Accept-Encoding"] = "identity"
    return sent


def base_url(given: str) -> str:
    """``given`` without its trailing slash, when it is the http(s) URL of a service; ValueError, saying
    how to write it, when it is not (``127.0.0.1:8025`` would otherwise fail only at the first call)."""
    text = given.strip()
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)
        _ = parts.port  # a port that is not a number is a ValueError here
    except ValueError:
        usable = False
    if not usable:
        raise ValueError(
            f"base_url {given!r} is not the http(s) URL of a mailfate service: write it as http://HOST:PORT "
            "(for example http://127.0.0.1:8025)"
        )
    return text.rstrip("/")


def too_large(limit: int, method: str, path: str) -> ServiceError:
    return ServiceError(f"{method} {path}: the answer is larger than {limit:,} bytes (max_response_bytes)")


class RecipientJSON(TypedDict):
    """``GET /api/recipients/{address}`` (docs/api.md)."""

    address: str
    suppressed: bool
    suppression: SuppressionJSON | None
    messages: list[dict[str, Any]]
    next_cursor: NotRequired[str]


class MessageJSON(TypedDict):
    """``GET /api/messages/{message_id}`` (docs/api.md)."""

    message_id: str
    status: str
    recipient_counts: dict[str, int]
    source: str | None
    subject: str | None
    sent_at: str | None
    tags: dict[str, list[str]]
    recipients: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[Any], T]
    body: Any = None


def check_calls(addresses: str | Iterable[str]) -> list[Call[list[CheckResult]]]:
    """``POST /api/check``, in parts of the most one request may ask about."""
    given = [addresses] if isinstance(addresses, str) else list(addresses)
    parts = [given[i : i + MAX_ADDRESSES] for i in range(0, len(given), MAX_ADDRESSES)]
    return [Call("POST", "/api/check", _check_results, part) for part in parts]


def _check_results(body: Any) -> list[CheckResult]:
    return [CheckResult.from_json(item) for item in body]


def message(message_id: str) -> Call[Message]:
    return Call("GET", f"/api/messages/{_segment(message_id)}", Message.from_json)


def recipient(address: str) -> Call[Recipient]:
    return Call("GET", f"/api/recipients/{_segment(address)}", Recipient.from_json)


def suppress(address: str, reason: str | None) -> Call[Suppression]:
    body = {"reason": reason} if reason else None
    return Call("PUT", f"/api/suppressions/{_segment(address)}", _suppression, body)


def _suppression(body: Any) -> Suppression:
    return Suppression.from_json(body["address"], body["suppression"])


def unsuppress(address: str, reason: str) -> Call[None]:
    """A lift always says why: the audit trail keeps it (the HTTP API alone allows none, for scripts)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("unsuppress needs a reason: why may this address be mailed again?")
    body = {"reason": reason.strip()}
    return Call("DELETE", f"/api/suppressions/{_segment(address)}", lambda body: None, body)


def changes(after: int, limit: int) -> Call[list[Change]]:
    return Call("GET", f"/api/changes?after={int(after)}&limit={int(limit)}", _changes)


def _changes(body: Any) -> list[Change]:
    return [Change(item["seq"], {k: v for k, v in item.items() if k != "seq"}) for item in body]


def _segment(value: str) -> str:
    return quote(value, safe="")


def answer(call: Call[T], status: int, content: bytes) -> T:
    """The result of ``call`` from the service's answer, or the error its status means."""
    try:
        body = loads(content) if content else None
    except ValueError:
        body = None
    if 200 <= status < 300:
        if body is None:
            raise ServiceUnavailable(f"{call.method} {call.path}: the answer is not JSON", status)
        return call.read(body)
    message = body.get("error") if isinstance(body, dict) else None
    text = f"{call.method} {call.path}: {message or f'HTTP {status}'}"
    kind = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound}.get(status)
    if kind is None:
        kind = ServiceUnavailable if status >= 500 else ServiceError
    raise kind(text, status)
