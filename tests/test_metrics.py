"""``GET /metrics`` (docs/operations.md): the Prometheus text format, read back with prometheus-client's own
parser; counters that match what was sent to real server processes (one worker and two), gauges read
from the database, and the same bearer token as the API."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from mailfate.metrics import FLUSH_SECONDS
from mailfate.store import Store
from mailfate.testing import bounce_event, event, mail, sns_envelope

from .conftest import ingest
from .support import TOPIC, Server, Signer, post_sns, request

Start = Callable[..., Server]


def scrape(port: int, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and labels."""
    response = request(port, "GET", "/metrics", headers=headers)
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def received(samples: dict[Any, float], transport: str, outcome: str) -> float:
    return samples.get(("mailfate_records_received_total", (("outcome", outcome), ("transport", transport))), 0.0)


def _notification(n: int, bounced: bool) -> dict[str, Any]:
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    to = [f"r{n}@example.com"]
    ses = bounce_event(f"m-{n}", to, stamp, "Permanent", "General", "5.1.1", sent_at=stamp) if bounced else (
        event("Delivery", f"m-{n}", to, stamp, sent_at=stamp))  # fmt: skip
    return sns_envelope(ses, topic_arn=TOPIC, message_id=f"00000000-0000-4000-8000-{n:012d}")


def _received_per_worker(directory: Path) -> list[float]:
    """What each worker's file says it received (requests of any outcome)."""
    return [
        sum(
            value
            for key, value, _, _ in MmapedDict.read_all_values_from_file(str(counts))
            if json.loads(key)[1] == "mailfate_records_received_total"
        )
        for counts in sorted(directory.glob("counter_*.db"))
    ]


@pytest.mark.server
@pytest.mark.parametrize("workers", [1, 2])
def test_counters_match_what_was_sent(
    servers: Start, signer: Signer, store_url: str, tmp_path: Path, workers: int
) -> None:
    """40 stored (4 of them bounces), 10 sent again, 5 forged, 3 not JSON: over many connections, so
    that both workers take some; every scrape, whichever worker answers it, says the same."""
    db = store_url if store_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'metrics.db'}"
    server = servers(db=db, workers=workers)
    signed = [signer.sign(_notification(n, bounced=n % 10 == 0)) for n in range(40)]
    forged = []
    for n in range(40, 45):
        envelope = signer.sign(_notification(n, bounced=False))
        envelope["Message"] = envelope["Message"].replace("r4", "x4")
        forged.append(envelope)
    bodies: list[dict[str, Any] | bytes] = [*signed, *signed[:10], *forged, *[b"{not json"] * 3]
    with ThreadPoolExecutor(8) as pool:  # each post is a new connection: the kernel spreads them
        statuses = list(pool.map(lambda body: post_sns(server.port, body).status, bodies))
    assert statuses.count(200) == 50
    assert statuses.count(403) == 5
    assert statuses.count(400) == 3

    shared = list(Path(tempfile.gettempdir()).glob(f"mailfate-metrics-{server.process.pid}-*"))  # type: ignore[union-attr]
    again = 0  # with two workers, more duplicates until each has counted some (the kernel may favour one)
    for _ in range(40):
        time.sleep(2 * FLUSH_SECONDS)  # each worker adds its latest counts to the shared ones this often
        if workers == 1 or len([n for n in _received_per_worker(shared[0]) if n]) == 2:
            break
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda body: post_sns(server.port, body).status, signed[:8])) == {200}
        again += 8
    scrapes = [scrape(server.port) for _ in range(12)]
    assert all(s == scrapes[0] for s in scrapes[1:])  # counters and gauges alike: the answer does not vary
    samples = scrapes[0]
    assert received(samples, "sns", "stored") == 40
    assert received(samples, "sns", "duplicate") == 10 + again
    assert received(samples, "sns", "refused") == 5  # forged: never stored
    assert received(samples, "sns", "quarantined") == 3  # not JSON: kept for a person to look at
    assert samples[("mailfate_duplicates_total", (("transport", "sns"),))] == 10 + again
    assert samples[("mailfate_refusals_total", (("reason", "signature"),))] == 5
    assert samples[("mailfate_refusals_total", (("reason", "not_json"),))] == 3
    assert samples[("mailfate_ingest_seconds_count", (("transport", "sns"),))] == len(bodies) + again
    assert samples[("mailfate_ingest_seconds_bucket", (("le", "+Inf"), ("transport", "sns")))] == len(bodies) + again
    assert 0 < samples[("mailfate_ingest_seconds_sum", (("transport", "sns"),))] < 60

    # The gauges are the database's figures.
    assert samples[("mailfate_quarantine_records", ())] == len(request(server.port, "GET", "/api/quarantine").json())
    assert samples[("mailfate_quarantine_bytes", ())] > 3 * len(b"{not json")
    changes = request(server.port, "GET", "/api/changes?limit=1000").json()
    assert samples[("mailfate_feed_head", ())] == changes[-1]["seq"]
    assert samples[("mailfate_reputation_recipients", (("configuration_set", ""),))] == 40
    assert samples[("mailfate_reputation_rate", (("configuration_set", ""), ("metric", "bounce")))] == 0.1
    assert samples[("mailfate_reputation_level", (("configuration_set", ""), ("metric", "bounce")))] == 2
    assert samples[("mailfate_reputation_level", (("configuration_set", ""), ("metric", "complaint")))] == 0

    if workers == 2:  # one directory for the run, a file per worker, each with its share; gone when it stops
        assert len(shared) == 1
        shares = _received_per_worker(shared[0])
        assert len(shares) == 2
        assert all(shares)
        assert sum(shares) == len(bodies) + again
    else:  # one process counts in memory
        assert shared == []
    server.stop()
    assert not any(p.exists() for p in shared)


