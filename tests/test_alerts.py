"""Alerts before AWS pauses you (docs/changes-and-webhooks.md): a change of reputation level is announced
once, in the feed, by the signed webhooks and to a chat webhook; not again while it stays; once more when
it recovers. On SQLite and PostgreSQL, with several processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailfate.core.alerts import AlertPolicy, chat_message, describe, transitions
from mailfate.core.stats import ALL_COUNTS, Figures
from mailfate.errors import UsageError
from mailfate.outbound.signing import signature_valid
from mailfate.settings import Settings
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest
from .receiver import Receiver
from .support import Server, free_port, request

SECRET = "alerts-secret-0123456789"
POLICY = AlertPolicy(window=timedelta(hours=1), min_volume=20)


def _figures(sent: int, hard: int, complaints: int = 0, key: str | None = None) -> Figures:
    counts = dict.fromkeys(ALL_COUNTS, 0)
    counts.update(sent=sent, hard_bounces=hard, complaints=complaints, delivered=sent - hard)
    return Figures(key, counts)


class TestTransitions:
    """What changed, decided from figures and the levels last announced. Pure."""

    def test_a_level_that_moves_is_a_transition_once(self) -> None:
        found = transitions({None: _figures(100, 6)}, {}, frozenset(), POLICY, "s", "u")
        assert [(t.metric, t.previous, t.level) for t in found] == [("bounce", "healthy", "under_review")]
        assert (
            transitions({None: _figures(100, 7)}, {("", "bounce"): "under_review"}, frozenset(), POLICY, "s", "u") == []
        )
        back = transitions({None: _figures(200, 7)}, {("", "bounce"): "under_review"}, frozenset(), POLICY, "s", "u")
        assert [(t.previous, t.level) for t in back] == [("under_review", "healthy")]

    def test_below_the_minimum_volume_nothing_is_judged(self) -> None:
        assert transitions({None: _figures(19, 19)}, {}, frozenset(), POLICY, "s", "u") == []
        kept = transitions({None: _figures(10, 0)}, {("", "bounce"): "pause_risk"}, frozenset(), POLICY, "s", "u")
        assert kept == []  # too few sends to say it recovered either

    def test_each_configuration_set_and_rate_on_its_own(self) -> None:
        scopes = {None: _figures(200, 4, 1), "marketing": _figures(50, 4), "receipts": _figures(150, 0, 1)}
        found = transitions(scopes, {}, frozenset(), POLICY, "s", "u")
        assert sorted((t.configuration_set or "", t.metric, t.level) for t in found) == [
            ("", "complaint", "pause_risk"),  # all mail: 1 of 200 = 0.5%
            ("marketing", "bounce", "under_review"),  # 4 of 50 = 8%
            ("receipts", "complaint", "pause_risk"),  # 1 of 150 = 0.67%
        ]

    def test_a_scope_a_later_window_decided_is_left_alone(self) -> None:
        assert transitions({None: _figures(100, 6)}, {}, frozenset({("", "bounce")}), POLICY, "s", "u") == []

    def test_the_payload_and_the_chat_text(self) -> None:
        (t,) = transitions({"marketing": _figures(1000, 61)}, {}, frozenset(), POLICY, "2026-11-20T09:00:00.000Z",
                           "2026-11-20T10:00:00.000Z")  # fmt: skip
        body = t.payload("2026-11-20T10:00:00.120Z")
        assert body["type"] == "reputation"
        assert (body["metric"], body["configuration_set"], body["level"], body["previous_level"]) == (
            "bounce", "marketing", "under_review", "healthy")  # fmt: skip
        assert (body["rate"], body["thresholds"]) == (0.061, {"under_review": 0.05, "pause_risk": 0.10})
        assert body["window"] == {"since": "2026-11-20T09:00:00.000Z", "until": "2026-11-20T10:00:00.000Z",
                                  "min_volume": 20}  # fmt: skip
        assert body["figures"]["hard_bounces"] == 61
        assert chat_message(body) == {"text": body["text"]}
        assert (
            'bounce rate of configuration set "marketing" is under review: 6.10% (61 hard bounces of 1,000'
            in (body["text"])
        )
        assert body["text"].endswith("It was healthy.")

    def test_one_complaint_is_said_in_the_singular(self) -> None:
        (t,) = transitions({"receipts": _figures(150, 0, 1)}, {}, frozenset(), POLICY, "s", "u")
        assert "(1 complaint of 150 recipients sent from s to u;" in describe(t)


def _stream(sent: int, bounced: int, prefix: str, when: datetime, config: bool = True) -> list[dict[str, Any]]:
    """``sent`` recipients sent at ``when`` (in configuration set "transactional", unless not ``config``),
    the first ``bounced`` of them hard-bounced, the rest delivered."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    records: list[dict[str, Any]] = []
    for n in range(sent):
        to = [f"{prefix}{n}@example.com"]
        records.append(event("Send", f"{prefix}-{n}", to, stamp))
        if n < bounced:
            records.append(bounce_event(f"{prefix}-{n}", to, stamp, "Permanent", "General", "5.1.1", sent_at=stamp))
        else:
            records.append(event("Delivery", f"{prefix}-{n}", to, stamp, sent_at=stamp))
    if not config:
        for record in records:
            record["mail"]["tags"].pop("ses:configuration-set")
    return records


