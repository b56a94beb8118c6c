"""The server under hostile and careless use, against real `mailfate serve` processes: DNS rebinding and
cross-site writes, unknown query parameters, oversized bodies, passwords in webhook URLs, and idle or
trickling connections (bounded in time and in sockets, far under the file descriptor limit)."""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailfate.logs import redact_url
from mailfate.testing import event, sns_envelope
from mailfate.web.openapi import PATHS

from .support import TOPIC, Server, Signer, post_sns, request

pytestmark = pytest.mark.server
Start = Callable[..., Server]


def call(server: Server, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
    return request(server.port, method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})


class TestHostNames:
    def test_loopback_answers_only_its_own_names(self, servers: Start) -> None:
        server = servers()
        port = server.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert call(server, "GET", "/api/suppressions", Host=host).status == 200, host
        assert call(server, "PUT", "/api/suppressions/victim%40example.com", Host=f"localhost:{port}").status == 200
        # A page on a domain that re-resolves to 127.0.0.1 sends its own name: refused, reads and writes.
        for method, path in [("GET", "/api/suppressions"), ("DELETE", "/api/suppressions/victim%40example.com"),
                             ("GET", "/"), ("POST", "/sns")]:  # fmt: skip
            refused = call(server, method, path, Host=f"rebind.attacker.example:{port}")
            assert refused.status == 400, (method, path)
            assert "rebind.attacker.example" in refused.json()["error"]
            assert "MAILFATE_ALLOWED_HOSTS" in refused.json()["error"]
        assert call(server, "GET", "/api/suppressions", Host=f"localhost:{port + 1}").status == 400  # other port
        listed = call(server, "GET", "/api/recipients/victim%40example.com").json()
        assert listed["suppressed"] is True  # the DELETE did nothing

    def test_sns_host_allowed_by_the_setting(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_ALLOWED_HOSTS": "mailfate.example.com, 127.0.0.1"})
        envelope = signer.sign(sns_envelope(event("Delivery", "h-1", ["a@example.com"], "2026-11-20T10:00:00Z"),
                                            topic_arn=TOPIC))  # fmt: skip
        # SNS sends the Host of the subscription URL: a name without a port is allowed on any port.
        assert post_sns(server.port, envelope, {"Host": "mailfate.example.com"}).status == 200
        assert post_sns(server.port, envelope, {"Host": "Mailfate.Example.com:443"}).status == 200
        assert post_sns(server.port, envelope, {"Host": f"localhost:{server.port}"}).status == 400  # not listed
        assert call(server, "GET", "/healthz", Host=f"127.0.0.1:{server.port}").status == 200

    def test_star_allows_any_name(self, servers: Start) -> None:
        server = servers({"MAILFATE_ALLOWED_HOSTS": "*"})
        assert call(server, "GET", "/healthz", Host="anything.example").status == 200


class TestCrossSiteWrites:
    def test_browser_writes_from_another_site_are_refused(self, servers: Start) -> None:
        server = servers()
        own = f"http://127.0.0.1:{server.port}"
        path = "/api/suppressions/x%40example.com"
        assert call(server, "PUT", path, Origin="https://evil.example").status == 403
        assert call(server, "PUT", path, Sec_Fetch_Site="cross-site").status == 403
        assert call(server, "PUT", path, Sec_Fetch_Site="same-site").status == 403
        assert call(server, "PUT", path, Origin="null").status == 403
        assert call(server, "POST", "/sns", b"{}", Origin="https://evil.example").status == 403
        assert call(server, "GET", "/api/recipients/x%40example.com").json()["suppressed"] is False
        assert call(server, "PUT", path, Origin=own, Sec_Fetch_Site="same-origin").status == 200
        assert call(server, "DELETE", path, Origin="https://evil.example").status == 403
        assert call(server, "DELETE", path).status == 200  # curl and scripts send no Origin
        # Reads are not writes: another site's page cannot read them anyway (no CORS).
        assert call(server, "GET", "/api/suppressions", Origin="https://evil.example").status == 200


def _operations() -> Iterator[tuple[str, str, list[str]]]:
    for template, operations in PATHS.items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            path = template.replace("{message_id}", "m-1").replace("{address}", "a%40example.com")
            yield method.upper(), path, names


class TestQueryParameters:
    def test_every_endpoint_names_an_unknown_parameter(self, servers: Start) -> None:
        server = servers()
        paths = [*_operations(), ("GET", "/static/dashboard.js", []), ("GET", "/nowhere", [])]
        for method, path, _ in paths:
            answer = call(server, method, f"{path}?bogus_param=1", b"" if method != "GET" else None)
            assert answer.status == 400, (method, path, answer.status)
            assert "bogus_param" in answer.json()["error"], (method, path)

    def test_every_documented_parameter_is_accepted(self, servers: Start) -> None:
        server = servers()
        values = {"limit": "5", "after": "0", "since": "2026-01-01T00:00:00Z", "until": "2026-12-01T00:00:00Z",
                  "status": "bounced", "group_by": "day", "tag": "a:b", "recipient": "a@example.com",
                  "contains": "x", "auto_reply": "true", "domain": "example.com", "sender": "a@example.com",
                  "configuration_set": "transactional", "q": "heidi", "provider": "google",
                  "action": "unsuppress", "target": "a@example.com"}  # fmt: skip
        checked = 0
        for method, path, names in _operations():
            for name in names:
                if name.endswith("cursor"):
                    continue  # only the server makes those
                answer = call(server, method, f"{path}?{name}={values[name]}")
                assert answer.status in (200, 404), (method, path, name, answer.body)
                checked += 1
        assert checked >= 15

    def test_a_parameter_given_twice_is_refused(self, servers: Start) -> None:
        server = servers()
        answer = call(server, "GET", "/api/messages?limit=1&limit=500")
        assert answer.status == 400
        assert "limit" in answer.json()["error"]


class TestBodies:
    def test_api_bodies_are_bounded(self, servers: Start) -> None:
        server = servers()
        big = b'{"reason": "' + b"x" * (70 * 1024) + b'"}'
        answer = call(server, "PUT", "/api/suppressions/x%40example.com", big, Content_Type="application/json")
        assert (answer.status, answer.json()["status"]) == (413, 413)
        # Without a Content-Length (chunked), the body is counted as it arrives.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        try:
            chunks = (b"x" * 8192 for _ in range(20))
            conn.request("PUT", "/api/suppressions/y%40example.com", body=chunks, encode_chunked=True)
            response = conn.getresponse()
            assert response.status == 413
        finally:
            conn.close()
        assert call(server, "GET", "/api/recipients/x%40example.com").json()["suppressed"] is False
        assert call(server, "GET", "/api/recipients/y%40example.com").json()["suppressed"] is False
        fine = call(server, "PUT", "/api/suppressions/x%40example.com", b'{"reason": "' + b"y" * 1000 + b'"}')
        assert fine.status == 200


def test_webhook_passwords_with_an_at_sign_stay_hidden(servers: Start) -> None:
    url = "http://hookuser:pa@ss-word@127.0.0.1:9/hook"
    server = servers({"MAILFATE_WEBHOOK_URL": url, "MAILFATE_WEBHOOK_SECRET": "0123456789abcdef0123"})
    hooks = call(server, "GET", "/api/webhooks").json()
    assert [h["url"] for h in hooks] == ["http://127.0.0.1:9/…"]  # no user, password, path or query shown
    assert "ss-word" not in server.log.read_text()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hookuser:pa@ss-word@app.example/hook?x=1", "https://hookuser:***@app.example/hook?x=1"),
        ("postgresql://u:s3c@r3t@db:5432/mailfate", "postgresql://u:***@db:5432/mailfate"),
        ("https://u:p@h/path@x", "https://u:***@h/path@x"),
        ("https://app.example/hooks/@team", "https://app.example/hooks/@team"),
        ("https://app.example?to=a@b", "https://app.example?to=a@b"),
        ("sqlite:///a@b.db", "sqlite:///a@b.db"),
        # Only a password that is there is hidden: a user alone, or an empty password, is shown as it is.
        ("postgresql://postgres@127.0.0.1/mailfate", "postgresql://postgres@127.0.0.1/mailfate"),
        ("postgresql://postgres:@127.0.0.1/mailfate", "postgresql://postgres:@127.0.0.1/mailfate"),
        ("postgresql://:secret@127.0.0.1/mailfate", "postgresql://:***@127.0.0.1/mailfate"),
        ("https://a%40b@app.example/hook", "https://a%40b@app.example/hook"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


SLOW_LIMITS = {
    "MAILFATE_HEADER_TIMEOUT": "1",
    "MAILFATE_BODY_TIMEOUT": "1.5",
    "MAILFATE_KEEP_ALIVE_TIMEOUT": "1",
    "MAILFATE_MAX_CONNECTIONS": "64",
}


class TestSlowClients:
    """Idle, header-trickling and body-trickling sockets are closed on time, and a cap keeps the open
    connections (so file descriptors) bounded; meanwhile real requests are answered."""

    def test_slow_sockets_are_closed_on_time(self, servers: Start) -> None:
        server = servers(SLOW_LIMITS)
        sockets: list[tuple[str, socket.socket]] = []
        try:
            for _ in range(10):
                sockets.append(("idle", _connect(server)))
            for _ in range(10):
                s = _connect(server)
                s.sendall(b"POST /sns HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                sockets.append(("headers", s))
            for _ in range(10):
                s = _connect(server)
                s.sendall(b"POST /sns HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 5000\r\n\r\n{" % server.port)
                sockets.append(("body", s))
            kept = _connect(server)
            kept.settimeout(5)
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % server.port)
            assert b"200" in kept.recv(4096).split(b"\r\n")[0]
            kept.setblocking(False)
            sockets.append(("kept-alive", kept))
            started = time.monotonic()
            open_ones = {id(s) for _, s in sockets}
            while open_ones and time.monotonic() - started < 6:  # trickle a byte each 0.2 s, for at most 6 s
                for kind, s in sockets:
                    if id(s) in open_ones and kind in ("headers", "body"):
                        try:
                            s.sendall(b"a")
                        except OSError:
                            open_ones.discard(id(s))
                    if id(s) in open_ones and _closed_by_server(s):
                        open_ones.discard(id(s))
                assert request(server.port, "GET", "/healthz", timeout=5).status == 200  # never starved
                time.sleep(0.2)
            assert not open_ones, f"still open after 6 s: {[k for k, s in sockets if id(s) in open_ones]}"
            assert time.monotonic() - started < 4  # each closed at its deadline (1 to 1.5 s), not later
        finally:
            for _, s in sockets:
                s.close()

    def test_open_connections_are_capped(self, servers: Start) -> None:
        limits = {**SLOW_LIMITS, "MAILFATE_HEADER_TIMEOUT": "30"}  # idle sockets are not timed out here
        server = servers(limits)
        assert server.process is not None
        baseline = _open_files(server.process.pid)
        held = []
        try:
            for _ in range(200):
                held.append(_connect(server))
            time.sleep(0.5)
            # Real requests still get through: each closes the oldest idle connection to make room.
            for _ in range(5):
                assert request(server.port, "GET", "/healthz", timeout=5).status == 200
            closed = sum(_closed_by_server(s) for s in held)
            assert closed >= 200 - 64
            assert _open_files(server.process.pid) <= baseline + 64 + 5
        finally:
            for s in held:
                s.close()


def _connect(server: Server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.setblocking(False)
    return s


def _closed_by_server(s: socket.socket) -> bool:
    """Whether the server has closed it (whatever it sent before is read and dropped)."""
    for _ in range(100):
        try:
            if s.recv(65536) == b"":
                return True
        except BlockingIOError:
            return False
        except OSError:
            return True
    return False


def _open_files(pid: int) -> int:
    return len(os.listdir(Path("/proc") / str(pid) / "fd"))
