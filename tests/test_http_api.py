"""The JSON API of docs/api.md against a real server: shapes, filters, paging, auth, errors, OpenAPI."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import bounce_event, event
from mailfate.web.openapi import document

from .conftest import jsonl
from .support import Server, request

pytestmark = pytest.mark.server
Start = Callable[..., Server]
TOKEN = "test-token-7f1c"


def seed(db: Path) -> None:
    """Ten messages a day apart; every third bounced; tagged by campaign."""
    records: list[dict[str, Any]] = []
    for i in range(10):
        sent = f"2026-11-{10 + i:02d}T09:00:00.000Z"
        to = [f"user{i}@example.com", "shared@example.com"]
        tags = {"campaign": ["black-friday" if i % 2 else "welcome"]}
        batch = [
            event("Send", f"msg-{i}", to, sent, destination=to),
            event("Delivery", f"msg-{i}", to, sent.replace("09:00", "09:01"), destination=to, sent_at=sent),
        ]
        if i % 3 == 0:
            batch.append(
                bounce_event(f"msg-{i}", [f"user{i}@example.com"], sent.replace("09:00", "09:30"), "Permanent",
                             "NoEmail", "5.1.1", destination=to, sent_at=sent)
            )  # fmt: skip
        for record in batch:  # event publishing puts the message's tags on every event
            record["mail"]["tags"].update(tags)
        records += batch
    store = open_store(f"sqlite:///{db}")
    ingest_bytes(store, jsonl(records))
    store.close()


@pytest.fixture
def server(servers: Start, tmp_path: Path) -> Server:
    seed(tmp_path / "server.db")
    return servers()


def get(server: Server, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = request(server.port, "GET", path, headers=headers)
    return response.status, response.json()


class TestMessages:
    def test_one_message(self, server: Server) -> None:
        status, body = get(server, "/api/messages/msg-3")
        assert status == 200
        assert body["status"] == "bounced"
        assert body["recipient_counts"]["bounced"] == 1
        assert body["recipient_counts"]["delivered"] == 1
        assert {r["address"]: r["status"] for r in body["recipients"]} == {
            "shared@example.com": "delivered",
            "user3@example.com": "bounced",
        }
        assert body["tags"]["campaign"] == ["black-friday"]

    def test_unknown_message_is_json_404(self, server: Server) -> None:
        assert get(server, "/api/messages/nope") == (404, {"error": "message nope not found", "status": 404})

    def test_list_newest_first_and_paged(self, server: Server) -> None:
        seen: list[str] = []
        cursor = ""
        for _ in range(10):  # bounded: at most ten pages
            status, page = get(server, f"/api/messages?limit=4{cursor}")
            assert status == 200
            seen += [m["message_id"] for m in page["messages"]]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert seen == [f"msg-{i}" for i in range(9, -1, -1)]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("status=bounced", ["msg-9", "msg-6", "msg-3", "msg-0"]),
            ("status=delivered", ["msg-8", "msg-7", "msg-5", "msg-4", "msg-2", "msg-1"]),
            ("recipient=User4@Example.com", ["msg-4"]),
            ("since=2026-11-17T00:00:00Z", ["msg-9", "msg-8", "msg-7"]),
            ("until=2026-11-12T00:00:00Z", ["msg-1", "msg-0"]),
            ("tag=campaign:welcome&status=bounced", ["msg-6", "msg-0"]),
            ("status=complained", []),
        ],
    )
    def test_filters(self, server: Server, query: str, expected: list[str]) -> None:
        status, page = get(server, f"/api/messages?{query}")
        assert status == 200
        assert [m["message_id"] for m in page["messages"]] == expected

    @pytest.mark.parametrize(
        "query", ["status=lost", "limit=0", "limit=x", "since=yesterday", "tag=nocolon", "cursor=bogus"]
    )
    def test_bad_parameters_are_400(self, server: Server, query: str) -> None:
        status, body = get(server, f"/api/messages?{query}")
        assert status == 400
        assert body["status"] == 400
        assert body["error"]


class TestRecipientsAndQuarantine:
    def test_recipient(self, server: Server) -> None:
        status, body = get(server, "/api/recipients/Shared%20%3CSHARED@example.com%3E")
        assert status == 200
        assert body["address"] == "shared@example.com"
        assert body["suppressed"] is False
        assert len(body["messages"]) == 10
        assert body["messages"][0]["message_id"] == "msg-9"

    def test_never_seen_address(self, server: Server) -> None:
        assert get(server, "/api/recipients/ghost@example.com") == (
            200,
            {"address": "ghost@example.com", "suppressed": False, "suppression": None, "messages": []},
        )

    NOT_ADDRESSES = ("demo-newsletter", "0100017fe7043e8e-fc9c357d", "a b", "alice@", "@example.com", "a@b@c.com")

    def test_what_is_not_an_address_is_a_400_by_the_rule_of_the_check(self, server: Server) -> None:
        """One rule everywhere: the check's per-item error is the recipient lookup's 400, and the
        command line's exit 2; what could be a message id is pointed to the message lookup."""
        for given in self.NOT_ADDRESSES:
            quoted = quote(given, safe="")
            status, body = get(server, f"/api/recipients/{quoted}")
            (checked,) = json.loads(request(server.port, "POST", "/api/check", json.dumps([given]).encode()).body)
            assert status == 400, given
            assert body["error"].startswith(f"{given!r} is {checked['error']}"), (body, checked)
            hint = f"; a message id? GET /api/messages/{quoted}"
            assert body["error"].endswith(hint) is ("@" not in given and " " not in given), body
            cli = subprocess.run([str(Path(sys.executable).with_name("mailfate")), "recipient", given, "--db",
                                  "sqlite:///never-opened.db"], capture_output=True, text=True, timeout=60)  # fmt: skip
            assert cli.returncode == 2
            assert cli.stderr.startswith(f"mailfate: error: {given!r} is {checked['error']}\n"), cli.stderr
            pointer = f"mailfate: {given} looks like a message id: try mailfate status {given}\n"
            assert cli.stderr.endswith(pointer) is body["error"].endswith(hint)

    def test_quarantine_lists_reason(self, server: Server) -> None:
        request(server.port, "POST", "/sns", b"{oops")
        status, items = get(server, "/api/quarantine")
        assert status == 200
        assert items[0]["preview"] == "{oops"
        assert items[0]["reason"].startswith("body is not JSON")
        assert (items[0]["size"], items[0]["truncated"], items[0]["authenticated"]) == (5, False, False)

    def test_quarantine_lists_previews_and_gives_one_body_byte_for_byte(self, server: Server) -> None:
        """A list never carries whole bodies; one record by its id does, exactly, even when not UTF-8."""
        garbage = b"\x00\xff\xfe not json " + b"x" * 20_000
        request(server.port, "POST", "/sns", garbage)
        request(server.port, "POST", "/sns", b"[" * 200 + b"junk")
        status, items = get(server, "/api/quarantine?limit=10")
        assert status == 200
        listed = next(i for i in items if i["size"] == len(garbage))
        assert listed["truncated"] is True
        assert "body" not in listed
        assert len(listed["preview"]) <= 300
        status, one = get(server, f"/api/quarantine/{listed['id']}")
        assert (status, one["body_encoding"]) == (200, "base64")
        assert base64.b64decode(one["body"]) == garbage
        assert get(server, "/api/quarantine/999999")[0] == 404
        assert get(server, "/api/quarantine/abc")[0] == 404


