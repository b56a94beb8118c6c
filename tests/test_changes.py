"""The change feed: one numbered change per change of a fate or a suppression, on both backends."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mailfate.core.suppression import Action
from mailfate.outbound.signing import signature, signature_valid
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema

T0 = "2026-11-20T10:00:00Z"


def feed(store: Store, after: int = 0) -> list[dict[str, Any]]:
    return [c.to_json() for c in store.changes(after, 1000)]


def test_each_status_change_is_one_change_with_its_cause(store: Store) -> None:
    ingest(store, [event("Send", "m-1", ["a@example.com", "b@example.com"], T0)])
    first = feed(store)
    assert [(c["address"], c["previous_status"], c["status"]) for c in first] == [
        ("a@example.com", None, "sent"),
        ("b@example.com", None, "sent"),
    ]
    assert first[0]["event"]["kind"] == "Send"
    assert first[0]["fate"]["status"] == "sent"
    assert first[0]["message_id"] == "m-1"

    ingest(store, [event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z")])
    ingest(store, [event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z")])  # a duplicate
    ingest(store, [event("Open", "m-1", ["a@example.com"], "2026-11-20T11:00:00Z")])  # same status: no change
    later = feed(store, first[-1]["seq"])
    assert [(c["address"], c["previous_status"], c["status"]) for c in later] == [
        ("a@example.com", "sent", "delivered")
    ]
    assert later[0]["event"]["kind"] == "Delivery"
    assert later[0]["event"]["timestamp"] == "2026-11-20T10:00:02.000Z"


def test_a_hard_bounce_changes_the_fate_and_the_suppression(store: Store) -> None:
    ingest(store, [event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z")])
    ingest(store, [bounce_event("m-1", ["a@example.com"], "2026-11-20T10:05:00Z", "Permanent", "General")])
    changes = feed(store)
    assert [(c["type"], c.get("status")) for c in changes] == [
        ("fate", "delivered"),
        ("fate", "bounced"),
        ("suppression", None),
    ]
    fate, suppression = changes[1], changes[2]
    assert fate["previous_status"] == "delivered"
    assert fate["event"]["kind"] == "Bounce"
    assert suppression["suppressed"] is True
    assert suppression["previous_suppression"] is None
    assert suppression["suppression"]["reason"] == "bounce"
    # The seq numbers are the change ids: strictly increasing.
    assert [c["seq"] for c in changes] == sorted({c["seq"] for c in changes})


def test_suppressions_by_hand_are_changes_too(store: Store) -> None:
    store.add_action("x@example.com", Action("suppress", "2026-11-20T10:00:00.000Z", "asked"))
    store.add_action("x@example.com", Action("suppress", "2026-11-20T10:00:00.000Z", "asked"))  # idempotent
    store.add_action("x@example.com", Action("lift", "2026-11-20T11:00:00.000Z"))
    changes = feed(store)
    assert [(c["type"], c["suppressed"]) for c in changes] == [("suppression", True), ("suppression", False)]
    assert changes[1]["previous_suppression"]["reason"] == "manual"


def test_expired_soft_bounce_suppression_is_announced(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from mailfate.core.suppression import Policy

    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", policy=Policy(soft_bounce_count=2))
    now = datetime.now(UTC)
    try:
        for i in range(2):
            at = (now - timedelta(days=29, hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            ingest(store, [bounce_event(f"m-{i}", ["s@example.com"], at, "Transient", "MailboxFull")])
        suppressed = [c for c in feed(store) if c["type"] == "suppression"]
        assert len(suppressed) == 1
        assert suppressed[0]["suppression"]["reason"] == "soft_bounce"
        assert store.expire_suppressions(now) == 0  # not yet
        assert store.expire_suppressions(now + timedelta(days=2)) == 1
        last = feed(store)[-1]
        assert last["type"] == "suppression"
        assert last["suppressed"] is False
        assert store.expire_suppressions(now + timedelta(days=3)) == 0  # announced once
    finally:
        store.close()


def test_the_same_events_in_any_order_give_the_same_final_changes(tmp_path: Path) -> None:
    events = [
        event("Send", "m-1", ["a@example.com"], T0),
        event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z"),
        bounce_event("m-1", ["a@example.com"], "2026-11-20T10:05:00Z", "Permanent", "General"),
        event("Complaint", "m-1", ["a@example.com"], "2026-11-20T12:00:00Z"),
    ]
    finals = set()
    for attempt in range(4):
        shuffled = random.Random(attempt).sample(events, len(events))
        store = open_store(f"sqlite:///{tmp_path / f'{attempt}.db'}")
        try:
            for record in shuffled:
                ingest(store, [record])
            fates = [c for c in feed(store) if c["type"] == "fate"]
            _assert_chain(fates)
            finals.add(fates[-1]["status"])
        finally:
            store.close()
    assert finals == {"complained"}


def _assert_chain(fates: list[dict[str, Any]]) -> None:
    """Each change of one recipient starts from where the one before it ended."""
    last: dict[tuple[str, str], str | None] = {}
    for change in fates:
        key = (change["message_id"], change["address"])
        assert change["previous_status"] == last.get(key), change
        assert change["status"] != change["previous_status"]
        last[key] = change["status"]


@pytest.mark.postgres
def test_concurrent_postgres_writers_keep_exact_chains_in_commit_order() -> None:
    """Four writers racing on the same recipients: every previous_status is exact, and no reader
    walking the feed by cursor ever skips a change that commits later with a smaller number."""
    kinds = [
        lambda m, a: event("Send", m, [a], T0),
        lambda m, a: event("DeliveryDelay", m, [a], "2026-11-20T10:00:01Z"),
        lambda m, a: event("Delivery", m, [a], "2026-11-20T10:00:02Z"),
        lambda m, a: bounce_event(m, [a], "2026-11-20T10:05:00Z", "Transient", "General"),
        lambda m, a: bounce_event(m, [a], "2026-11-20T10:06:00Z", "Permanent", "General"),
        lambda m, a: event("Complaint", m, [a], "2026-11-20T12:00:00Z"),
    ]
    records = [k(f"m-{i}", f"r{i % 7}@example.com") for i in range(60) for k in kinds]
    with postgres_schema() as url:
        open_store(url).close()  # migrate once
        seen: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            store = open_store(url)
            after = 0
            try:
                while not stop.is_set():
                    for change in store.changes(after, 1000):
                        seen.append(change.seq)
                        after = change.seq
                    time.sleep(0.005)
                for change in store.changes(after, 100_000):
                    seen.append(change.seq)
            finally:
                store.close()

        def writer(part: list[dict[str, Any]]) -> None:
            store = open_store(url)
            try:
                for i in range(0, len(part), 2):
                    ingest(store, part[i : i + 2])
            finally:
                store.close()

        watcher = threading.Thread(target=reader)
        watcher.start()
        shuffled = random.Random(7).sample(records, len(records))
        writers = [threading.Thread(target=writer, args=(shuffled[i::4],)) for i in range(4)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(120)
        stop.set()
        watcher.join(60)
        store = open_store(url)
        try:
            everything = feed(store)
            fates = [c for c in everything if c["type"] == "fate"]
            _assert_chain(fates)
            assert {c["status"] for c in fates if c["address"]} >= {"complained"}
            announced: dict[str, Any] = {}
            for change in (c for c in everything if c["type"] == "suppression"):
                assert change["previous_suppression"] == announced.get(change["address"]), change
                announced[change["address"]] = change["suppression"]
            assert announced  # the race did produce suppressions
            finals = {(c["message_id"], c["address"]): c["status"] for c in fates}
            for (message_id, address), status in finals.items():
                view = store.message(message_id)
                assert view is not None
                assert {f.address: f.status.value for f in view.recipients}[address] == status
        finally:
            store.close()
        assert seen == [c["seq"] for c in everything]  # the follower saw every change, in order


def test_signature_helpers_agree_with_a_plain_hmac() -> None:
    import hashlib
    import hmac

    body = b'{"seq":1}'
    expected = hmac.new(b"s" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s" * 16, "1700000000", body) == f"sha256={expected}"
    assert signature_valid("s" * 16, "1700000000", body, f"sha256={expected}")
    assert not signature_valid("s" * 16, "1700000001", body, f"sha256={expected}")


def test_cli_changes_prints_json_lines_and_follows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = open_store(url)
    ingest(store, [event("Send", "m-1", ["a@example.com"], T0)])
    exe = str(Path(sys.executable).with_name("mailfate"))
    once = subprocess.run([exe, "changes", "--db", url], capture_output=True, text=True, timeout=30, check=True)
    lines = [json.loads(line) for line in once.stdout.splitlines()]
    assert [(c["seq"], c["status"]) for c in lines] == [(1, "sent")]
    after = subprocess.run(
        [exe, "changes", "--after", "1", "--db", url], capture_output=True, text=True, timeout=30, check=True
    )
    assert after.stdout == ""

    follower = subprocess.Popen(
        [exe, "changes", "--follow", "--after", "1", "--db", url], stdout=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(20, follower.kill)  # a follower that never prints must not hang the test
    watchdog.start()
    try:
        ingest(store, [event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z")])
        assert follower.stdout is not None
        line = follower.stdout.readline()
        assert json.loads(line)["status"] == "delivered"
    finally:
        watchdog.cancel()
        follower.kill()
        follower.wait(10)
        if follower.stdout is not None:
            follower.stdout.close()
        store.close()
    bad = subprocess.run([exe, "changes", "--after", "-1", "--db", url], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2


def test_prune_keeps_the_changes_a_webhook_still_needs(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from mailfate.core.timestamps import format_timestamp

    ingest(store, [event("Send", "m-1", ["a@example.com"], T0)])
    store.register_webhooks(["https://app.example/hook"])  # starts after change 1
    ingest(store, [event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:02Z")])
    tomorrow = format_timestamp(datetime.now(UTC) + timedelta(days=1))
    store.prune(tomorrow)
    assert [c["seq"] for c in feed(store)] == [2]  # 1 is gone; 2 waits for the webhook
    assert store.fill_outbox("https://app.example/hook", tomorrow) == 1
    store.prune(tomorrow)
    assert [c["seq"] for c in feed(store)] == [2]  # in the outbox: still needed
    lease = format_timestamp(datetime.now(UTC) + timedelta(days=2))
    (delivery,) = store.claim_deliveries("https://app.example/hook", tomorrow, lease)
    store.delivered(delivery, tomorrow)
    store.prune(tomorrow)
    assert feed(store) == []


def test_a_late_delivery_that_breaks_a_soft_bounce_streak_is_announced(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from mailfate.core.suppression import Policy

    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", policy=Policy(soft_bounce_count=2))
    now = datetime.now(UTC)
    stamps = [(now - timedelta(days=3 - i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(3)]
    try:
        for i in (0, 2):
            ingest(store, [bounce_event(f"m-{i}", ["s@example.com"], stamps[i], "Transient", "MailboxFull")])
        assert feed(store)[-1]["suppressed"] is True
        # A delivery to the same address, timestamped between the two soft bounces, arrives late.
        ingest(store, [event("Delivery", "m-1", ["s@example.com"], stamps[1])])
        last = feed(store)[-1]
        assert last["type"] == "suppression"
        assert last["suppressed"] is False
        assert last["previous_suppression"]["reason"] == "soft_bounce"
    finally:
        store.close()
