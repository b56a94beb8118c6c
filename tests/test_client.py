"""mailfate.Client and mailfate.AsyncClient against a real `mailfate serve`."""

from __future__ import annotations

import asyncio
import socketserver
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import mailfate
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema
from .support import Server, free_port, request

pytestmark = pytest.mark.server
TOKEN = "client-token-3e9"
T = "2026-11-20T10:00:00.000Z"


@pytest.fixture
def server(servers: Callable[..., Server], tmp_path: Path) -> Server:
    store = open_store(f"sqlite:///{tmp_path / 'server.db'}")
    ingest(store, [
        event("Send", "m-1", ["ok@example.com", "gone@example.com"], T),
        event("Delivery", "m-1", ["ok@example.com"], "2026-11-20T10:00:02.000Z"),
        bounce_event("m-1", ["gone@example.com"], "2026-11-20T10:00:03.000Z", "Permanent", "General", "5.1.1"),
    ])  # fmt: skip
    store.close()
    return servers({"MAILFATE_API_TOKEN": TOKEN})


def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_every_call(server: Server) -> None:
    with mailfate.Client(base(server), token=TOKEN) as client:
        found = client.check(["OK@example.com", "gone@example.com", "not an address"])
        assert [(r.address, r.allowed) for r in found] == [
            ("ok@example.com", True), ("gone@example.com", False), ("not an address", False)]  # fmt: skip
        assert found[1].suppression is not None
        assert (found[1].suppression.reason, found[1].suppression.since) == ("bounce", "2026-11-20T10:00:03.000Z")
        assert found[2].error == "not an email address: contains spaces or control characters"
        assert client.check("gone@example.com")[0].allowed is False

        message = client.message("m-1")
        assert message.status is mailfate.Status.BOUNCED
        assert {r.address: r.status for r in message.recipients} == {
            "ok@example.com": mailfate.Status.DELIVERED, "gone@example.com": mailfate.Status.BOUNCED}  # fmt: skip
        view = client.recipient("gone@example.com")
        assert view.suppressed is True
        assert view.suppression is not None
        assert view.suppression["reason"] == "bounce"
        assert [m.message_id for m in view.messages] == ["m-1"]
        assert view.messages[0].fate.status is mailfate.Status.BOUNCED

        suppression = client.suppress("New <new@example.com>", reason="asked us to stop")
        assert (suppression.address, suppression.reason, suppression.note) == (
            "new@example.com", "manual", "asked us to stop")  # fmt: skip
        assert client.check(["new@example.com"])[0].allowed is False
        client.unsuppress("new@example.com", reason="asked to be back")
        assert client.check(["new@example.com"])[0].allowed is True
        with pytest.raises(mailfate.NotFound, match="not suppressed") as missing:
            client.unsuppress("new@example.com", "again")
        with pytest.raises(ValueError, match="needs a reason"):
            client.unsuppress("new@example.com", " ")
        assert missing.value.status == 404

        changes = client.changes()
        assert [c.seq for c in changes] == sorted(c.seq for c in changes)
        kinds = [(c.payload["type"], c.payload["address"]) for c in changes]
        assert ("suppression", "gone@example.com") in kinds
        assert client.changes(after=changes[-1].seq) == []


def test_the_lift_keeps_its_reason(server: Server, tmp_path: Path) -> None:
    with mailfate.Client(base(server), token=TOKEN) as client:
        client.suppress("lifted@example.com")
        client.unsuppress("lifted@example.com", reason="asked to be back")
    with sqlite3.connect(tmp_path / "server.db") as db:
        found = db.execute("SELECT action, reason FROM suppression_actions WHERE address = 'lifted@example.com' "
                           "ORDER BY at, action DESC").fetchall()  # fmt: skip
    assert found == [("suppress", None), ("lift", "asked to be back")]


def test_code_written_for_the_library_runs_on_the_client(server: Server, tmp_path: Path) -> None:
    """The client's views have the library's attributes, and give back the API's JSON."""
    store = open_store(f"sqlite:///{tmp_path / 'server.db'}", migrate=False)
    try:
        with mailfate.Client(base(server), token=TOKEN) as client:
            for source in (store, client):
                view = source.message("m-1")
                assert view is not None
                assert view.status is mailfate.Status.BOUNCED
                assert [(f.message_id, f.address, f.status) for f in view.recipients] == [
                    ("m-1", "gone@example.com", "bounced"), ("m-1", "ok@example.com", "delivered")]  # fmt: skip
                assert [f.to_json() for f in view.recipients] == [f.to_json() for f in store.message("m-1").recipients]  # type: ignore[union-attr]
                assert view.recipient_counts["bounced"] == 1
                assert [(e.kind, e.recipient) for e in view.events][:1] == [("Send", "gone@example.com")]
                who = source.recipient("gone@example.com")
                assert (who.address, [m.fate.status for m in who.messages]) == ("gone@example.com", ["bounced"])
            answered = request(server.port, "GET", "/api/messages/m-1", headers={"Authorization": f"Bearer {TOKEN}"})
            assert client.message("m-1").to_json() == answered.json() == store.message("m-1").to_json()  # type: ignore[union-attr]
            assert client.recipient("gone@example.com").to_json() == store.recipient("gone@example.com").to_json()
            assert client.recipient("never@example.com").to_json() == {
                "address": "never@example.com", "suppressed": False, "suppression": None, "messages": []}  # fmt: skip
    finally:
        store.close()


