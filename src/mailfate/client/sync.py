"""``mailfate.Client``: a mailfate service (``mailfate serve``) from an application, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TypeVar

import httpx

from mailfate.client import wire
from mailfate.client.deadline import FAILURES, TIMEOUTS, DeadlineTransport, deadline
from mailfate.client.views import Message, Recipient
from mailfate.core.changes import Change
from mailfate.core.check import CheckResult
from mailfate.core.suppression import Suppression
from mailfate.errors import ServiceUnavailable

T = TypeVar("T")


class Client:
    """One connection pool to one mailfate service; close it (or use ``with``) when done.

    ``base_url`` is the service's http(s) URL (ValueError at once when it is not one). ``token`` is its
    ``MAILFATE_API_TOKEN``. Every call is over within ``timeout`` seconds, however slowly the service
    answers, and reads at most ``max_response_bytes`` of answer. Every method raises
    :class:`~mailfate.errors.Unauthorized` (401), :class:`~mailfate.errors.NotFound` (404),
    :class:`~mailfate.errors.BadRequest` (400), :class:`~mailfate.errors.ServiceUnavailable` (5xx, or
    no whole answer within ``timeout``) or :class:`~mailfate.errors.ServiceError` (any other status, or
    an answer over ``max_response_bytes``) instead of returning.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        max_response_bytes: int = wire.MAX_RESPONSE_BYTES,
    ) -> None:
        self._timeout = timeout
        self._max = max_response_bytes
        self._http = httpx.Client(base_url=wire.base_url(base_url), headers=wire.headers(token), timeout=timeout,
                                  transport=DeadlineTransport())  # fmt: skip

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, call: wire.Call[T]) -> T:
        what = f"{call.method} {call.path}"
        try:
            with deadline(self._timeout), self._http.stream(call.method, call.path, json=call.body) as response:
                status, content = response.status_code, self._read(response, call)
        except TIMEOUTS as exc:
            raise ServiceUnavailable(f"{what}: no whole answer within {self._timeout:g} s") from exc
        except FAILURES as exc:
            raise ServiceUnavailable(f"{what}: {exc or type(exc).__name__}") from exc
        return wire.answer(call, status, content)

    def _read(self, response: httpx.Response, call: wire.Call[T]) -> bytes:
        if int(response.headers.get("Content-Length") or 0) > self._max:
            raise wire.too_large(self._max, call.method, call.path)
        parts, size = [], 0
        for part in response.iter_bytes():
            size += len(part)
            if size > self._max:
                raise wire.too_large(self._max, call.method, call.path)
            parts.append(part)
        return b"".join(parts)

    def check(self, addresses: str | Iterable[str]) -> list[CheckResult]:
        """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order."""
        return [result for call in wire.check_calls(addresses) for result in self._call(call)]

    def message(self, message_id: str) -> Message:
        """The fate of one message and of each recipient (:class:`~mailfate.errors.NotFound` if unseen),
        with the attributes of the library's :class:`~mailfate.MessageView`; ``to_json()`` for the JSON."""
        return self._call(wire.message(message_id))

    def recipient(self, address: str) -> Recipient:
        """The messages sent to an address, newest first, and its suppression (the library's
        :class:`~mailfate.RecipientView`). An address never seen has none; what is not an address is a
        :class:`~mailfate.errors.BadRequest`."""
        return self._call(wire.recipient(address))

    def suppress(self, address: str, reason: str | None = None) -> Suppression:
        """Suppress an address by hand, with a note; returns the suppression now in force."""
        return self._call(wire.suppress(address, reason))

    def unsuppress(self, address: str, reason: str) -> None:
        """Lift a suppression, saying why: the reason is kept with the lift and in the audit trail, and
        an empty one is a ValueError (:class:`~mailfate.errors.NotFound` when the address is not
        suppressed; :class:`~mailfate.errors.Forbidden` for a read token)."""
        self._call(wire.unsuppress(address, reason))

    def changes(self, after: int = 0, limit: int = 100) -> list[Change]:
        """The changes after the cursor ``after`` (a change's ``seq``), oldest first."""
        return self._call(wire.changes(after, limit))

    def follow(self, after: int = 0, *, poll: float = 1.0, limit: int = 100) -> Iterator[Change]:
        """Every change after ``after``, then each new one as it comes, for ever (``break`` to stop).

        Keep the ``seq`` of the last change you have handled, durably; to resume after a restart or
        an error, call ``follow(after=that_seq)``: nothing is missed and nothing comes twice."""
        while True:
            found = self.changes(after, limit)
            yield from found
            if found:
                after = found[-1].seq
            if len(found) < limit:
                time.sleep(poll)
