"""Replay, dismiss and redeliver over HTTP, against a real ``mailfate serve`` on both backends."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from mailfate.cli import main
from mailfate.core.model import Rejected
from mailfate.store import open_store

from .receiver import Received, Receiver
from .support import Server, Signer, free_port, request
from .test_outbound_webhooks import send, settings, traffic
from .test_replay import T, body, delivery, signed_now

pytestmark = pytest.mark.server
Start = Callable[..., Server]


def call(server: Server, method: str, path: str, payload: Any = None, **headers: str) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    answer = request(server.port, method, path, data, {"Content-Type": "application/json", **headers})
    assert answer.headers["content-type"].startswith("application/json")
    return answer.status, answer.json()


def test_replay_and_dismiss_over_http(servers: Start, signer: Signer, store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.ingest(
            [
                Rejected("not an SNS message", body(signed_now(signer, delivery("m-1"))), "sns", authenticated=False),
                Rejected("body is not JSON", b"junk", "sns", authenticated=False),
                Rejected("unknown SES shape", body(delivery("m-2", "b@example.com")), "file", "old.jsonl:7"),
                Rejected("body is not JSON", b"more junk", "sns", authenticated=False),
            ],
            T,
        )
        signed, junk, filed, more = sorted(item.id for item in store.quarantined())
    finally:
        store.close()
    server = servers(db=store_url)
    assert call(server, "GET", "/api/messages/m-1")[0] == 404
    assert call(server, "POST", f"/api/quarantine/{signed}/replay") == (
        200, {"id": signed, "outcome": "stored", "reason": None},
    )  # fmt: skip
    assert call(server, "GET", "/api/messages/m-1")[0] == 200
    status, answer = call(server, "POST", f"/api/quarantine/{junk}/replay")
    assert (status, answer["outcome"]) == (200, "kept")
    assert call(server, "GET", f"/api/quarantine/{junk}")[1]["reason"] == "body is not JSON"  # its own reason
    assert call(server, "POST", f"/api/quarantine/{signed}/replay") == (
        404, {"error": f"quarantined record {signed} not found", "status": 404},
    )  # fmt: skip
    status, answer = call(server, "POST", "/api/quarantine/replay")  # no body: all of them
    assert status == 200
    assert {k: answer[k] for k in ("stored", "duplicate", "kept", "missing")} == {
        "stored": 1, "duplicate": 0, "kept": 2, "missing": 0,
    }  # fmt: skip
    assert [(i["id"], i["outcome"]) for i in answer["items"]] == [(junk, "kept"), (filed, "stored"), (more, "kept")]
    assert call(server, "DELETE", f"/api/quarantine/{junk}") == (200, {"dismissed": [junk], "missing": []})
    assert call(server, "DELETE", f"/api/quarantine/{junk}")[0] == 404
    assert call(server, "POST", "/api/quarantine/dismiss", {"ids": [junk, more]}) == (
        200, {"dismissed": [more], "missing": [junk]},
    )  # fmt: skip
    assert call(server, "GET", "/api/quarantine") == (200, [])


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("POST", "/api/quarantine/dismiss", None, 400),
        ("POST", "/api/quarantine/dismiss", {"ids": "1"}, 400),
        ("POST", "/api/quarantine/dismiss", {"ids": [0]}, 400),
        ("POST", "/api/quarantine/dismiss", {"ids": [True]}, 400),
        ("POST", "/api/quarantine/dismiss", [1], 400),
        ("POST", "/api/quarantine/replay", {"id": [1]}, 400),
        ("POST", "/api/quarantine/replay?all=1", None, 400),
        ("POST", "/api/quarantine/abc/replay", None, 404),
        ("DELETE", "/api/quarantine/-1", None, 404),
        ("POST", "/api/webhooks/redeliver", {}, 400),
        ("POST", "/api/webhooks/redeliver", {"url": "http://127.0.0.1:9/nowhere"}, 404),
        ("POST", "/api/webhooks/redeliver", {"webhook": 1}, 404),
        ("POST", "/api/webhooks/redeliver", {"webhook": "1"}, 400),
        ("POST", "/api/webhooks/redeliver", {"webhook": 0}, 400),
        ("POST", "/api/webhooks/redeliver", {"webhook": 1, "url": "http://127.0.0.1:9/nowhere"}, 400),
    ],
)
def test_bad_requests_get_a_json_error(
    servers: Start, method: str, path: str, payload: Any, status: int
) -> None:  # fmt: skip
    server = servers()
    got, answer = call(server, method, path, payload)
    assert (got, answer["status"]) == (status, status)
    assert answer["error"]


def test_write_routes_need_the_token(servers: Start) -> None:
    server = servers(env={"MAILFATE_API_TOKEN": "a-token-of-some-length"})
    for method, path in [("POST", "/api/quarantine/replay"), ("POST", "/api/quarantine/1/replay"),
                         ("DELETE", "/api/quarantine/1"), ("POST", "/api/webhooks/redeliver")]:  # fmt: skip
        assert call(server, method, path, {"ids": [1]})[0] == 401
    auth = {"Authorization": "Bearer a-token-of-some-length"}
    assert call(server, "POST", "/api/quarantine/replay", None, **auth) == (
        200, {"stored": 0, "duplicate": 0, "kept": 0, "missing": 0, "items": []},
    )  # fmt: skip


def test_a_given_up_change_is_redelivered(
    servers: Start, signer: Signer, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refusing = True

    def answer(r: Received) -> int:
        return 422 if refusing and r.json()["address"] == "b@example.com" and r.json().get("status") == "sent" else 200

    receiver = Receiver(free_port(), answer).start()
    try:
        server = servers(env=settings(receiver), db=store_url)
        send(server, signer, *traffic())
        receiver.wait_for(lambda r: len(r) >= 5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and call(server, "GET", "/api/webhooks")[1][0]["failed"] == 0:
            time.sleep(0.05)
        (status,) = call(server, "GET", "/api/webhooks")[1]
        (failure,) = status["failures"]
        assert (failure["state"], failure["next_attempt_at"], failure["last_status"]) == ("failed", None, 422)
        refusing = False
        shown = f"http://127.0.0.1:{receiver.port}/…"
        assert (status["webhook"], status["url"]) == (1, shown)
        asked = {"webhook": 1, "seqs": [failure["seq"], 999]}
        assert call(server, "POST", "/api/webhooks/redeliver", asked) == (
            200, {"webhook": 1, "url": shown, "redelivered": [failure["seq"]], "missing": [999]},
        )  # fmt: skip
        receiver.wait_for(lambda r: any(x.seq == failure["seq"] and x.status == 200 for x in r))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and call(server, "GET", "/api/webhooks")[1][0]["delivered"] < 5:
            time.sleep(0.05)
        (status,) = call(server, "GET", "/api/webhooks")[1]
        assert (status["delivered"], status["failed"], status["failures"]) == (5, 0, [])
        for named in (receiver.url, shown):  # as configured (as before), or as shown
            assert call(server, "POST", "/api/webhooks/redeliver", {"url": named}) == (
                200, {"webhook": 1, "url": shown, "redelivered": [], "missing": []},
            )  # fmt: skip
        the_command_line_agrees_with_the_api(server, store_url, capsys)
    finally:
        receiver.stop()


def the_command_line_agrees_with_the_api(server: Server, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the server's settings (this process has no MAILFATE_WEBHOOK_URL), ``mailfate webhooks``
    shows what GET /api/webhooks does, and an unknown URL is refused in the API's words."""
    assert "MAILFATE_WEBHOOK_URL" not in os.environ
    capsys.readouterr()
    assert main(["webhooks", "--json", "--db", store_url]) == 0
    assert json.loads(capsys.readouterr().out) == call(server, "GET", "/api/webhooks")[1]
    status, answer = call(server, "POST", "/api/webhooks/redeliver", {"url": "http://nope/"})
    assert status == 404
    assert main(["webhooks", "redeliver", "http://nope/", "--all", "--db", store_url]) == 1
    assert capsys.readouterr().err == f"mailfate: {answer['error']}\n"
