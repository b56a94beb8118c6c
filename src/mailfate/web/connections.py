"""Connections that cannot be held open for free: uvicorn's httptools protocol with the deadlines it
lacks, and a cap on open connections.

uvicorn times out only an idle keep-alive connection. A connection that never sends a byte, or sends
its headers or body one byte at a time, stays open for ever, and about 20,000 of them exhaust the file
descriptors, after which SNS cannot connect. Here every connection has, at any moment, one deadline:

- ``MAILFATE_HEADER_TIMEOUT`` from connecting (or from the first byte of a later request) to the end
  of the headers;
- ``MAILFATE_BODY_TIMEOUT`` from the end of the headers to the end of the body;
- ``MAILFATE_KEEP_ALIVE_TIMEOUT`` between requests (uvicorn's own timer).

A connection past its deadline is closed. At ``max_connections`` a new connection closes the oldest
one that is not in the middle of a request (idle, or still sending headers); if every one is, the new
one is closed instead. uvicorn's own ``limit_concurrency`` cannot do this: it answers 503, but only
once a request's headers have arrived, and the sockets stay open meanwhile.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def default_max_connections() -> int:
    """Half the file descriptors this process may open (the rest: database, certificates, logs),
    between 64 and 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(64, min(4096, (soft - 64) // 2))


@dataclass(slots=True)
class Limits:
    max_connections: int
    header_seconds: float = 10.0
    body_seconds: float = 30.0


#: Set by the app at start-up (in each worker process) from the settings.
LIMITS = Limits(default_max_connections())


def configure(max_connections: int | None, header_seconds: float, body_seconds: float) -> None:
    LIMITS.max_connections = max_connections or default_max_connections()
    LIMITS.header_seconds = header_seconds
    LIMITS.body_seconds = body_seconds


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol (``http="mailfate.web.connections:GuardedHttpToolsProtocol"``) with deadlines."""

    _deadline: asyncio.TimerHandle | None = None
    _opened: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        self._arm(LIMITS.header_seconds)  # the first request's headers, from the moment of connecting
        if len(self.connections) > LIMITS.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm(LIMITS.header_seconds)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(LIMITS.body_seconds)  # a request without a body completes at once, and disarms it

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # a handler waiting for the body gets http.disconnect

    def _busy(self) -> bool:
        """In the middle of a request: its headers have arrived and its answer is not complete."""
        cycle: Any = self.cycle
        return cycle is not None and not cycle.response_complete

    def _make_room(self) -> None:
        idle = [c for c in self.connections if isinstance(c, GuardedHttpToolsProtocol) and c is not self
                and not c._busy() and not c.transport.is_closing()]  # fmt: skip
        victim = min(idle, key=lambda c: c._opened) if idle else self
        victim.transport.close()
