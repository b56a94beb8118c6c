"""Connections that cannot be held open for free: uvicorn's httptools protocol with the deadlines it
lacks, a cap on open connections, and a bound on the memory that unfinished bodies hold.

uvicorn times out only an idle keep-alive connection. A connection that never sends a byte, or sends
its headers or body one byte at a time, stays open for ever, and about 20,000 of them exhaust the file
descriptors, after which SNS cannot connect. Here every connection has, at any moment, one deadline:

- ``MAILFATE_HEADER_TIMEOUT`` from connecting (or from the first byte of a later request) to the end
  of the headers;
- ``MAILFATE_BODY_TIMEOUT`` from the end of the headers to the end of the body;
- ``MAILFATE_KEEP_ALIVE_TIMEOUT`` between requests (uvicorn's own timer);
- ``MAILFATE_SEND_TIMEOUT`` while an answer waits for a client that reads none of it (the transport's
  buffer is full: uvicorn would wait for it for ever, holding the answer in memory).

A connection is *waiting on its client* unless its request has fully arrived and its answer is being
made (the server's own work, which is never cut short). At ``max_connections`` a new connection closes
the one that has waited on its client the longest: an idle one first, else the request that began
the longest ago and is still arriving or still unread. A genuine request arrives within milliseconds,
so a flood of slow requests can only displace itself. And the bodies still arriving hold at most
``MAILFATE_MAX_BODY_MEMORY_MB`` in a process: past it, the unfinished body that began the longest ago is
dropped with its connection. uvicorn's own ``limit_concurrency`` cannot do any of this: it answers
503, but only once a request's headers have arrived, and the sockets stay open meanwhile.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Bytes that the unfinished request bodies of one process may hold by default (``MAILFATE_MAX_BODY_MEMORY_MB``:
#: 256 bodies of SNS's largest size).
BODY_MEMORY = 64 * 1024 * 1024


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
    send_seconds: float = 30.0
    body_memory: int = BODY_MEMORY
    held: int = 0  # bytes of unfinished bodies held now, in this process


#: Set by the app at start-up (in each worker process) from the settings.
LIMITS = Limits(default_max_connections())


def configure(
    max_connections: int | None, header_seconds: float, body_seconds: float, send_seconds: float, body_memory: int
) -> None:
    LIMITS.max_connections = max_connections or default_max_connections()
    LIMITS.header_seconds = header_seconds
    LIMITS.body_seconds = body_seconds
    LIMITS.send_seconds = send_seconds
    LIMITS.body_memory = body_memory


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol (``http="mailfate.web.connections:GuardedHttpToolsProtocol"``) with deadlines."""

    _deadline: asyncio.TimerHandle | None = None
    _send_deadline: asyncio.TimerHandle | None = None
    _waiting_since: float = 0.0  # when this connection began to wait on its client (this request, or idling)
    _held: int = 0  # bytes of this request's body that have arrived while more is to come
    _running: Any = None  # the request whose handler runs (pipelined requests wait behind it)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        self._arm(LIMITS.header_seconds)  # the first request's headers, from the moment of connecting
        if len(self.connections) > LIMITS.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._disarm_send()
        self._release()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection
            self._waiting_since = self.loop.time()
            self._arm(LIMITS.header_seconds)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(LIMITS.body_seconds)  # a request without a body completes at once, and disarms it

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._held += len(body)
        LIMITS.held += len(body)
        if LIMITS.held > LIMITS.body_memory:
            self._free_memory()

    def on_message_complete(self) -> None:
        self._disarm()
        self._release()  # the whole body is in: the handler's own work, no longer the client's to finish
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._waiting_since = self.loop.time()  # idle from now (or the next pipelined request begins)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_deadline is None:
            self._send_deadline = self.loop.call_later(LIMITS.send_seconds, self._expire_send)

    def resume_writing(self) -> None:
        self._disarm_send()
        super().resume_writing()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _disarm_send(self) -> None:
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None

    def _release(self) -> None:
        LIMITS.held -= self._held
        self._held = 0

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # a handler waiting for the body gets http.disconnect

    def _expire_send(self) -> None:
        self._send_deadline = None
        self._drop()

    def _drop(self) -> None:
        """Close now: ``close`` would wait to send what is buffered, to a client that reads nothing."""
        self._release()
        # Every handler's next send is dropped, not written to a closed socket: the one running (with
        # pipelined requests that is not ``self.cycle``, the last one read) and those queued.
        for cycle in (self._running, self.cycle, *(queued for queued, _ in self.pipeline)):
            if cycle is not None:
                cycle.disconnected = True
        self.transport.abort()

    def _busy(self) -> bool:
        """Doing the server's own work: the request has fully arrived and its answer is being made
        (not merely waiting for the client to read it)."""
        cycle: Any = self.cycle
        return cycle is not None and not cycle.more_body and not cycle.response_complete and not self.flow.write_paused

    def _idle(self) -> bool:
        """Between two requests: answered, and nothing of a next one yet (a new connection is not idle,
        it is about to send its first request)."""
        cycle: Any = self.cycle
        return cycle is not None and cycle.response_complete and self._deadline is None

    def _make_room(self) -> None:
        """Close the connection that has waited on its client the longest: idle ones first."""
        waiting = [c for c in self.connections if isinstance(c, GuardedHttpToolsProtocol)
                   and not c._busy() and not c.transport.is_closing()]  # fmt: skip
        victim = min(waiting, key=lambda c: (not c._idle(), c._waiting_since), default=self)
        victim._drop()

    def _free_memory(self) -> None:
        """Drop unfinished bodies, the one that began the longest ago first, until back within the bound."""
        arriving = sorted(
            (c for c in self.connections if isinstance(c, GuardedHttpToolsProtocol) and c._held),
            key=lambda c: c._waiting_since,
        )
        for victim in arriving:
            if LIMITS.held <= LIMITS.body_memory:
                break
            victim._drop()
