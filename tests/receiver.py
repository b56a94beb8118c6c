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

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def seq(self) -> int:
        return int(self.json()["seq"])


class Receiver:
    """``answer(received)`` gives the status code of each request (default 200)."""

    def __init__(self, port: int, answer: Callable[[Received], int] | None = None) -> None:
        self.port = port
        self.answer = answer or (lambda _: 200)
        self.received: list[Received] = []
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
                status = receiver.answer(got)
                with receiver._lock:
                    receiver.received.append(Received(got.headers, got.body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
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
