"""`mailfate consume sqs` as real processes against moto's SQS on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailfate.sources.sqs import SqsConsumer, queue_region
from mailfate.store import Store, open_store
from mailfate.testing import SnsSigner, event, eventbridge_event, sns_envelope

from .support import TOPIC, free_port, request

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def sqs(moto: str) -> Any:
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=moto,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def send_all(client: Any, queue: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        assert not client.send_message_batch(QueueUrl=queue, Entries=entries).get("Failed")


def backlog(client: Any, queue: str) -> int:
    attrs = client.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def consumers(tmp_path: Path, moto: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `mailfate consume sqs` processes; each one is stopped by its PID afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(queue: str, db: str, *extra: str, settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILFATE_", "AWS_"))}
        env.update(AWS, AWS_ENDPOINT_URL_SQS=moto, **(settings or {}))
        exe = Path(sys.executable).with_name("mailfate")
        with (tmp_path / f"consumer-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen([str(exe), "consume", "sqs", queue, "--db", db, "--wait", "1", *extra],
                                       env=env, stdout=log, stderr=log)  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def mixed_bodies(n: int) -> list[str]:
    """SNS envelopes, raw SES events and EventBridge events, as the three kinds of queue hold them."""
    bodies = []
    for i in range(n):
        ses = event("Delivery", f"q-{i}", [f"u{i}@example.com"], "2026-11-20T10:00:01Z")
        kind = i % 3
        wrapped = (sns_envelope(ses, topic_arn=TOPIC, message_id=f"00000000-0000-4000-8000-{i:012d}")
                   if kind == 0 else ses if kind == 1 else eventbridge_event(ses, f"eb-{i}"))  # fmt: skip
        bodies.append(json.dumps(wrapped))
    return bodies


def test_consumes_every_shape_quarantines_garbage_and_stops_on_sigterm(
    moto: str, consumers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    client = sqs(moto)
    queue = client.create_queue(QueueName="ses-events")["QueueUrl"]
    send_all(client, queue, [*mixed_bodies(30), "not json", '{"hello": "world"}'])
    db = f"sqlite:///{tmp_path / 'c.db'}"
    process = consumers(queue, db)
    wait_for(lambda: backlog(client, queue) == 0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0  # a graceful stop
    store = open_store(db)
    try:
        assert all(store.message(f"q-{i}") is not None for i in range(30))
        reasons = sorted(q.reason for q in store.quarantined())
        assert len(reasons) == 2  # quarantined, and deleted from the queue so they do not loop
        assert "body is not JSON" in reasons[0]
        assert [q.location.startswith("sqs:") for q in store.quarantined()] == [True, True]  # type: ignore[union-attr]
    finally:
        store.close()


def test_metrics_port_counts_what_was_consumed(
    moto: str, consumers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """consume sqs --metrics-port: GET /metrics (prometheus-client's parser reads it) counts each message
    received, by what became of it; the API's tokens (MAILFATE_API_TOKEN and any named one) guard it."""
    client = sqs(moto)
    queue = client.create_queue(QueueName="counted")["QueueUrl"]
    bodies = mixed_bodies(12)
    send_all(client, queue, [*bodies, "not json", *bodies[:4]])
    port = free_port()
    process = consumers(queue, f"sqlite:///{tmp_path / 'c.db'}", "--metrics-port", str(port),
                        settings={"MAILFATE_API_TOKEN": "a-token-of-sixteen-chars",
                                  "MAILFATE_API_TOKENS": "grafana:read:a-read-token-for-grafana"})  # fmt: skip
    wait_for(lambda: backlog(client, queue) == 0)
    token = {"Authorization": "Bearer a-token-of-sixteen-chars"}
    wait_for(
        lambda: _sample(request(port, "GET", "/metrics", headers=token), "mailfate_sqs_messages_consumed_total") == 17
    )
    answer = request(port, "GET", "/metrics", headers=token)
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    received = "mailfate_records_received_total"
    assert _sample(answer, received, outcome="stored", transport="sqs") == 12
    assert _sample(answer, received, outcome="duplicate", transport="sqs") == 4
    assert _sample(answer, received, outcome="quarantined", transport="sqs") == 1
    assert _sample(answer, "mailfate_duplicates_total", transport="sqs") == 4
    assert _sample(answer, "mailfate_ingest_seconds_count", transport="sqs") >= 2  # one per batch of up to ten
    reader = {"Authorization": "Bearer a-read-token-for-grafana"}  # a named read token reads metrics too
    assert _sample(request(port, "GET", "/metrics", headers=reader), received, outcome="stored", transport="sqs") == 12
    assert request(port, "GET", "/metrics", headers={"Authorization": "Bearer a-read-token-for-grafanX"}).status == 401
    refused = request(port, "GET", "/metrics")
    assert refused.status == 401
    assert refused.json() == {"error": "a valid bearer token is required", "status": 401}
    assert request(port, "GET", "/metrics?x=1", headers=token).status == 400
    assert request(port, "GET", "/api/stats", headers=token).status == 404
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def _sample(answer: Any, name: str, **labels: str) -> float | None:
    assert answer.status == 200, answer.body
    for family in text_string_to_metric_families(answer.body.decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_two_consumers_one_queue_one_database(
    moto: str, consumers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    client = sqs(moto)
    queue = client.create_queue(QueueName="shared")["QueueUrl"]
    bodies = mixed_bodies(120)
    send_all(client, queue, bodies + bodies[:40])  # and some sent twice
    db = f"sqlite:///{tmp_path / 'c.db'}"
    first, second = consumers(queue, db), consumers(queue, db)
    wait_for(lambda: backlog(client, queue) == 0)
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    store = open_store(db)
    try:
        views = [store.message(f"q-{i}") for i in range(120)]
        assert all(v is not None and len(v.events) == 1 for v in views)
    finally:
        store.close()


def test_kill_9_mid_batch_loses_nothing(
    moto: str, consumers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Killed while it holds received but undeleted messages: they come back after the visibility
    timeout, the next consumer stores them, and nothing is stored twice."""
    client = sqs(moto)
    queue = client.create_queue(QueueName="fragile", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    send_all(client, queue, mixed_bodies(400))
    db = f"sqlite:///{tmp_path / 'c.db'}"
    victim = consumers(queue, db)
    wait_for(lambda: backlog(client, queue) < 380)  # it is working through the backlog
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    survivor = consumers(queue, db)
    wait_for(lambda: backlog(client, queue) == 0, seconds=120)
    survivor.send_signal(signal.SIGTERM)
    survivor.wait(timeout=30)
    store = open_store(db)
    try:
        views = [store.message(f"q-{i}") for i in range(400)]
        assert all(v is not None for v in views)
        assert all(len(v.events) == 1 for v in views if v is not None)
    finally:
        store.close()


def test_storage_failure_leaves_messages_on_the_queue(moto: str, tmp_path: Path) -> None:
    """In-process: while the database refuses writes nothing is deleted; once it works, all is stored."""
    import sqlite3

    client = sqs(moto)
    queue = client.create_queue(QueueName="later", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    send_all(client, queue, mixed_bodies(5))
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with sqlite3.connect(tmp_path / "c.db") as conn:
            conn.execute("CREATE TRIGGER broken BEFORE INSERT ON records BEGIN SELECT RAISE(FAIL, 'disk full'); END")
        stop = threading.Event()
        consumer = SqsConsumer(store, client, queue, wait_seconds=1, sleep=lambda _: None)
        consumer.run(stop, max_batches=1)
        assert consumer.stats.storage_failures == 1
        assert backlog(client, queue) == 5
        with sqlite3.connect(tmp_path / "c.db") as conn:
            conn.execute("DROP TRIGGER broken")
        deadline = time.monotonic() + 30
        while backlog(client, queue) and time.monotonic() < deadline:
            consumer.run(stop, max_batches=1)
        assert all(store.message(f"q-{i}") is not None for i in range(5))
    finally:
        store.close()


def test_verify_quarantines_forged_envelopes(moto: str, store: Store, tmp_path: Path) -> None:
    from mailfate.sns.certs import CertificateCache
    from mailfate.sns.verify import Verifier

    signer = SnsSigner(tmp_path / "certs")
    client = sqs(moto)
    queue = client.create_queue(QueueName="verified")["QueueUrl"]
    good = signer.sign(sns_envelope(event("Send", "v-1", ["a@example.com"], "2026-11-20T10:00:00Z"), TOPIC))
    forged = dict(good, Message=good["Message"].replace("v-1", "v-2"))
    send_all(client, queue, [json.dumps(good), json.dumps(forged)])
    verifier = Verifier(CertificateCache(certs_dir=signer.folder), [TOPIC])
    consumer = SqsConsumer(store, client, queue, verifier, wait_seconds=1)
    deadline = time.monotonic() + 30
    while backlog(client, queue) and time.monotonic() < deadline:
        consumer.run(threading.Event(), max_batches=1)
    assert store.message("v-1") is not None
    assert store.message("v-2") is None
    assert "SignatureInvalid" in store.quarantined()[0].reason


def without_aws(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no AWS configuration at all: no keys, no files, no instance metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILFATE_", "AWS_"))}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", **extra)  # fmt: skip
    return env


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({}, "Unable to locate credentials (set AWS_PROFILE, or AWS_ACCESS_KEY_ID"),
        ({"AWS_PROFILE": "nope"}, "The config profile (nope) could not be found"),
    ],
)
def test_no_aws_credentials_is_one_line_and_exit_1(moto: str, tmp_path: Path, extra: dict[str, str], said: str) -> None:
    """Not botocore's traceback: the queue URL and what to set. (moto is the endpoint, so that nothing
    could leave this machine if credentials were found after all.)"""
    exe = Path(sys.executable).with_name("mailfate")
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/ses-events"
    done = subprocess.run([str(exe), "consume", "sqs", queue, "--wait", "1", "--db", f"sqlite:///{tmp_path / 'q.db'}"],
                          env=without_aws(tmp_path, AWS_ENDPOINT_URL_SQS=moto, **extra), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == f"mailfate: error: cannot use queue {queue}: {said}" + done.stderr.split(said, 1)[1]
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_ses_sync_without_a_region_is_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("mailfate")
    db = f"sqlite:///{tmp_path / 's.db'}"
    subprocess.run([str(exe), "suppress", "a@example.com", "--db", db], check=True, capture_output=True, timeout=60)
    for flag in ("--push-ses", "--pull-ses"):
        done = subprocess.run([str(exe), "suppressions", flag, "--db", db], env=without_aws(tmp_path),
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 1
        said = "You must specify a region. (pass --region or set AWS_REGION)"
        assert done.stderr == f"mailfate: error: cannot reach SES: {said}\n"


def test_queue_region() -> None:
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/q") == "eu-west-1"
    assert queue_region("http://127.0.0.1:5000/123456789012/q") is None


def _random_records(seed: int, messages: int = 50) -> list[dict[str, Any]]:
    import random

    from mailfate.testing import bounce_event

    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    bounces = [("Permanent", "General", "5.1.1"), ("Transient", "General", None), ("Transient", "MailboxFull", "4.2.2"),
               ("Transient", "General", "5.1.1"), ("Undetermined", "Undetermined", None)]  # fmt: skip
    for m in range(messages):
        to = [f"r{m}-{k}@example.com" for k in range(rng.randint(1, 3))]
        for _ in range(rng.randint(1, 6)):
            when = f"2026-11-20T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z"
            who = rng.sample(to, rng.randint(1, len(to)))
            kind = rng.choice(["Send", "Delivery", "Delivery", "Open", "Click", "DeliveryDelay", "Bounce", "Complaint"])
            if kind == "Bounce":
                records.append(bounce_event(f"c-{m}", who, when, *rng.choice(bounces), destination=to))
            elif kind in ("Open", "Click", "Send"):
                records.append(event(kind, f"c-{m}", to, when, destination=to))
            else:
                records.append(event(kind, f"c-{m}", who, when, destination=to))
    return records


@pytest.mark.postgres
@pytest.mark.server
def test_four_processes_on_postgres_converge_with_one_sqlite_process(
    moto: str, consumers: Callable[..., subprocess.Popen[bytes]], servers: Callable[..., Any],
    signer: SnsSigner, tmp_path: Path,
) -> None:  # fmt: skip
    """Two serve workers and two SQS consumers ingest the same shuffled, duplicated set into one
    PostgreSQL database; the fates equal those of one process ingesting it in order into SQLite."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from .conftest import jsonl, postgres_schema
    from .support import post_sns

    records = _random_records(seed=4)
    envelopes = [signer.sign(sns_envelope(r, TOPIC, message_id=f"c0000000-0000-4000-8000-{i:012d}"))
                 for i, r in enumerate(records)]  # fmt: skip
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    from mailfate.sources.ingest import ingest_bytes

    ingest_bytes(reference, jsonl(envelopes))
    expected = {f"c-{m}": reference.message(f"c-{m}") for m in range(50)}
    reference.close()

    rng = random.Random(7)
    shuffled = envelopes + rng.sample(envelopes, len(envelopes) // 3)
    rng.shuffle(shuffled)
    by_http = [e for i, e in enumerate(shuffled) if i % 2 == 0]
    by_sqs = [json.dumps(e) for i, e in enumerate(shuffled) if i % 2 == 1]

    with postgres_schema() as url:
        server = servers(db=url, workers=2)
        client = sqs(moto)
        queue = client.create_queue(QueueName="converge")["QueueUrl"]
        send_all(client, queue, by_sqs)
        workers = [consumers(queue, url), consumers(queue, url)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda e: post_sns(server.port, e).status, by_http))
        assert set(statuses) == {200}
        wait_for(lambda: backlog(client, queue) == 0)
        for process in workers:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        store = open_store(url)
        try:
            actual = {m: store.message(m) for m in expected}
        finally:
            store.close()
    for message_id, want in expected.items():
        got = actual[message_id]
        assert (got is None) == (want is None), message_id
        if want is not None and got is not None:
            assert got.status == want.status, message_id
            assert [f.to_json() for f in got.recipients] == [f.to_json() for f in want.recipients], message_id
            assert len(got.events) == len(want.events), message_id
