"""Outbound webhooks against a real receiver on 127.0.0.1, with mailfate serve as a real process,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mailfate.cli import main
from mailfate.errors import UsageError
from mailfate.outbound.names import named_webhook, shown_url
from mailfate.outbound.signing import signature_valid
from mailfate.outbound.webhooks import backoff, retryable
from mailfate.settings import Settings
from mailfate.testing import bounce_event, event, sns_envelope

from .receiver import Received, Receiver
from .support import TOPIC, Server, Signer, free_port, post_sns, request

pytestmark = pytest.mark.server
Start = Callable[..., Server]
SECRET = "test-secret-0123456789"


def settings(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "MAILFATE_WEBHOOK_URL": receiver.url,
        "MAILFATE_WEBHOOK_SECRET": SECRET,
        "MAILFATE_WEBHOOK_BACKOFF": "0.2",
        "MAILFATE_WEBHOOK_MAX_BACKOFF": "1",
        "MAILFATE_WEBHOOK_TIMEOUT": "2",
        **extra,
    }


def send(server: Server, signer: Signer, *records: dict[str, Any]) -> None:
    for record in records:
        assert post_sns(server.port, signer.sign(sns_envelope(record, topic_arn=TOPIC))).status == 200


def traffic() -> list[dict[str, Any]]:
    """Five changes: a sent then delivered, b sent then bounced, and b's suppression."""
    return [
        event("Send", "m-1", ["a@example.com", "b@example.com"], "2026-11-20T10:00:00Z"),
        event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z"),
        bounce_event("m-1", ["b@example.com"], "2026-11-20T10:00:03Z", "Permanent", "General"),
    ]


