"""Hostile records through `consume sqs` (moto) and `mailfate ingest`: the bad ones quarantined, the good
ones stored, nothing jammed, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mailfate.sources.sqs import SqsConsumer
from mailfate.store import Store, open_store
from mailfate.testing import SnsSigner, bounce_event, event, sns_envelope

from .support import TOPIC
from .test_consume import AWS, backlog, send_all, sqs

T = "2026-11-20T10:00:00.000Z"
EXE = Path(sys.executable).with_name("mailfate")


def delivery(n: int) -> dict[str, Any]:
    return event("Delivery", f"ok-{n}", [f"ok{n}@example.com"], T)


def hostile_bodies() -> list[str]:
    """What used to crash the consumer, or make it retry one batch for ever."""
    no_subtype = bounce_event("hb-1", ["h@example.com"], T, "Permanent", "General")
    del no_subtype["bounce"]["bounceSubType"]
    offset = json.dumps(delivery(90)).replace(T, "0001-01-01T00:00:00+01:00")
    surrogate = json.dumps(delivery(91)).replace("ok-91", "ok-91\\ud800")
    nul = json.dumps(delivery(92)).replace("ok92@", "ok\\u000092@")
    return [
        surrogate,
        offset,
        "[" * 1100 + "]" * 1100,
        nul,
        json.dumps(no_subtype),
        json.dumps(sns_envelope(delivery(93), topic_arn=TOPIC) | {"Message": "{" * 1100}),
    ]


def test_a_batch_with_bad_messages_stores_the_good_ones_and_deletes_all(moto: str, store: Store) -> None:
    client = sqs(moto)
    queue = client.create_queue(QueueName="hostile")["QueueUrl"]
    bad = hostile_bodies()
    send_all(client, queue, [json.dumps(delivery(n)) for n in range(4)] + bad)
    consumer = SqsConsumer(store, client, queue, wait_seconds=1)
    for _ in range(5):  # moto hands out up to ten at a time; bounded
        if not backlog(client, queue):
            break
        consumer.run(threading.Event(), max_batches=1)
    assert backlog(client, queue) == 0
    assert consumer.stats.storage_failures == 0
    assert all(store.message(f"ok-{n}") is not None for n in range(4))
    assert store.message("hb-1").status.value == "bounced"  # type: ignore[union-attr]
    assert store.message("ok-91\ufffd") is not None
    assert store.recipient("ok\ufffd92@example.com").messages
    reasons = [q.reason for q in store.quarantined()]
    assert len(reasons) == 3, reasons
    assert consumer.stats.quarantined == 3


def consume(queue: str, moto: str, db: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILFATE_", "AWS_"))}
    env.update(AWS, AWS_ENDPOINT_URL_SQS=moto)
    return subprocess.run(
        [str(EXE), "consume", "sqs", queue, "--db", db, "--wait", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("queue", ["missing", "not-a-url"])
def test_a_queue_that_cannot_be_used_is_one_line_and_exit_1(moto: str, tmp_path: Path, queue: str) -> None:
    url = f"{moto}/123456789012/does-not-exist" if queue == "missing" else queue
    done = consume(url, moto, f"sqlite:///{tmp_path / 'q.db'}")
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("mailfate:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        ("NonExistentQueue" in lines[0] or "does not exist" in lines[0])
        if queue == "missing"
        else "not a queue URL" in lines[0]
    )


def test_ingest_of_a_hostile_file_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = [json.dumps(delivery(0)), *hostile_bodies(), json.dumps(delivery(1)), "9" * 5000]
    path.write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    done = subprocess.run([str(EXE), "ingest", str(path), "--db", db, "--json"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1  # some records were quarantined
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert (summary["records"], summary["quarantined"]) == (5, 4)
    store = open_store(db)
    try:
        assert store.message("ok-1") is not None
    finally:
        store.close()


def test_ingest_verify_quarantines_what_it_cannot_check_now_and_goes_on(tmp_path: Path) -> None:
    """One envelope whose certificate cannot be fetched (no network here) does not abort the others."""
    from mailfate.core.timestamps import now

    signer = SnsSigner(tmp_path / "certs")
    good = signer.sign(sns_envelope(delivery(0), topic_arn=TOPIC, timestamp=now()))  # within the certificate's dates
    elsewhere = signer.sign(
        sns_envelope(delivery(1), topic_arn=TOPIC, timestamp=now()),
        cert_url=signer.cert_url(name="SimpleNotificationService-0123abcd.pem"),
    )
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(elsewhere) + "\n")
    second.write_text(json.dumps(good) + "\n")
    db = f"sqlite:///{tmp_path / 'v.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    env.update(MAILFATE_SNS_CERTS_DIR=str(signer.folder), MAILFATE_TOPIC_ARNS=TOPIC)
    done = subprocess.run([str(EXE), "ingest", str(first), str(second), "--verify", "--db", db, "--json"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (json.loads(done.stdout)["records"], json.loads(done.stdout)["quarantined"]) == (1, 1)
    store = open_store(db)
    try:
        assert store.message("ok-0") is not None
        (item,) = store.quarantined()
        assert item.reason.startswith("replayable: ")
    finally:
        store.close()


@pytest.mark.parametrize("until", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2025-02-30"])
def test_stats_until_out_of_range_is_a_usage_error(tmp_path: Path, until: str) -> None:
    done = subprocess.run([str(EXE), "stats", "--until", until, "--db", f"sqlite:///{tmp_path / 's.db'}"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("mailfate: error:")