def _reputation_changes(store: Store) -> list[dict[str, Any]]:
    return [c.to_json() for c in store.changes(0, 1000) if c.payload["type"] == "reputation"]


def test_the_store_announces_each_change_of_level_once(store: Store) -> None:
    """Crossing 5% is one change; staying is none; recovering is one more."""
    now = datetime.now(UTC)
    ten_minutes_ago = now - timedelta(minutes=10)
    ingest(store, _stream(100, 0, "ok", ten_minutes_ago))
    assert store.evaluate_reputation(POLICY, now) == []
    ingest(store, _stream(10, 6, "bad", ten_minutes_ago))  # 6 of 110: 5.5%, all mail and its configuration set
    crossed = store.evaluate_reputation(POLICY, now)
    assert [(t.metric, t.configuration_set, t.level) for t in crossed] == [
        ("bounce", None, "under_review"), ("bounce", "transactional", "under_review")]  # fmt: skip
    assert store.evaluate_reputation(POLICY, now + timedelta(seconds=1)) == []
    ingest(store, _stream(5, 2, "worse", ten_minutes_ago))  # 8 of 115: 7%, still under review
    assert store.evaluate_reputation(POLICY, now + timedelta(seconds=2)) == []
    ingest(store, _stream(50, 0, "good", ten_minutes_ago))  # 8 of 165: 4.8%
    back = store.evaluate_reputation(POLICY, now + timedelta(seconds=3))
    assert [(t.configuration_set, t.previous, t.level) for t in back] == [
        (None, "under_review", "healthy"), ("transactional", "under_review", "healthy")]  # fmt: skip
    assert store.evaluate_reputation(POLICY, now - timedelta(seconds=1)) == []  # an older window: no say
    assert len(_reputation_changes(store)) == 4
    changes = [c for c in _reputation_changes(store) if c["configuration_set"] is None]
    assert [(c["previous_level"], c["level"]) for c in changes] == [
        ("healthy", "under_review"), ("under_review", "healthy")]  # fmt: skip
    assert "address" not in changes[0]
    assert changes[0]["figures"]["hard_bounces"] == 6
    assert changes[1]["text"].startswith("✅ mailfate: the bounce rate of all mail is back to healthy")