@pytest.mark.parametrize("given", ["127.0.0.1:8810", "localhost:8025", "ftp://127.0.0.1/", "http://", "http://h:port",
                                   "http://127.0.0.1:8025/?a=b", ""])  # fmt: skip
def test_a_base_url_that_is_not_one_is_refused_at_once(given: str) -> None:
    with pytest.raises(ValueError, match=r"is not the http\(s\) URL of a mailfate service: write it as http://"):
        mailfate.Client(given)
    with pytest.raises(ValueError, match="write it as http://HOST:PORT"):
        mailfate.AsyncClient(given)


def test_a_check_of_more_than_a_request_holds(server: Server) -> None:
    addresses = [f"user{n}@example.com" for n in range(2500)] + ["gone@example.com"]
    with mailfate.Client(base(server), token=TOKEN) as client:
        found = client.check(addresses)
    assert [r.address for r in found] == addresses
    assert [r.address for r in found if not r.allowed] == ["gone@example.com"]


def test_follow_resumes_from_the_cursor_kept(server: Server) -> None:
    with mailfate.Client(base(server), token=TOKEN) as client:
        first = client.changes()
        kept = first[1].seq  # as if the application had handled two changes, then stopped
        resumed = []
        for change in client.follow(after=kept, poll=0.05, limit=2):
            resumed.append(change)
            if len(resumed) == len(first) - 2:
                break
        assert resumed == first[2:]
        client.suppress("later@example.com")
        deadline = time.monotonic() + 10
        for change in client.follow(after=first[-1].seq, poll=0.05):
            assert change.payload["address"] == "later@example.com"
            break
        assert time.monotonic() < deadline