class TestAuthAndHealth:
    def test_bearer_token(self, servers: Start, tmp_path: Path) -> None:
        seed(tmp_path / "server.db")
        server = servers({"MAILFATE_API_TOKEN": TOKEN})
        status, body = get(server, "/api/messages/msg-1")
        assert (status, body["status"]) == (401, 401)
        assert get(server, "/api/messages/msg-1", "wrong")[0] == 401
        assert get(server, "/api/messages/msg-1", TOKEN)[0] == 200
        assert get(server, "/healthz")[0] == 200  # health and the document stay open
        assert get(server, "/openapi.json")[0] == 200

    def test_health_and_readiness(self, server: Server, tmp_path: Path) -> None:
        assert get(server, "/healthz") == (200, {"status": "ok"})
        assert get(server, "/readyz") == (200, {"status": "ready"})

    def test_unknown_route_and_method_are_json(self, server: Server) -> None:
        assert get(server, "/nowhere")[0] == 404
        response = request(server.port, "DELETE", "/api/messages/msg-1")
        assert response.status == 405
        assert response.json()["status"] == 405


def test_openapi_documents_every_route_and_nothing_else(server: Server) -> None:
    from mailfate.settings import Settings
    from mailfate.web.app import create_app

    store = open_store(server.db)
    try:
        app = create_app(Settings(), store=store)
    finally:
        store.close()
    # Mounts (the dashboard's static files) have no methods: they are files, not API.
    # A {name:path} parameter (ids may hold "/") is {name} in OpenAPI.
    routes = {
        (re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path), m.lower())
        for r in app.routes
        for m in (getattr(r, "methods", None) or [])
        if m != "HEAD"
    }
    status, served = get(server, "/openapi.json")
    assert status == 200
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    assert documented == routes
    assert served == document()


def test_serve_refuses_public_address_without_token(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("mailfate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    done = subprocess.run(
        [str(exe), "serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 'x.db'}"],  # noqa: S104
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "MAILFATE_API_TOKEN" in done.stderr


class TestSuppressionsAndStats:
    def test_suppression_lifecycle(self, server: Server) -> None:
        status, listed = get(server, "/api/suppressions")
        assert status == 200
        assert {i["address"] for i in listed} == {"user0@example.com", "user3@example.com", "user6@example.com",
                                                   "user9@example.com"}  # fmt: skip
        assert listed[0]["reason"] == "bounce"
        assert listed[0]["event"]["kind"] == "Bounce"

        put = request(server.port, "PUT", "/api/suppressions/Fresh%40Example.com", b'{"reason": "asked us"}')
        assert put.status == 200
        assert put.json()["suppression"]["reason"] == "manual"
        assert get(server, "/api/recipients/fresh@example.com")[1]["suppressed"] is True

        lifted = request(server.port, "DELETE", "/api/suppressions/user3@example.com")
        assert lifted.status == 200
        assert lifted.json() == {"address": "user3@example.com", "suppressed": False, "suppression": None}
        assert request(server.port, "DELETE", "/api/suppressions/user3@example.com").status == 404
        assert get(server, "/api/recipients/user3@example.com")[1]["suppressed"] is False

        bad = request(server.port, "PUT", "/api/suppressions/x%40example.com", b"{not json")
        assert bad.status == 400
        assert request(server.port, "PUT", "/api/suppressions/nobody", b"").status == 400

    def test_stats(self, server: Server) -> None:
        status, body = get(
            server, "/api/stats?since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z&group_by=tag:campaign"
        )
        assert status == 200
        assert body["totals"]["sent"] == 20
        assert body["totals"]["hard_bounces"] == 4
        assert body["totals"]["bounce_rate"] == 0.2
        assert body["totals"]["bounce_level"] == "pause_risk"
        assert [g["key"] for g in body["groups"]] == ["black-friday", "welcome"]
        assert get(server, "/api/stats?group_by=nonsense")[0] == 400
