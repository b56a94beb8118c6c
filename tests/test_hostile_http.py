"""POST /sns and the API against hostile requests, on a real server, on both backends."""

from __future__ import annotations

import base64
import http.client
import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailfate.testing import bounce_event, event, sns_envelope

from .support import TOPIC, Server, Signer, post_sns, request

Start = Callable[..., Server]
T = "2026-11-20T10:00:00.000Z"


def signed(signer: Signer, record: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return signer.sign({**sns_envelope(record, topic_arn=TOPIC), **envelope})


def hostile(n: int) -> dict[str, Any]:
    """A bounce with a lone surrogate where one used to hang the whole group commit."""
    record = bounce_event(f"bad-{n}", [f"b{n}@example.com"], T, "Permanent", "General")
    match n % 3:
        case 0:
            record["mail"]["messageId"] = f"bad-{n}\ud800"
        case 1:
            record["bounce"]["bouncedRecipients"][0]["emailAddress"] = f"b{n}\udc00@example.com"
        case _:
            record["bounce"]["feedbackId"] = "\ud83d"
    return record


@pytest.mark.server
def test_a_hostile_notification_fails_alone_in_its_group_commit(servers: Start, signer: Signer, store_url: str) -> None:
    """40 concurrent requests, 4 of them with lone surrogates: every one answered in time, the valid ones
    with 200 and stored, the odd ones stored with U+FFFD (their raw body kept as received)."""
    server = servers(db=store_url)
    bodies = [signed(signer, hostile(n)) if n % 10 == 3 else signed(signer, delivery(n)) for n in range(40)]
    statuses: dict[int, int] = {}

    def post(n: int) -> None:
        statuses[n] = post_sns(server.port, bodies[n]).status  # request() times out after 20 s

    threads = [threading.Thread(target=post, args=(n,)) for n in range(40)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert time.monotonic() - started < 30
    assert sorted(statuses) == list(range(40))
    assert set(statuses.values()) == {200}
    for n in range(40):
        if n % 10 != 3:
            assert request(server.port, "GET", f"/api/messages/ok-{n}").status == 200
    assert request(server.port, "GET", "/api/messages/" + urllib.parse.quote("bad-3\ufffd")).status == 200
    assert "Traceback" not in server.log.read_text()  # not even in the log: every line written whole


def delivery(n: int) -> dict[str, Any]:
    return event("Delivery", f"ok-{n}", [f"ok{n}@example.com"], T)


@pytest.mark.server
def test_nul_and_odd_text_never_jam_anything(servers: Start, signer: Signer, store_url: str) -> None:
    server = servers(db=store_url)
    # An unsigned body holding a NUL byte: quarantined byte for byte, beside valid notifications.
    garbage = b'{"Type": "Notification", "Mess\x00age": 1, "\xff": 2}'
    response = post_sns(server.port, garbage)
    assert response.status == 400
    (item,) = request(server.port, "GET", "/api/quarantine").json()
    body = request(server.port, "GET", f"/api/quarantine/{item['id']}").json()
    assert (body["body_encoding"], base64.b64decode(body["body"])) == ("base64", garbage)
    # A signed notification with NUL in every kind of stored text: stored, and readable after.
    record = event("Send", "m-nul\x00", ["n\x00ul@example.com"], T)
    record["mail"]["tags"]["campaign"] = ["spring\x00sale"]
    record["mail"]["commonHeaders"]["subject"] = "a\x00b"
    assert post_sns(server.port, signed(signer, record, Subject="S\x00ubject \ud800")).status == 200
    odd_id = json.dumps(signed(signer, delivery(8), MessageId="id-\ud800")).encode()  # posted without headers
    assert post_sns(server.port, odd_id).status == 200
    assert "Traceback" not in server.log.read_text()  # not even in the log: every line written whole
    assert request(server.port, "GET", "/api/stats?group_by=tag:campaign").status == 200
    assert request(server.port, "GET", "/api/messages?tag=campaign:spring%EF%BF%BDsale").json()["messages"]
    # NUL or a lone surrogate in a path or query parameter: 400 or 404, never 503.
    for path in ("/api/messages/a%00b", "/api/recipients/a%00b@example.com", "/api/messages?recipient=a%00b",
                 "/api/messages/%ED%A0%80", "/api/check/a%00b@example.com"):  # fmt: skip
        assert request(server.port, "GET", path).status in (200, 400, 404), path


@pytest.mark.server
def test_bad_times_and_deep_json_are_400s(servers: Start, signer: Signer) -> None:
    server = servers()
    for path in (
        "/api/stats?until=0001-01-01T00:00:00%2B01:00",
        "/api/stats?until=9999-12-31T23:59:59-01:00",
        "/api/stats?until=0001-01-02T00:00:00Z",
        "/api/messages?since=0001-01-01T00:00:00%2B01:00",
        "/api/messages?since=2025-02-30T25:61:61.000Z",
    ):
        response = request(server.port, "GET", path)
        assert response.status == 400, path
        assert response.json()["status"] == 400
    assert post_sns(server.port, b"[" * 5000).status == 400
    cursor = base64.urlsafe_b64encode(b"[" * 5000).decode()
    assert request(server.port, "GET", f"/api/messages?cursor={cursor}").status == 400
    put = request(server.port, "PUT", "/api/suppressions/deep@example.com", b"[" * 5000,
                  {"Content-Type": "application/json"})  # fmt: skip
    assert put.status == 400
    deep = signed(signer, delivery(1))
    deep["Subject"] = None
    deep.pop("Subject")
    deep = signer.sign({**deep, "Message": "[" * 3000 + "]" * 3000})
    assert post_sns(server.port, deep).status == 400
    late = signed(signer, event("Delivery", "m-late", ["a@example.com"], "9999-12-31T23:59:59-01:00"))
    assert post_sns(server.port, late).status == 400
    assert len(request(server.port, "GET", "/api/quarantine").json()) == 3


@pytest.mark.server
def test_headers_and_urls_that_used_to_500(servers: Start, signer: Signer) -> None:
    server = servers()
    envelope = signed(signer, delivery(2))
    # Two x-amz-sns-topic-arn headers: the last one must not silently win.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps(envelope).encode()
    conn.putrequest("POST", "/sns")
    for name, value in (("Content-Type", "text/plain"), ("x-amz-sns-topic-arn", "arn:aws:sns:us-east-1:1:other"),
                        ("x-amz-sns-topic-arn", TOPIC), ("Content-Length", str(len(body)))):  # fmt: skip
        conn.putheader(name, value)
    conn.endheaders(body)
    response = conn.getresponse()
    assert response.status == 400
    assert "more than once" in json.loads(response.read())["error"]
    conn.close()
    # A SigningCertURL with a tab or a line break in its path: refused as a URL, not a crash.
    for bad in ("\t", "\n", "%0a"):
        forged = dict(envelope, SigningCertURL=envelope["SigningCertURL"].replace("SimpleNotification", bad + "Simple"))
        assert post_sns(server.port, forged).status == 403
    # The raw SES event that raw message delivery posts: refused with the hint to turn it off.
    response = post_sns(server.port, delivery(3))
    assert response.status == 400
    assert "raw message delivery" in response.json()["error"]


@pytest.mark.server
def test_one_message_id_with_other_content_is_quarantined(servers: Start, signer: Signer, store_url: str) -> None:
    server = servers(db=store_url)
    sns_id = "bbbbbbbb-0000-4000-8000-000000000001"
    first = signed(signer, delivery(4), MessageId=sns_id)
    second = signed(signer, delivery(5), MessageId=sns_id)
    assert post_sns(server.port, first).json()["outcome"] == "stored"
    assert post_sns(server.port, first).json()["outcome"] == "duplicate"
    response = post_sns(server.port, second)
    assert response.status == 400
    assert request(server.port, "GET", "/api/messages/ok-5").status == 404
    (item,) = request(server.port, "GET", "/api/quarantine").json()
    assert "different content" in item["reason"]
    assert item["authenticated"] is True


@pytest.mark.server
def test_another_process_holding_the_sqlite_lock_does_not_freeze_the_server(
    servers: Start, signer: Signer, tmp_path: Path
) -> None:
    server = servers()
    assert post_sns(server.port, signed(signer, delivery(6))).status == 200
    holder = sqlite3.connect(tmp_path / "server.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program takes SQLite's write lock and keeps it
    try:
        outcome: dict[str, Any] = {}

        def post() -> None:
            started = time.monotonic()
            outcome["status"] = post_sns(server.port, signed(signer, delivery(7))).status
            outcome["seconds"] = time.monotonic() - started

        writer = threading.Thread(target=post)
        writer.start()
        time.sleep(0.3)  # the write is now waiting for the lock
        for path in ("/healthz", "/readyz", "/api/messages/ok-6"):
            started = time.monotonic()
            assert request(server.port, "GET", path, timeout=5).status == 200
            assert time.monotonic() - started < 1.0, path
        writer.join(timeout=20)
        assert outcome["status"] == 503  # SNS retries it
        assert outcome["seconds"] < 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert post_sns(server.port, signed(signer, delivery(7))).status == 200


@pytest.mark.server
def test_the_quarantine_keeps_within_its_budget(servers: Start, signer: Signer, store_url: str) -> None:
    """Junk posted by anyone is dropped oldest first past MAILFATE_QUARANTINE_MAX_MB, counted and logged;
    a genuine notification kept in quarantine is not."""
    server = servers(db=store_url, env={"MAILFATE_QUARANTINE_MAX_MB": "0.25"})
    genuine = signer.sign(sns_envelope({"eventType": "Teleport", "mail": {"messageId": "m"}}, topic_arn=TOPIC))
    assert post_sns(server.port, genuine).status == 400  # genuine, but not understood: quarantined
    for n in range(12):
        assert post_sns(server.port, b"junk %d " % n + b"x" * 60_000).status == 400
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = request(server.port, "GET", "/api/quarantine?limit=100").json()
        if sum(i["size"] for i in items) <= 256 * 1024:
            break
        time.sleep(0.1)
    assert sum(i["size"] for i in items) <= 256 * 1024
    assert next(i for i in items if i["authenticated"])["reason"].startswith("unknown SES event type")
    junk = sorted(int(i["preview"].split()[1]) for i in items if not i["authenticated"])
    assert junk == list(range(12 - len(junk), 12))  # the newest stayed

    def logged() -> int:
        return sum(line["records"] for line in server.logs() if line.get("event") == "quarantine.dropped")

    deadline = time.monotonic() + 5  # a trim is logged once it has committed: readers may see it first
    while logged() != 12 - len(junk) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged() == 12 - len(junk)
