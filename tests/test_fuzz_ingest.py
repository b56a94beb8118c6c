"""Fuzzing every way in, on both backends, bounded in time: SES events and SNS envelopes with wrong
types, missing fields, lone surrogates, NUL, huge numbers, extreme timestamps and deep nesting in any
field; posted signed to a real POST /sns, sent through `consume sqs` (moto), and ingested from files.

Never a 500, never a hang (every request answered within its deadline), never a jammed batch, every
record either stored or quarantined with its bytes intact, and no counter below zero.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.sources.ingest import ingest_bytes
from mailfate.sources.sqs import SqsConsumer
from mailfate.store import Store
from mailfate.testing import bounce_event, event, eventbridge_event, sns_envelope

from .support import TOPIC, Server, Signer, post_sns, request
from .test_consume import backlog, send_all, sqs

Start = Callable[..., Server]
T = "2026-11-20T10:00:00.000Z"
KINDS = ["Send", "Delivery", "Bounce", "Complaint", "DeliveryDelay", "Open", "Click", "Reject", "Subscription"]
DEEP = re.compile(r'"\\u2063deep(\d+)"')  # a marker for nesting too deep for json.dumps to write
EXAMPLES = 40  # per test and backend: the whole file stays well under two minutes

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\ud800", "\udfff", "a\ud83db", "\x00", "nul\x00in", "\ufffd", "é", "e\u0301", "<a@b"]),
)
times = st.sampled_from(
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2025-02-30T25:61:61.000Z", "1969-12-31T23:59:59Z",
     "", "yesterday", "2026-11-20T10:00:00+14:00", "2026-11-20 10:00:00 +0000", "0999-01-01T00:00:00Z"]
)  # fmt: skip
numbers = st.one_of(st.integers(), st.sampled_from([2**64, -(2**70), 10**300, 1e308, -0.0]))
deep = st.integers(min_value=30, max_value=1500).map(lambda n: f"\u2063deep{n}")
scalars = st.one_of(st.none(), st.booleans(), numbers, texts, times, deep)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=6)  # fmt: skip


def dumps(value: Any) -> str:
    """JSON text, with the deep-nesting markers written out as that many brackets."""
    text = json.dumps(value)
    return DEEP.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def ses_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid SES event of any kind, with up to three fields deleted, retyped or replaced."""
    kind = draw(st.sampled_from(KINDS))
    n = draw(st.integers(0, 10**6))
    record = (bounce_event(f"fz-{n}", ["a@example.com", "b@example.com"], T, "Transient", "General")
              if kind == "Bounce" else event(kind, f"fz-{n}", ["a@example.com"], T))  # fmt: skip
    for _ in range(draw(st.integers(0, 3))):
        where = paths(record)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return record


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """An SNS Notification around a fuzzed event, itself sometimes fuzzed outside the signed fields."""
    envelope = sns_envelope(draw(ses_events()), topic_arn=TOPIC, message_id=str(uuid.uuid4()))
    envelope["Message"] = dumps(json.loads(envelope["Message"]))
    if draw(st.booleans()):
        envelope[draw(st.sampled_from(["Subject", "Timestamp", "UnsubscribeURL", "Extra"]))] = draw(texts | times)
    return envelope


@st.composite
def documents(draw: st.DrawFn) -> str:
    """One record as a file or a queue holds it: bare, in an SNS envelope, or from EventBridge."""
    record = draw(ses_events())
    wrap = draw(st.sampled_from(["bare", "sns", "eventbridge"]))
    if wrap == "sns":
        return dumps(sns_envelope(record, topic_arn=TOPIC, message_id=str(uuid.uuid4())))
    if wrap == "eventbridge" and isinstance(record.get("mail"), dict):
        try:
            return dumps(eventbridge_event(record, str(uuid.uuid4())))
        except (KeyError, TypeError):
            pass
    return dumps(record)


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.server
def test_signed_notifications_posted_together(servers: Start, signer: Signer, store_url: str) -> None:
    server = servers(db=store_url)
    quarantined = 0
    seen: set[int] = set()

    @FUZZ
    @given(batch=st.lists(envelopes(), min_size=1, max_size=6))
    def check(batch: list[dict[str, Any]]) -> None:
        nonlocal quarantined
        bodies = [json.dumps(signer.sign(e)).encode() for e in batch]
        answers: dict[int, Any] = {}

        def post(i: int) -> None:
            answers[i] = post_sns(server.port, bodies[i])  # times out after 20 s: a hang fails here

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(answers) == list(range(len(bodies))), "a request was never answered"
        for i, answer in answers.items():
            assert answer.status in (200, 400), (answer.status, answer.body, bodies[i][:300])
            seen.add(answer.status)
            if answer.status == 400:
                quarantined += 1
        items = request(server.port, "GET", "/api/quarantine?limit=1000").json()
        assert len(items) == quarantined  # every refusal kept, and nothing else
        for item in items[: sum(a.status == 400 for a in answers.values())]:
            body = request(server.port, "GET", f"/api/quarantine/{item['id']}").json()
            assert body["body"].encode() in bodies, "a quarantined body is not byte for byte what was sent"

    check()
    assert seen == {200, 400}  # the fuzz reached both sides


def test_files_ingest(store: Store) -> None:
    totals = {"records": 0, "quarantined": 0}

    @FUZZ
    @given(docs=st.lists(documents(), min_size=1, max_size=8), layout=st.sampled_from(["lines", "pretty", "array"]))
    def check(docs: list[str], layout: str) -> None:
        before = {i.id for i in store.quarantined(1000)}
        if layout == "lines":
            data = "\n".join(docs) + "\n"
        elif layout == "pretty":
            data = "\n".join(_indented(d) for d in docs)
        else:
            data = "[\n" + ",\n".join(docs) + "\n]"
        raw = data.encode()
        result = ingest_bytes(store, raw)
        counts = result.to_json()
        assert min(counts.values()) >= 0
        assert result.records + result.duplicates + result.quarantined == len(docs)
        totals["records"] += result.records
        totals["quarantined"] += result.quarantined
        for item in store.quarantined(1000):
            if item.id not in before:
                body = store.quarantined_item(item.id).body  # type: ignore[union-attr]
                assert body in raw, "a quarantined record is not byte for byte what the file held"

    check()
    assert totals["records"] > 0
    assert totals["quarantined"] > 0


def _indented(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except (ValueError, RecursionError):
        return text  # too deep to pretty-print: as it is, on its own line


def test_through_sqs(moto: str, store: Store) -> None:
    client = sqs(moto)
    queue = client.create_queue(QueueName=f"fuzz-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    consumer = SqsConsumer(store, client, queue, wait_seconds=0)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(docs=st.lists(documents(), min_size=1, max_size=10))
    def check(docs: list[str]) -> None:
        received = consumer.stats.received
        seen = consumer.stats.stored + consumer.stats.duplicates + consumer.stats.quarantined
        send_all(client, queue, docs)
        for _ in range(10):  # bounded; a jammed batch would stay on the queue
            if not backlog(client, queue):
                break
            consumer.run(threading.Event(), max_batches=1)
        assert backlog(client, queue) == 0, "a batch was not deleted"
        assert consumer.stats.storage_failures == 0
        assert consumer.stats.received - received == len(docs)
        now_seen = consumer.stats.stored + consumer.stats.duplicates + consumer.stats.quarantined
        assert now_seen - seen == len(docs)

    check()