def test_typed_errors(server: Server, servers: Callable[..., Server]) -> None:
    with mailfate.Client(base(server), token="wrong") as client, pytest.raises(mailfate.Unauthorized) as refused:
        client.check(["a@example.com"])
    assert refused.value.status == 401
    with mailfate.Client(base(server), token=TOKEN) as client:
        with pytest.raises(mailfate.NotFound, match="message nope not found"):
            client.message("nope")
        with pytest.raises(mailfate.BadRequest, match=r"a message id\? GET /api/messages/m-1$"):
            client.recipient("m-1")
        assert client.recipient("never@example.com").messages == []
        with pytest.raises(mailfate.BadRequest, match="after must be between") as bad:
            client.changes(after=-1)
        assert bad.value.status == 400
    with mailfate.Client(f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        with pytest.raises(mailfate.ServiceUnavailable) as unreachable:
            client.check(["a@example.com"])
        assert unreachable.value.status is None
    assert issubclass(mailfate.ServiceUnavailable, mailfate.ServiceError)
    assert issubclass(mailfate.ServiceError, mailfate.MailfateError)


@pytest.mark.postgres
def test_storage_down_is_service_unavailable(servers: Callable[..., Server]) -> None:
    """A 503 from a server whose database has gone: the client says so, typed."""
    import psycopg

    from .conftest import POSTGRES_URL

    with postgres_schema() as url:
        server = servers(db=url)
        schema = url.rsplit("%3D", 1)[1]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")  # given back empty, for the fixture to drop
        with mailfate.Client(base(server)) as client, pytest.raises(mailfate.ServiceUnavailable) as down:
            client.check(["a@example.com"])
        assert down.value.status == 503
        server.stop()


def test_the_async_twin(server: Server) -> None:
    async def scenario() -> None:
        async with mailfate.AsyncClient(base(server), token=TOKEN) as client:
            found = await client.check(["gone@example.com", "ok@example.com"])
            assert [r.allowed for r in found] == [False, True]
            assert (await client.message("m-1")).status is mailfate.Status.BOUNCED
            assert (await client.recipient("ok@example.com")).suppressed is False
            assert (await client.suppress("async@example.com", "by coroutine")).note == "by coroutine"
            await client.unsuppress("async@example.com", reason="by coroutine too")
            with pytest.raises(mailfate.NotFound):
                await client.unsuppress("async@example.com", reason="again")
            with pytest.raises(ValueError, match="needs a reason"):
                await client.unsuppress("async@example.com", "")
            every = await client.changes()
            seen = []
            async for change in client.follow(after=every[0].seq, poll=0.05):
                seen.append(change)
                if len(seen) == len(every) - 1:
                    break
            assert seen == every[1:]

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


# -- a hostile service: slow, endless, oversized -----------------------------------------------------------

DRIP_BYTES = 200  # at one byte per 0.25 s: 50 s, were the client to wait for them all
STREAM_CAP = 4 * 1024 * 1024  # the most the endless answer ever sends


class _Hostile(socketserver.BaseRequestHandler):
    """Reads the request, then answers as its path says: ``drip-body`` (headers, then one byte of body
    every 0.25 s), ``drip-headers`` (the headers themselves one byte at a time), ``endless`` (a chunked
    body of 64 KiB chunks, up to STREAM_CAP), ``huge`` (Content-Length of 10 GiB, then 64 KiB).
    Every loop is bounded; a client that hangs up ends it."""

    def handle(self) -> None:
        sock = self.request
        sock.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            part = sock.recv(4096)
            if not part:
                return
            head += part
        header, _, body = head.partition(b"\r\n\r\n")
        length = int(next((line.split(b":")[1] for line in header.lower().split(b"\r\n")
                           if line.startswith(b"content-length:")), b"0"))  # fmt: skip
        while len(body) < min(length, 1 << 20):  # read it all: closing on unread bytes would reset the connection
            part = sock.recv(65536)
            if not part:
                return
            body += part
        mode = head.split(b" ", 2)[1].split(b"/")[1].decode()
        try:
            if mode == "drip-body":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
                self._drip(b" " * DRIP_BYTES)
            elif mode == "drip-headers":
                self._drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * DRIP_BYTES)
            elif mode == "endless":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
                for _ in range(STREAM_CAP // 65536):
                    sock.sendall(chunk)
                sock.sendall(b"1\r\n[\r\n0\r\n\r\n")
            elif mode == "huge":
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n"
                )
                sock.sendall(b" " * 65536)
                time.sleep(2)
        except OSError:  # the client hung up: what the test wants
            return

    def _drip(self, data: bytes) -> None:
        for n in range(len(data)):
            self.request.sendall(data[n : n + 1])
            time.sleep(0.25)


@pytest.fixture
def hostile() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
def test_a_slow_service_cannot_hold_a_call_past_its_timeout(hostile: str, mode: str) -> None:
    """One deadline for the whole call: a byte every 0.25 s would otherwise hold it for 50 s."""
    with mailfate.Client(f"{hostile}/{mode}", timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(mailfate.ServiceUnavailable, match=r"no whole answer within 1 s") as slow:
            client.check(["a@example.com"])
        assert time.monotonic() - started < 4
        assert slow.value.status is None

    async def scenario() -> float:
        async with mailfate.AsyncClient(f"{hostile}/{mode}", timeout=1) as client:
            started = time.monotonic()
            with pytest.raises(mailfate.ServiceUnavailable, match=r"no whole answer within 1 s"):
                await client.check(["a@example.com"])
            return time.monotonic() - started

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=30)) < 4


@pytest.mark.parametrize("mode", ["endless", "huge"])
def test_an_answer_too_large_is_refused_not_held(hostile: str, mode: str) -> None:
    """The client reads at most max_response_bytes; a declared size over it is refused before reading."""
    limit = 1024 * 1024
    with mailfate.Client(f"{hostile}/{mode}", timeout=20, max_response_bytes=limit) as client:
        with pytest.raises(mailfate.ServiceError, match="the answer is larger than 1,048,576 bytes") as big:
            client.check(["a@example.com"])
        assert type(big.value) is mailfate.ServiceError

    async def scenario() -> None:
        async with mailfate.AsyncClient(f"{hostile}/{mode}", timeout=20, max_response_bytes=limit) as client:
            with pytest.raises(mailfate.ServiceError, match="the answer is larger than 1,048,576 bytes"):
                await client.check(["a@example.com"])

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


def test_the_whole_endless_answer_is_what_the_limit_stops(hostile: str) -> None:
    """Under a limit above what it sends, the same answer is read to its end (so the test above is the
    limit at work, not the server giving up)."""
    client = mailfate.Client(f"{hostile}/endless", timeout=20, max_response_bytes=2 * STREAM_CAP)
    with client, pytest.raises(mailfate.ServiceUnavailable, match="not JSON"):
        client.check(["a@example.com"])
