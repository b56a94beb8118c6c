"""A real webhook receiver on 127.0.0.1 for the outbound webhook tests: records every request and
answers what the test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    started: float = 0.0  # time.monotonic() when the request had arrived
    ended: float = 0.0  # when the answer was complete, or the sender had hung up
    complete: bool = True  # False: the sender hung up before the whole answer was out

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def seq(self) -> int:
        return int(self.json()["seq"])


class Receiver:
    """``answer(received)`` gives the status code of each request (default 200); ``trickle(received)``
    how many seconds to take over the answer, a byte at a time (default 0: at once; at most 120)."""

    def __init__(
        self, port: int, answer: Callable[[Received], int] | None = None,
        trickle: Callable[[Received], float] | None = None,
    ) -> None:  # fmt: skip
        self.port = port
        self.answer = answer or (lambda _: 200)
        self.trickle = trickle or (lambda _: 0.0)
        self.received: list[Received] = []
        self.arrived = 0  # requests read, answered or not yet
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                got = Received({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length), 0)
                started = time.monotonic()
                with receiver._lock:
                    receiver.arrived += 1
                status = receiver.answer(got)
                slow = min(120.0, receiver.trickle(got))
                complete = True
                try:
                    if slow:
                        self._trickle(status, slow)
                    else:
                        self.send_response(status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                except OSError:
                    complete = False
                    self.close_connection = True
                with receiver._lock:
                    receiver.received.append(Received(got.headers, got.body, status, started, time.monotonic(),
                                                      complete))  # fmt: skip

            def _trickle(self, status: int, seconds: float) -> None:
                """The status line, then a padding header, one byte each 0.05 s until ``seconds`` are up."""
                end = time.monotonic() + seconds
                head = f"HTTP/1.1 {status} OK\r\nX-Slow: ".encode()
                sent = 0
                while time.monotonic() < end:
                    self.wfile.write(head[sent : sent + 1] if sent < len(head) else b"a")
                    self.wfile.flush()
                    sent += 1
                    time.sleep(0.05)
                self.wfile.write(head[sent:] + b"\r\nContent-Length: 0\r\n\r\n")
                self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many senders connect at once; a full backlog costs a 1 s SYN retry

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(10)
            self._server = None

    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.received)
            if condition(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"receiver: condition not met in {timeout} s; got {len(snapshot)} requests")
