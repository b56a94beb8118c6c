"""Bad input and bad luck: fuzzed bodies never crash anything, and kill -9 loses no acknowledged notification."""

from __future__ import annotations

import http.client
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.errors import MailfateError
from mailfate.sns.envelope import sns_message
from mailfate.sources.parse import parse_record
from mailfate.sources.records import read_records
from mailfate.testing import event, sns_envelope

from .support import TOPIC, Server, Signer, post_sns, request

Start = Callable[..., Server]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def _template() -> dict[str, Any]:
    return sns_envelope(event("Bounce", "m-f", ["a@example.com"], "2026-11-20T10:00:00Z"), topic_arn=TOPIC)


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible SNS envelope with one field removed, retyped or replaced, inside or outside Message."""
    envelope = _template()
    inner = json.loads(envelope["Message"])
    target = draw(st.sampled_from(["envelope", "inner", "mail", "bounce"]))
    obj = {"envelope": envelope, "inner": inner, "mail": inner["mail"], "bounce": inner["bounce"]}[target]
    key = draw(st.sampled_from(sorted(obj)))
    action = draw(st.sampled_from(["delete", "replace"]))
    if action == "delete":
        del obj[key]
    else:
        obj[key] = draw(json_values)
    if target != "envelope" and "Message" in envelope:
        envelope["Message"] = json.dumps(inner)
    return envelope


class TestParserFuzz:
    @settings(max_examples=300, deadline=None)
    @given(value=json_values | mutated_envelopes())
    def test_parse_raises_only_payload_errors(self, value: Any) -> None:
        """Any JSON value either parses or raises a MailfateError with a reason."""
        reasons = []
        try:
            parse_record(value, json.dumps(value))
        except MailfateError as exc:
            reasons.append(str(exc))
        if isinstance(value, dict):
            try:
                sns_message(value)
            except MailfateError as exc:
                reasons.append(str(exc))
        assert all(reasons)  # every refusal says why

    @settings(max_examples=300, deadline=None)
    @given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
    def test_reading_never_raises(self, data: bytes) -> None:
        items = list(read_records(io.BytesIO(data)))
        assert all(hasattr(item, "value") or item.reason for item in items)


@pytest.mark.server
def test_endpoint_fuzz_never_500(servers: Start, signer: Signer) -> None:
    """Random and mutated bodies, signed or not: never a 500, every refusal is JSON and says why."""
    server = servers()
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        body=st.one_of(
            st.binary(max_size=300),
            json_values.map(lambda v: json.dumps(v).encode()),
            mutated_envelopes().map(lambda e: json.dumps(e).encode()),
            mutated_envelopes().map(lambda e: json.dumps(_sign_if_possible(signer, e)).encode()),
        )
    )
    def check(body: bytes) -> None:
        response = post_sns(server.port, body)
        seen.add(response.status)
        assert response.status in (200, 400, 403, 503), response.body
        if response.status >= 400:
            error = response.json()
            assert error["status"] == response.status
            assert error["error"]

    check()
    assert 400 in seen
    assert 403 in seen


def _sign_if_possible(signer: Signer, envelope: dict[str, Any]) -> dict[str, Any]:
    try:
        return signer.sign(envelope)
    except (MailfateError, KeyError, TypeError, AttributeError, IndexError):
        return envelope


@pytest.mark.server
def test_kill_9_under_load_loses_no_acknowledged_notification(servers: Start, signer: Signer, tmp_path: Path) -> None:
    """Eight clients post until the server is killed with SIGKILL; after a restart every 200 is there."""
    server = servers()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        for i in range(5000):  # bounded; the kill ends it far sooner
            if stop.is_set():
                return
            sns_id = f"{n:08x}-0000-4000-8000-{i:012x}"
            ses = event("Delivery", f"kill-{n}-{i}", ["a@example.com"], "2026-11-20T10:00:01Z")
            try:
                response = post_sns(server.port, signer.sign(sns_envelope(ses, topic_arn=TOPIC, message_id=sns_id)))
            except (OSError, http.client.HTTPException):
                return  # the server is gone, maybe in the middle of an answer
            if response.status == 200:
                with lock:
                    acknowledged.append(sns_id)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 300

    restarted = servers()
    with sqlite3.connect(tmp_path / "server.db") as conn:
        keys = {row[0] for row in conn.execute("SELECT record_key FROM records")}
    missing = [sns_id for sns_id in acknowledged if f"sns:{sns_id}" not in keys]
    assert missing == []
    assert request(restarted.port, "GET", "/readyz").status == 200
    n, i = acknowledged[-1].split("-")[0], int(acknowledged[-1].rsplit("-", 1)[1], 16)
    served = request(restarted.port, "GET", f"/api/messages/kill-{int(n, 16)}-{i}")
    assert served.status == 200  # the last acknowledged one, served by the restarted process
