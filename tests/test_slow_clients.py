"""Clients that are slow on purpose cannot lock out genuine ones: requests that trickle their body are
evicted at the connection cap, unfinished bodies hold bounded memory, and an answer nobody reads is
given up. Each against a real ``mailfate serve``."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mailfate.testing import event, sns_envelope

from .support import TOPIC, Server, Signer, post_sns

Start = Callable[..., Server]
pytestmark = pytest.mark.server


def _closed_by_server(s: socket.socket) -> bool:
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def delivery(message_id: str) -> dict[str, object]:
    return event("Delivery", message_id, [f"{message_id}@example.com"], "2026-11-20T10:00:00.000Z")


def _slow_body(port: int, sent: bytes = b"{") -> socket.socket:
    """A POST /sns whose headers are complete and whose body has barely begun."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /sns HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 262144\r\n\r\n" % port + sent)
    s.setblocking(False)
    return s


def test_slow_bodies_at_the_cap_do_not_lock_out_notifications(servers: Start, signer: Signer) -> None:
    """40 connections trickling a body, reopened as soon as the server closes one, against a cap of 16:
    every genuine signed notification meanwhile is stored, each within 2 seconds."""
    server = servers({"MAILFATE_MAX_CONNECTIONS": "16", "MAILFATE_BODY_TIMEOUT": "60"})
    stop = threading.Event()
    reopened = [0]

    def attack() -> None:
        sockets: list[socket.socket] = []
        try:
            while not stop.is_set():
                for i, s in enumerate(sockets):
                    try:
                        s.send(b" ")
                        gone = _closed_by_server(s)
                    except OSError:
                        gone = True
                    if gone:
                        s.close()
                        sockets[i] = _slow_body(server.port)
                        reopened[0] += 1
                while len(sockets) < 40:
                    sockets.append(_slow_body(server.port))
                stop.wait(0.05)
        finally:
            for s in sockets:
                s.close()

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    try:
        time.sleep(1)  # the cap is full of slow bodies
        for n in range(20):
            envelope = signer.sign(sns_envelope(delivery(f"m-{n}"), topic_arn=TOPIC))
            started = time.monotonic()
            assert post_sns(server.port, envelope).status == 200
            assert time.monotonic() - started < 2
    finally:
        stop.set()
        attacker.join(timeout=10)
    assert reopened[0] >= 20  # each notification displaced a slow body (the attack really was at the cap)


def test_unfinished_bodies_hold_bounded_memory(servers: Start, signer: Signer) -> None:
    """Each connection sends 200 KiB of a 256 KiB body and stalls: past MAILFATE_MAX_BODY_MEMORY_MB (1 MiB
    here) the bodies that began first are dropped with their connections, the newest stay."""
    server = servers({"MAILFATE_MAX_BODY_MEMORY_MB": "1", "MAILFATE_BODY_TIMEOUT": "60"})
    stalled = []
    try:
        for _ in range(12):
            stalled.append(_slow_body(server.port, b"x" * 200 * 1024))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        closed: list[bool] = []
        while time.monotonic() < deadline:
            closed = [_closed_by_server(s) for s in stalled]
            if sum(closed) >= 7:
                break
            time.sleep(0.1)
        assert closed[:7] == [True] * 7  # 1 MiB holds five bodies of 200 KiB: the first seven went
        assert closed[-1] is False
        envelope = signer.sign(sns_envelope(delivery("m-after"), topic_arn=TOPIC))
        assert post_sns(server.port, envelope).status == 200
    finally:
        for s in stalled:
            s.close()


def test_an_answer_nobody_reads_is_given_up(servers: Start) -> None:
    """A client that asks for 20 MB (pipelined requests) and reads nothing is cut off after
    MAILFATE_SEND_TIMEOUT: uvicorn alone would hold the connection and the answer for ever."""
    server = servers({"MAILFATE_SEND_TIMEOUT": "1"})
    assert server.process is not None
    before = _sockets(server.process.pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", server.port))
    try:
        asked = b"GET /static/vendor/uplot/uPlot.iife.min.js HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % server.port
        s.sendall(asked * 400)
        time.sleep(0.5)
        held = _sockets(server.process.pid) - before
        assert len(held) == 1  # the server holds it while the client stalls
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and held & _sockets(server.process.pid):
            time.sleep(0.2)
        assert not held & _sockets(server.process.pid)
        assert "Traceback" not in server.log.read_text()  # the handler's later sends went nowhere quietly
    finally:
        s.close()


def _sockets(pid: int) -> set[str]:
    """The sockets a process has open (``socket:[inode]``)."""
    folder = Path("/proc") / str(pid) / "fd"
    found = set()
    for fd in os.listdir(folder):
        with contextlib.suppress(OSError):  # closed meanwhile
            if (target := os.readlink(folder / fd)).startswith("socket:"):
                found.add(target)
    return found
