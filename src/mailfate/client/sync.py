"""``mailfate.Client``: a mailfate service (``mailfate serve``) from an application, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TypeVar

import httpx

from mailfate.client import wire
from mailfate.core.changes import Change
from mailfate.core.check import CheckResult
from mailfate.core.suppression import Suppression
from mailfate.errors import ServiceUnavailable

T = TypeVar("T")


class Client:
    """One connection pool to one mailfate service; close it (or use ``with``) when done.

    ``token`` is the service's ``MAILFATE_API_TOKEN``. Every method raises
    :class:`~mailfate.errors.Unauthorized` (401), :class:`~mailfate.errors.NotFound` (404),
    :class:`~mailfate.errors.BadRequest` (400) or :class:`~mailfate.errors.ServiceUnavailable` (5xx, or
    no answer within ``timeout`` seconds) instead of returning.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, call: wire.Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.path, json=call.body)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{call.method} {call.path}: {exc}") from exc
        return wire.answer(call, response.status_code, response.content)

    def check(self, addresses: str | Iterable[str]) -> list[CheckResult]:
        """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order."""
        return [result for call in wire.check_calls(addresses) for result in self._call(call)]

    def message(self, message_id: str) -> wire.MessageJSON:
        """The fate of one message and of each recipient (:class:`~mailfate.errors.NotFound` if unseen)."""
        return self._call(wire.message(message_id))

    def recipient(self, address: str) -> wire.RecipientJSON:
        """The messages sent to an address, newest first, and its suppression."""
        return self._call(wire.recipient(address))

    def suppress(self, address: str, reason: str | None = None) -> Suppression:
        """Suppress an address by hand, with a note; returns the suppression now in force."""
        return self._call(wire.suppress(address, reason))

    def unsuppress(self, address: str) -> None:
        """Lift a suppression (:class:`~mailfate.errors.NotFound` when the address is not suppressed)."""
        self._call(wire.unsuppress(address))

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
