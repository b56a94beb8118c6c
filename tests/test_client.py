"""mailfate.Client and mailfate.AsyncClient against a real `mailfate serve`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mailfate
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema
from .support import Server, free_port

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
        assert message["status"] == "bounced"
        assert {r["address"]: r["status"] for r in message["recipients"]} == {
            "ok@example.com": "delivered", "gone@example.com": "bounced"}  # fmt: skip
        view = client.recipient("gone@example.com")
        assert view["suppressed"] is True
        assert view["messages"][0]["message_id"] == "m-1"

        suppression = client.suppress("New <new@example.com>", reason="asked us to stop")
        assert (suppression.address, suppression.reason, suppression.note) == (
            "new@example.com", "manual", "asked us to stop")  # fmt: skip
        assert client.check(["new@example.com"])[0].allowed is False
        client.unsuppress("new@example.com")
        assert client.check(["new@example.com"])[0].allowed is True
        with pytest.raises(mailfate.NotFound, match="not suppressed") as missing:
            client.unsuppress("new@example.com")
        assert missing.value.status == 404

        changes = client.changes()
        assert [c.seq for c in changes] == sorted(c.seq for c in changes)
        kinds = [(c.payload["type"], c.payload["address"]) for c in changes]
        assert ("suppression", "gone@example.com") in kinds
        assert client.changes(after=changes[-1].seq) == []


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
            assert (await client.message("m-1"))["status"] == "bounced"
            assert (await client.recipient("ok@example.com"))["suppressed"] is False
            assert (await client.suppress("async@example.com", "by coroutine")).note == "by coroutine"
            await client.unsuppress("async@example.com")
            with pytest.raises(mailfate.NotFound):
                await client.unsuppress("async@example.com")
            every = await client.changes()
            seen = []
            async for change in client.follow(after=every[0].seq, poll=0.05):
                seen.append(change)
                if len(seen) == len(every) - 1:
                    break
            assert seen == every[1:]

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