def all_changes(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = request(server.port, "GET", "/api/changes?limit=1000").json()
    return found


def assert_in_order_per_address(received: list[Received]) -> None:
    """Each address's changes were first accepted in sequence order."""
    firsts: dict[int, Received] = {}
    for r in received:
        if 200 <= r.status < 300:
            firsts.setdefault(r.seq, r)
    by_address: dict[str, list[int]] = {}
    for r in firsts.values():
        by_address.setdefault(r.json()["address"], []).append(r.seq)
    for seqs in by_address.values():
        assert seqs == sorted(seqs)


def test_changes_arrive_signed_and_complete(servers: Start, signer: Signer, store_url: str) -> None:
    receiver = Receiver(free_port()).start()
    try:
        server = servers(env=settings(receiver), db=store_url)
        send(server, signer, *traffic())
        got = receiver.wait_for(lambda r: len(r) >= 5)
    finally:
        receiver.stop()
    changes = all_changes(server)
    assert len(changes) == 5
    assert sorted(r.seq for r in got) == [c["seq"] for c in changes]
    for r in got:
        timestamp, given = r.headers["mailfate-timestamp"], r.headers["mailfate-signature"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + r.body, hashlib.sha256).hexdigest()
        assert given == f"sha256={expected}"
        assert signature_valid(SECRET, timestamp, r.body, given)
        assert not signature_valid("another-secret-000000", timestamp, r.body, given)
        assert abs(int(timestamp) - time.time()) < 60
        assert r.headers["mailfate-change"] == str(r.seq)
        assert r.headers["content-type"] == "application/json"
    bodies = {r.seq: r.json() for r in got}
    assert bodies == {c["seq"]: c for c in changes}  # the webhook carries exactly the feed's change
    bounced = next(b for b in bodies.values() if b.get("status") == "bounced")
    assert bounced["previous_status"] == "sent"
    assert bounced["event"]["kind"] == "Bounce"
    assert bounced["fate"]["bounce"]["type"] == "Permanent"
    assert_in_order_per_address(got)
    (status,) = request(server.port, "GET", "/api/webhooks").json()
    assert status["delivered"] == 5
    assert status["pending"] == 0
    assert status["failed"] == 0


def test_a_receiver_that_was_down_gets_everything_in_order(servers: Start, signer: Signer, store_url: str) -> None:
    receiver = Receiver(free_port())  # not listening yet: connections are refused
    server = servers(env=settings(receiver), db=store_url)
    send(server, signer, *traffic())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait until the sender has failed and is backing off
        (status,) = request(server.port, "GET", "/api/webhooks").json()
        if status["failures"] and status["failures"][0]["attempts"] >= 2:
            break
        time.sleep(0.1)
    failure = status["failures"][0]
    assert failure["state"] == "pending"
    assert failure["last_status"] is None
    assert "no answer" in failure["last_error"]
    receiver.start()
    try:
        got = receiver.wait_for(lambda r: len({x.seq for x in r}) >= 5)
    finally:
        receiver.stop()
    assert {r.seq for r in got} == {c["seq"] for c in all_changes(server)}
    assert_in_order_per_address(got)


def test_kill_9_between_commit_and_send_loses_nothing(
    servers: Start, signer: Signer, store_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(free_port())  # down: nothing can be sent before the kill
    server = servers(env=settings(receiver), db=store_url)
    send(server, signer, *traffic())  # each answered 200: committed
    server.kill()
    receiver.start()
    try:
        restarted = servers(env=settings(receiver), db=store_url)
        got = receiver.wait_for(lambda r: len({x.seq for x in r}) >= 5)
    finally:
        receiver.stop()
    assert {r.seq for r in got} == {c["seq"] for c in all_changes(restarted)}
    assert_in_order_per_address(got)


def test_redeliveries_carry_the_same_change(servers: Start, signer: Signer, store_url: str) -> None:
    answered: dict[int, int] = {}

    def flaky(r: Received) -> int:  # 503, then 429, then 200 for every change
        answered[r.seq] = answered.get(r.seq, 0) + 1
        return {1: 503, 2: 429}.get(answered[r.seq], 200)

    receiver = Receiver(free_port(), flaky).start()
    try:
        server = servers(env=settings(receiver), db=store_url)
        send(server, signer, *traffic()[:2])
        got = receiver.wait_for(lambda r: len([x for x in r if x.status == 200]) >= 3)
    finally:
        receiver.stop()
    by_seq: dict[int, list[Received]] = {}
    for r in got:
        by_seq.setdefault(r.seq, []).append(r)
    assert len(by_seq) == 3
    for attempts in by_seq.values():
        assert [a.status for a in attempts] == [503, 429, 200]
        assert len({a.body for a in attempts}) == 1  # the same body, the same seq
        assert {a.headers["mailfate-change"] for a in attempts} == {str(attempts[0].seq)}
    assert_in_order_per_address(got)


def test_a_refused_change_is_not_retried_and_shows_as_failed(servers: Start, signer: Signer, store_url: str) -> None:
    def refuse_b(r: Received) -> int:
        return 422 if r.json()["address"] == "b@example.com" and r.json().get("status") == "sent" else 200

    receiver = Receiver(free_port(), refuse_b).start()
    try:
        server = servers(env=settings(receiver), db=store_url)
        send(server, signer, *traffic())
        receiver.wait_for(lambda r: len(r) >= 5)
        time.sleep(1.5)  # several backoff periods: a retry would have come by now
        got = list(receiver.received)
    finally:
        receiver.stop()
    refused = [r for r in got if r.status == 422]
    assert len(refused) == 1
    assert len(got) == 5  # and the later changes of b went out all the same
    (status,) = request(server.port, "GET", "/api/webhooks").json()
    assert status["failed"] == 1
    assert status["delivered"] == 4
    (failure,) = status["failures"]
    assert failure["state"] == "failed"
    assert failure["last_status"] == 422
    assert failure["seq"] == refused[0].seq


def test_credentials_in_the_url_are_sent_as_basic_auth(servers: Start, signer: Signer) -> None:
    receiver = Receiver(free_port()).start()
    try:
        url = receiver.url.replace("http://", "http://hook%40app:p%3Ass@")
        server = servers(env={**settings(receiver), "MAILFATE_WEBHOOK_URL": url})
        send(server, signer, traffic()[0])
        got = receiver.wait_for(lambda r: len(r) >= 2)
    finally:
        receiver.stop()
    assert got[0].headers["authorization"] == "Basic " + base64.b64encode(b"hook@app:p:ss").decode()
    (status,) = request(server.port, "GET", "/api/webhooks").json()
    assert "p%3Ass" not in status["url"]  # the password is not shown


def test_webhook_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MAILFATE_WEBHOOK_SECRET"):
        Settings.from_env({"MAILFATE_WEBHOOK_URL": "https://app.example/hook"})
    with pytest.raises(UsageError, match="https://"):
        Settings.from_env({"MAILFATE_WEBHOOK_URL": "ftp://x", "MAILFATE_WEBHOOK_SECRET": SECRET})
    config = Settings.from_env(
        {"MAILFATE_WEBHOOK_URL": "https://a.example/h, https://b.example/h", "MAILFATE_WEBHOOK_SECRET": SECRET}
    ).webhooks
    assert config is not None
    assert config.urls == ("https://a.example/h", "https://b.example/h")
    assert config.retry_for == timedelta(hours=24)
    exe = Path(sys.executable).with_name("mailfate")
    done = subprocess.run(
        [str(exe), "serve", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        env={"PATH": "/usr/bin:/bin", "MAILFATE_WEBHOOK_URL": "https://app.example/hook"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "MAILFATE_WEBHOOK_SECRET" in done.stderr


def test_retry_policy() -> None:
    assert retryable(None)
    assert retryable(500)
    assert retryable(503)
    assert retryable(408)
    assert retryable(429)
    assert retryable(302)  # a redirect is not followed, and not taken as a refusal either
    assert not retryable(400)
    assert not retryable(404)
    assert not retryable(410)
    assert not retryable(422)
    low = [backoff(n, 10, 3600, lambda: 0.0) for n in range(1, 12)]
    high = [backoff(n, 10, 3600, lambda: 1.0) for n in range(1, 12)]
    assert low[0] == 5
    assert high[0] == 10
    assert low == sorted(low)
    assert high[-1] == 3600
    # With these defaults a change is tried for 24 hours: well over 24 attempts, none more than an hour apart.
    elapsed, attempts = 0.0, 0
    while elapsed < 24 * 3600:
        attempts += 1
        elapsed += backoff(attempts, 10, 3600, lambda: 0.5)
    assert attempts > 24


def many(n: int) -> list[dict[str, Any]]:
    """n changes, one per address: a Send to each of n recipients."""
    return [event("Send", f"many-{i}", [f"r{i}@example.com"], "2026-11-20T10:00:00Z") for i in range(n)]


def test_a_stuck_receiver_neither_starves_another_nor_outlasts_its_deadline(
    servers: Start, signer: Signer, store_url: str
) -> None:
    """One receiver answers a byte every 0.05 s for a minute, the other at once: the healthy one gets all
    40 changes; every request to the stuck one is cut at the deadline (2 s), not when it ends."""
    stuck = Receiver(free_port(), trickle=lambda _: 60.0).start()
    healthy = Receiver(free_port()).start()
    try:
        env = settings(healthy, MAILFATE_WEBHOOK_URL=f"{stuck.url},{healthy.url}")
        server = servers(env=env, db=store_url)
        send(server, signer, *many(40))
        got = healthy.wait_for(lambda r: len({x.seq for x in r}) >= 40, timeout=20)
        cut = stuck.wait_for(lambda r: len(r) >= 8, timeout=20)  # the first parallel batch, all cut
    finally:
        stuck.stop()
        healthy.stop()
    assert len({r.seq for r in got}) == 40
    for r in cut:
        assert not r.complete
        assert r.ended - r.started < 2 + 1.0, f"a request lasted {r.ended - r.started:.1f} s past its 2 s"
    (stuck_state, _) = request(server.port, "GET", "/api/webhooks").json()
    assert any("within 2 s" in f["last_error"] for f in stuck_state["failures"])


def test_two_workers_never_send_one_change_at_once(servers: Start, signer: Signer, store_url: str) -> None:
    """The first answer to each change trickles for 12 s, past the 4 s deadline and past the lease a
    per-read timeout used to allow: with two workers (two senders, one outbox) a change is never in
    flight twice at once; each attempt is cut at the deadline, and the retry is accepted."""
    tried: set[int] = set()

    def first_trickles(r: Received) -> float:
        if r.seq in tried:
            return 0.0
        tried.add(r.seq)
        return 12.0

    receiver = Receiver(free_port(), trickle=first_trickles).start()
    try:
        server = servers(env=settings(receiver, MAILFATE_WEBHOOK_TIMEOUT="4"), db=store_url, workers=2)
        send(server, signer, *many(12))
        receiver.wait_for(lambda r: len({x.seq for x in r if x.complete}) >= 12, timeout=60)
        time.sleep(1)
        got = list(receiver.received)
    finally:
        receiver.stop()
    by_seq: dict[int, list[Received]] = {}
    for r in got:
        by_seq.setdefault(r.seq, []).append(r)
    assert len(by_seq) == 12
    for seq, attempts in by_seq.items():
        attempts.sort(key=lambda a: a.started)
        for earlier, later in itertools.pairwise(attempts):
            assert later.started >= earlier.ended - 0.2, f"change {seq} was in flight twice at once"
        assert not attempts[0].complete
        assert attempts[0].ended - attempts[0].started < 4 + 1.0
        assert [a.complete for a in attempts].count(True) == 1


def test_sigterm_does_not_wait_for_a_stuck_receiver(servers: Start, signer: Signer, store_url: str) -> None:
    stuck = Receiver(free_port(), trickle=lambda _: 60.0).start()
    try:
        server = servers(env=settings(stuck, MAILFATE_WEBHOOK_TIMEOUT="60"), db=store_url)
        send(server, signer, *many(3))
        deadline = time.monotonic() + 20
        while not stuck.arrived and time.monotonic() < deadline:  # the sender is now inside a request
            time.sleep(0.05)
        assert stuck.arrived
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(15)  # SIGTERM to the server itself, as a supervisor sends it
        server.process.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        stuck.stop()
    assert server.process.returncode in (0, -15)  # uvicorn ends by the signal it was sent, once shut down
    assert took < 5, f"SIGTERM took {took:.1f} s"


def test_urls_are_shown_and_logged_without_their_secrets(
    servers: Start, signer: Signer, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A chat webhook's path is its key, a query may hold a token, a user part a password: the API, the
    command line, /metrics and the logs show a webhook as its host and its position, nothing more."""
    receiver = Receiver(free_port(), lambda _: 422).start()  # refuses: every change is given up on
    hook = f"http://user:pw-SECRET1@127.0.0.1:{receiver.port}/hook/path-SECRET2?token=SECRET3"
    alert = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETPATHxyz"  # nobody listens
    env = settings(receiver, MAILFATE_WEBHOOK_URL=hook, MAILFATE_ALERT_URL=alert)
    try:
        server = servers(env=env, db=store_url)
        send(server, signer, *traffic())
        receiver.wait_for(lambda r: len(r) >= 5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and request(server.port, "GET", "/api/webhooks").json()[0]["failed"] < 5:
            time.sleep(0.05)
    finally:
        receiver.stop()
    listed = request(server.port, "GET", "/api/webhooks")
    shown = [(w["webhook"], w["url"], w["failed"]) for w in listed.json()]
    assert shown == [(1, f"http://127.0.0.1:{receiver.port}/…", 5), (2, alert.split("/services")[0] + "/…", 0)]
    answers = [listed.body, request(server.port, "GET", "/metrics").body]
    for body in ({"webhook": 1, "seqs": [1]}, {"url": hook}, {"url": alert}, {"webhook": 2}):
        answer = request(server.port, "POST", "/api/webhooks/redeliver", json.dumps(body).encode())
        assert answer.status == 200, answer.body
        answers.append(answer.body)
    monkeypatch.setenv("MAILFATE_WEBHOOK_URL", hook)
    monkeypatch.setenv("MAILFATE_ALERT_URL", alert)
    monkeypatch.setenv("MAILFATE_WEBHOOK_SECRET", SECRET)
    assert main(["webhooks", "--db", store_url]) == 0
    assert main(["webhooks", "--json", "--db", store_url]) == 0
    assert main(["webhooks", "redeliver", "1", "--all", "--db", store_url]) == 1  # done over HTTP already
    printed = capsys.readouterr()
    server.stop()
    log = server.log.read_text()
    assert '"webhook delivery failed"' in log
    for text in (*(a.decode() for a in answers), printed.out, printed.err, log):
        assert "SECRET" not in text
        assert "pw-" not in text


def test_webhooks_are_named_without_their_secret() -> None:
    urls = ("https://hooks.slack.com/services/T0/B0/AAA", "https://hooks.slack.com/services/T0/B0/BBB",
            "https://app.example:8443/hook?token=x", "https://u:p@app.example/")  # fmt: skip
    assert [shown_url(u) for u in urls] == [
        "https://hooks.slack.com/…", "https://hooks.slack.com/…", "https://app.example:8443/…", "https://app.example/",
    ]  # fmt: skip
    assert [shown_url(u) for u in ("http://[::1]:81/x", "app.example/key", "http://u:pa/ss@host/x")] == [
        "http://[::1]:81/…", "…", "…",  # no part of what does not parse is sure to be the host
    ]  # fmt: skip
    assert named_webhook(urls, 2) == urls[1]
    assert named_webhook(urls, 5) is None
    assert named_webhook(urls, urls[0]) == urls[0]
    assert named_webhook(urls, "https://app.example:8443/...") == urls[2]
    assert named_webhook(urls, "https://u:***@app.example/") == urls[3]  # as earlier versions showed it
    assert named_webhook(urls, "https://other.example/…") is None
    with pytest.raises(UsageError, match=r"2 webhooks are shown as https://hooks.slack.com/…: .* \(1, 2\)"):
        named_webhook(urls, "https://hooks.slack.com/…")