def test_processes_evaluating_at_once_announce_it_once(store_url: str) -> None:
    """Four stores (as four processes would) evaluate the same window at the same moment, again and again."""
    now = datetime.now(UTC)
    seed = open_store(store_url)
    ingest(seed, _stream(100, 12, "m", now - timedelta(minutes=5), config=False))  # 12%: pause risk
    stores = [open_store(store_url) for _ in range(4)]
    announced: list[int] = []
    start = threading.Barrier(len(stores))

    def evaluate(store: Store) -> None:
        start.wait(10)
        for n in range(5):
            announced.append(len(store.evaluate_reputation(POLICY, now + timedelta(milliseconds=n))))

    threads = [threading.Thread(target=evaluate, args=(s,)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(announced) == 1
        assert [c["level"] for c in _reputation_changes(seed)] == ["pause_risk"]
    finally:
        for store in [seed, *stores]:
            store.close()


def test_alert_settings_are_checked() -> None:
    settings = Settings.from_env({"MAILFATE_ALERT_URL": "https://hooks.slack.com/services/T0/B0/x"})
    assert settings.webhooks is not None
    assert (settings.webhooks.urls, settings.webhooks.alert_urls) == ((), ("https://hooks.slack.com/services/T0/B0/x",))
    assert (settings.alerts.window, settings.alerts.min_volume, settings.alert_interval) == (
        timedelta(hours=24),
        500,
        60,
    )
    for bad, message in [
        ({"MAILFATE_ALERT_URL": "ftp://x"}, "MAILFATE_ALERT_URL"),
        ({"MAILFATE_ALERT_MIN_VOLUME": "0"}, "MAILFATE_ALERT_MIN_VOLUME"),
        ({"MAILFATE_ALERT_INTERVAL": "nan"}, "MAILFATE_ALERT_INTERVAL"),
        ({"MAILFATE_ALERT_URL": "https://a.example/h", "MAILFATE_WEBHOOK_URL": "https://a.example/h",
          "MAILFATE_WEBHOOK_SECRET": SECRET}, "both"),
    ]:  # fmt: skip
        with pytest.raises(UsageError, match=message):
            Settings.from_env(bad)


@pytest.mark.server
def test_alerts_reach_a_signed_webhook_and_a_chat_webhook(
    servers: Callable[..., Server], store_url: str, tmp_path: Any
) -> None:
    """A real stream crosses 5% and recovers; two server processes watch it (two workers); a real
    receiver on 127.0.0.1 gets each change of level once, signed, and a chat receiver its text once."""
    feed, chat = Receiver(free_port()).start(), Receiver(free_port()).start()
    db = store_url if store_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'server.db'}"
    try:
        env = {"MAILFATE_WEBHOOK_URL": feed.url, "MAILFATE_WEBHOOK_SECRET": SECRET, "MAILFATE_ALERT_URL": chat.url,
               "MAILFATE_ALERT_INTERVAL": "0.2", "MAILFATE_ALERT_MIN_VOLUME": "20",
               "MAILFATE_ALERT_WINDOW_HOURS": "1"}  # fmt: skip
        server = servers(env=env, db=db, workers=2)
        store = open_store(db)
        try:
            when = datetime.now(UTC) - timedelta(minutes=10)
            ingest(store, _stream(100, 0, "ok", when, config=False))
            ingest(store, _stream(10, 6, "bad", when, config=False))  # 5.5%
            chat.wait_for(lambda got: len(got) >= 1)
            ingest(store, _stream(5, 2, "worse", when, config=False))  # 7%: still under review
            time.sleep(1.5)  # several evaluations by each worker
            assert len(chat.received) == 1
            ingest(store, _stream(50, 0, "good", when, config=False))  # 4.8%: healthy again
            chat.wait_for(lambda got: len(got) >= 2)
            signed = feed.wait_for(lambda got: len([r for r in got if r.json().get("type") == "reputation"]) >= 2)
            time.sleep(1.0)  # nothing more arrives
        finally:
            store.close()
    finally:
        feed.stop()
        chat.stop()
    texts = [r.json()["text"] for r in chat.received]
    assert len(texts) == 2
    assert "bounce rate of all mail is under review: 5.45% (6 hard bounces of 110 recipients" in texts[0]
    assert "bounce rate of all mail is back to healthy" in texts[1]
    assert all(r.json() == {"text": r.json()["text"]} for r in chat.received)  # what chat webhooks take
    assert all("mailfate-signature" not in r.headers for r in chat.received)
    alerts = [r for r in feed.received if r.json().get("type") == "reputation"]
    assert [(r.json()["previous_level"], r.json()["level"]) for r in alerts] == [
        ("healthy", "under_review"), ("under_review", "healthy")]  # fmt: skip
    for r in alerts:
        headers = r.headers
        assert signature_valid(SECRET, headers["mailfate-timestamp"], r.body, headers["mailfate-signature"])
        assert headers["mailfate-change"] == str(r.json()["seq"])
    feed_changes = request(server.port, "GET", "/api/changes?limit=1000").json()
    assert [c["level"] for c in feed_changes if c["type"] == "reputation"] == ["under_review", "healthy"]
    assert {r.json()["seq"] for r in signed if r.json().get("type") == "reputation"} == {
        c["seq"] for c in feed_changes if c["type"] == "reputation"
    }