@pytest.mark.server
def test_metrics_need_the_token_like_the_api(servers: Start, signer: Signer) -> None:
    server = servers(env={"MAILFATE_API_TOKEN": "a-token-of-sixteen-chars"})
    assert post_sns(server.port, signer.sign(_notification(1, bounced=False))).status == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = request(server.port, "GET", "/metrics", headers=headers)
        assert refused.status == 401
        assert json.loads(refused.body) == {"error": "a valid bearer token is required", "status": 401}
        assert refused.headers["www-authenticate"] == "Bearer"
    samples = scrape(server.port, {"Authorization": "Bearer a-token-of-sixteen-chars"})
    assert received(samples, "sns", "stored") == 1
    unknown = request(
        server.port, "GET", "/metrics?format=json", headers={"Authorization": "Bearer a-token-of-sixteen-chars"}
    )
    assert unknown.status == 400
    assert "format" in unknown.json()["error"]


def test_webhook_backlog_is_what_waits_and_since_when(store: Store) -> None:
    """Changes not yet copied to an outbox count, as do those in it; a delivered one no longer does."""
    url = "https://hooks.example.net/feed"
    store.register_webhooks([url])
    assert store.readings([url]).backlogs[0].pending == 0
    ingest(store, [bounce_event("m-1", ["a@example.com", "b@example.com"], "2026-11-20T10:00:00Z",
                                "Permanent", "General", "5.1.1")])  # fmt: skip
    before = store.readings([url])  # nobody has read the feed yet: its changes are not numbered
    (backlog,) = before.backlogs
    changes = store.changes(0, 100)  # reading numbers them
    assert before.feed_head == changes[-1].seq == store.readings([url]).feed_head
    assert backlog.pending == len(changes) > 0
    assert backlog.failed == 0
    assert backlog.oldest_at == changes[0].to_json()["at"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert store.fill_outbox(url, now) == len(changes)
    assert store.readings([url]).backlogs[0].pending == len(changes)
    (first, *_) = store.claim_deliveries(url, now, "9999-12-31T00:00:00.000Z")
    store.delivered(first, now)
    after = store.readings([url]).backlogs[0]
    assert after.pending == len(changes) - 1
    assert after.oldest_at is None or after.oldest_at >= backlog.oldest_at


def test_a_scrape_numbers_nothing_and_the_webhook_list_counts_what_is_not_numbered(store: Store) -> None:
    url = "https://hooks.example.net/feed"
    store.register_webhooks([url])
    ingest(store, [bounce_event("m-1", ["a@example.com"], "2026-11-20T10:00:00Z", "Permanent", "General")])
    unnumbered = "SELECT count(*) FROM changes WHERE seq IS NULL"
    ((waiting,),) = store._read(unnumbered)  # type: ignore[attr-defined]
    head = store.readings([url]).feed_head
    assert waiting > 0
    assert store._read(unnumbered) == [(waiting,)]  # type: ignore[attr-defined]
    (listed,) = store.webhooks([url])  # GET /api/webhooks: the same head as /metrics
    assert listed["pending"] == waiting
    assert store.changes(0, 100)[-1].seq == head


def test_configuration_sets_with_series_are_few_and_those_an_alert_may_fire_for(store: Store) -> None:
    """Configuration set names are whatever the sending code says: only those at the alert's minimum volume
    get series, the largest first and at most MAX_CONFIGURATION_SETS, however many there are."""
    from mailfate.core.alerts import AlertPolicy
    from mailfate.web.metrics import MAX_CONFIGURATION_SETS, Metrics

    stamp = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sizes = {f"set-{n:03d}": 3 for n in range(MAX_CONFIGURATION_SETS + 10)}
    sizes.update({"big": 5, "small": 1})
    records = []
    for name, size in sizes.items():
        to = [f"{name}-{k}@example.com" for k in range(size)]
        send = event("Send", f"m-{name}", to, stamp)
        send["mail"] = mail(f"m-{name}", to, sent_at=stamp, configuration_set=name)
        records.append(send)
    ingest(store, records)
    families = {
        f.name: f
        for f in text_string_to_metric_families(Metrics(store, AlertPolicy(min_volume=2)).exposition().decode())
    }
    shown = [s.labels["configuration_set"] for s in families["mailfate_reputation_recipients"].samples]
    sets = sorted(name for name in sizes if name.startswith("set-"))
    assert shown == ["", "big", *sets[: MAX_CONFIGURATION_SETS - 1]]  # all mail, then the largest by size, name
    assert "small" not in shown  # below the minimum volume: no alert can fire for it
    assert len(families["mailfate_reputation_rate"].samples) == 2 * len(shown)
    assert len(families["mailfate_reputation_level"].samples) == 2 * len(shown)
    assert families["mailfate_reputation_recipients"].samples[0].value == sum(sizes.values())
    assert families["mailfate_reputation_configuration_sets"].samples[0].value == len(sizes)


@pytest.mark.server
def test_storage_trouble_is_counted_and_a_scrape_that_cannot_read_is_a_503(
    servers: Start, signer: Signer, tmp_path: Path
) -> None:
    server = servers()
    db = tmp_path / "server.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER broken BEFORE INSERT ON records BEGIN SELECT RAISE(FAIL, 'disk full'); END")
    assert post_sns(server.port, signer.sign(_notification(1, bounced=False))).status == 503
    samples = scrape(server.port)
    assert samples[("mailfate_refusals_total", (("reason", "storage_unavailable"),))] == 1
    assert received(samples, "sns", "refused") == 1
    assert received(samples, "sns", "stored") == 0
    with sqlite3.connect(db) as conn:  # a body that cannot even be kept in quarantine: 503 too
        conn.execute("DROP TRIGGER broken")
        conn.execute("CREATE TRIGGER broken BEFORE INSERT ON quarantine BEGIN SELECT RAISE(FAIL, 'disk full'); END")
    junk = post_sns(server.port, b"{not json")
    assert junk.status == 503
    assert junk.json() == {"error": "storage unavailable; retry later", "status": 503}
    time.sleep(2 * FLUSH_SECONDS)
    assert scrape(server.port)[("mailfate_refusals_total", (("reason", "storage_unavailable"),))] == 2
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER broken")
        conn.execute("ALTER TABLE change_numbers RENAME TO change_numbers_away")
    answer = request(server.port, "GET", "/metrics")
    assert answer.status == 503
    assert answer.json() == {"error": "storage unavailable; retry later", "status": 503}
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE change_numbers_away RENAME TO change_numbers")
    assert ("mailfate_feed_head", ()) in scrape(server.port)


