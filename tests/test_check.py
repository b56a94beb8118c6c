"""The check before sending: the library, ``POST /api/check`` and ``GET /api/check/{address}``, and
``mailfate check``. Addresses normalized; a malformed one answered on its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mailfate
from mailfate.cli.main import main
from mailfate.core.suppression import Action
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest
from .support import Server, request

T = "2026-11-20T10:00:00.000Z"
MALFORMED = ["", "no-at-sign", "two@@example.com", "a b@example.com", "x@", "@example.com", "a@example..com",
             "x" * 250 + "@example.com", "tab\t@example.com"]  # fmt: skip


def seed(store: Store) -> None:
    ingest(store, [
        bounce_event("m1", ["bounced@example.com"], T, "Permanent", "General", "5.1.1"),
        event("Complaint", "m2", ["complained@example.com"], T),
        event("Delivery", "m3", ["fine@example.com"], T),
    ])  # fmt: skip
    store.add_action("byhand@example.com", Action("suppress", T, "asked us to stop"))


def test_each_address_answered_in_order(store: Store) -> None:
    seed(store)
    found = mailfate.check(store, ["Jane <BOUNCED@Example.com>", "fine@example.com", "never@example.com",
                                   "complained@example.com", "byhand@example.com", "fine@example.com"])  # fmt: skip
    assert [(r.address, r.allowed) for r in found] == [
        ("bounced@example.com", False), ("fine@example.com", True), ("never@example.com", True),
        ("complained@example.com", False), ("byhand@example.com", False), ("fine@example.com", True),
    ]  # fmt: skip
    bounced = found[0].to_json()
    assert bounced["suppression"]["reason"] == "bounce"
    assert bounced["suppression"]["since"] == T
    assert bounced["suppression"]["expires_at"] is None
    assert bounced["suppression"]["event"]["message_id"] == "m1"
    assert found[3].to_json()["suppression"]["reason"] == "complaint"
    assert found[4].to_json()["suppression"]["event"] == {"kind": "manual", "reason": "asked us to stop"}
    assert found[1].to_json() == {"address": "fine@example.com", "allowed": True, "suppression": None}


def test_malformed_addresses_are_answered_each_and_spoil_nothing(store: Store) -> None:
    seed(store)
    found = store.check([*MALFORMED, 42, None, "bounced@example.com"])
    assert len(found) == len(MALFORMED) + 3
    for result in found[:-1]:
        body = result.to_json()
        assert body["allowed"] is False
        assert body["suppression"] is None
        assert body["error"].startswith(("not an email address", "not a string")), body
    assert found[len(MALFORMED)].to_json()["address"] == "42"
    assert found[-1].to_json()["suppression"]["reason"] == "bounce"


def test_one_address_given_as_a_string(store: Store) -> None:
    seed(store)
    (result,) = store.check("complained@example.com")
    assert not result.allowed


def test_a_lifted_suppression_allows_again(store: Store) -> None:
    seed(store)
    store.add_action("bounced@example.com", Action("lift", "2026-11-21T00:00:00.000Z"))
    assert store.check(["bounced@example.com"])[0].allowed


# -- over HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
def server(servers: Callable[..., Server], tmp_path: Path) -> Server:
    store = open_store(f"sqlite:///{tmp_path / 'server.db'}")
    seed(store)
    store.close()
    return servers()


def post(server: Server, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = request(server.port, "POST", "/api/check", raw, {"Content-Type": "application/json", **(headers or {})})
    return response.status, response.json()


@pytest.mark.server
class TestHttp:
    def test_post_answers_each_in_order(self, server: Server) -> None:
        status, body = post(server, ["fine@example.com", "BOUNCED@example.com", "no-at-sign", 7])
        assert status == 200
        assert [(b["address"], b["allowed"]) for b in body] == [
            ("fine@example.com", True), ("bounced@example.com", False), ("no-at-sign", False), ("7", False),
        ]  # fmt: skip
        assert body[1]["suppression"]["reason"] == "bounce"
        assert body[2]["error"] == "not an email address: has no @"
        assert body[3]["error"] == "not a string"

    def test_get_one(self, server: Server) -> None:
        response = request(server.port, "GET", "/api/check/Complained%40Example.com")
        assert response.status == 200
        body = response.json()
        assert (body["address"], body["allowed"], body["suppression"]["reason"]) == (
            "complained@example.com", False, "complaint")  # fmt: skip
        response = request(server.port, "GET", "/api/check/never%40example.com")
        assert response.json() == {"address": "never@example.com", "allowed": True, "suppression": None}
        response = request(server.port, "GET", "/api/check/no-at-sign")
        assert (response.status, response.json()["error"]) == (400, "not an email address: has no @")

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"not json", "body must be a JSON array of addresses"),
            (b"[" * 5000, "body must be a JSON array of addresses"),
            ({"addresses": []}, "body must be a JSON array of addresses"),
            ([f"a{n}@example.com" for n in range(1001)], "at most 1000 addresses per check, not 1001"),
        ],
    )
    def test_bad_requests_are_400(self, server: Server, body: Any, message: str) -> None:
        assert post(server, body) == (400, {"error": message, "status": 400})

    def test_a_thousand_at_once(self, server: Server) -> None:
        status, body = post(server, [f"a{n}@example.com" for n in range(999)] + ["bounced@example.com"])
        assert status == 200
        assert sum(not b["allowed"] for b in body) == 1

    def test_the_token_guards_it(self, servers: Callable[..., Server], tmp_path: Path) -> None:
        server = servers({"MAILFATE_API_TOKEN": "t0k3n"}, db=f"sqlite:///{tmp_path / 'guarded.db'}")
        assert post(server, ["a@example.com"])[0] == 401
        assert post(server, ["a@example.com"], {"Authorization": "Bearer t0k3n"})[0] == 200


# -- the command line ----------------------------------------------------------------------------------


def test_command_line(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(store_url)
    seed(store)
    store.close()
    assert main(["check", "fine@example.com", "Never <never@example.com>", "--db", store_url]) == 0
    assert capsys.readouterr().out == "fine@example.com  allowed\nnever@example.com  allowed\n"
    assert main(["check", "fine@example.com", "bounced@example.com", "byhand@example.com", "--db", store_url]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "fine@example.com  allowed"
    assert lines[1] == f"bounced@example.com  suppressed (bounce) since {T}, Bounce of m1"
    assert lines[2] == f"byhand@example.com  suppressed (manual: asked us to stop) since {T}"
    assert main(["check", "oops", "--json", "--db", store_url]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"address": "oops", "allowed": False, "suppression": None, "error": "not an email address: has no @"}
    ]