def test_a_tally_adds_what_observing_one_at_a_time_would() -> None:
    """The hot path counts in plain numbers; a flush must give the histogram and counters observe() and
    inc() would have, bucket bounds included (a value on a bound is in that bucket)."""
    from prometheus_client import CollectorRegistry, Histogram

    from mailfate.metrics import LATENCY_BOUNDS, REGISTRY, Tally

    def sample(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    seconds = [0.0, 0.001, 0.0011, 0.005, 0.05, 0.3, 10.0, 11.0, 0.02]
    reference = Histogram("reference", "", buckets=LATENCY_BOUNDS, registry=CollectorRegistry())
    tally = Tally("test")
    for n, s in enumerate(seconds):
        reference.observe(s)
        tally.count(["stored", "duplicate", None][n % 3], "signature" if n % 3 == 2 else "", s)
    tally.flush()
    tally.flush()  # nothing twice
    for bound in [*LATENCY_BOUNDS, float("inf")]:
        le = "+Inf" if bound == float("inf") else str(bound)
        expected = reference.collect()[0]
        want = next(x.value for x in expected.samples if x.name == "reference_bucket" and x.labels["le"] == le)
        assert sample("mailfate_ingest_seconds_bucket", {"transport": "test", "le": le}) == want
    assert sample("mailfate_ingest_seconds_sum", {"transport": "test"}) == pytest.approx(sum(seconds))
    assert sample("mailfate_records_received_total", {"transport": "test", "outcome": "stored"}) == 3
    assert sample("mailfate_records_received_total", {"transport": "test", "outcome": "refused"}) == 3
    assert sample("mailfate_duplicates_total", {"transport": "test"}) == 3
