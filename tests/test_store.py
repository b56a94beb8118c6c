"""The SQLite store: durable, idempotent, and shaped as the contract says."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest

from mailfate.core.model import Status
from mailfate.errors import StorageError, UnstorableData, UsageError
from mailfate.sources.ingest import ingest_bytes
from mailfate.store import Store, open_store
from mailfate.store.common import SqlStore
from mailfate.store.migrate import migrations
from mailfate.testing import event, eventbridge_event, sns_envelope

from .conftest import GENUINE, ingest, jsonl

MESSAGE_KEYS = {
    "message_id",
    "status",
    "recipient_counts",
    "source",
    "subject",
    "sent_at",
    "tags",
    "recipients",
    "events",
}
RECIPIENT_KEYS = {
    "address", "status", "auto_reply", "opened", "clicked", "unsubscribed", "bounce", "complaint",
    "first_event_at", "last_event_at", "explanation",
}  # fmt: skip
EVENT_KEYS = {"kind", "recipient", "timestamp", "received_at"}


def test_genuine_bounce_stored_once_and_shaped_as_the_contract(store: Store) -> None:
    """An SNS notification delivered twice is stored once; the message JSON has the contract's keys."""
    body = (GENUINE / "django-ses-identity-bounce.json").read_bytes()
    first = ingest_bytes(store, body)
    second = ingest_bytes(store, body)
    assert (first.records, first.events, first.duplicates) == (1, 1, 0)
    assert (second.records, second.events, second.duplicates) == (0, 0, 1)

    view = store.message("0100017fe7043e8e-fc9c357d-a9a4-49bc-a4b4-fa984009d568-000000")
    assert view is not None
    body_json = view.to_json()
    assert set(body_json) >= MESSAGE_KEYS
    assert body_json["status"] == "bounced"
    assert body_json["recipient_counts"]["bounced"] == 1
    assert set(body_json["recipient_counts"]) == {s.value for s in Status}
    (recipient,) = body_json["recipients"]
    assert set(recipient) >= RECIPIENT_KEYS
    assert recipient["address"] == "bounce@simulator.amazonses.com"
    assert recipient["bounce"]["type"] == "Permanent"
    assert recipient["bounce"]["diagnostic_code"] == "smtp; 550 5.1.1 user unknown"
    (stored_event,) = body_json["events"]
    assert set(stored_event) >= EVENT_KEYS
    assert stored_event["kind"] == "Bounce"
    assert stored_event["source"] == "sns"


def test_one_event_by_three_routes_counts_once(store: Store) -> None:
    """Identity notification, event publishing over SNS and over EventBridge: one event, three raw records."""
    ep = event("Delivery", "m-1", ["a@example.com"], "2026-01-01T00:00:01Z")
    idn = event("Delivery", "m-1", ["a@example.com"], "2026-01-01T00:00:01Z", identity_format=True)
    result = ingest(store, [idn, sns_envelope(ep), eventbridge_event(ep)])
    assert (result.records, result.events, result.duplicate_events) == (3, 1, 2)
    view = store.message("m-1")
    assert view is not None
    assert len(view.events) == 1
    assert view.recipients[0].status is Status.DELIVERED


def test_the_same_file_twice_changes_nothing(store: Store) -> None:
    data = jsonl([event("Send", "m-2", ["a@example.com", "b@example.com"], "2026-01-01T00:00:00Z")])
    assert ingest_bytes(store, data).events == 2
    again = ingest_bytes(store, data)
    assert (again.records, again.events, again.duplicates) == (0, 0, 1)


def test_unparseable_records_are_quarantined_with_reason(store: Store) -> None:
    """Nothing is dropped: what cannot be understood is kept whole with the reason."""
    data = b'{"eventType": "Teleport", "mail": {"messageId": "x"}}\n{broken\n'
    result = ingest_bytes(store, data)
    assert result.quarantined == 2
    items = store.quarantined()
    reasons = sorted(i.reason for i in items)
    assert "unknown SES event type 'Teleport'" in reasons[1]
    assert any(i.preview.startswith(b"{broken") for i in items)


def test_unknown_address_has_no_messages(store: Store) -> None:
    view = store.recipient("nobody@example.com").to_json()
    assert view == {"address": "nobody@example.com", "suppressed": False, "suppression": None, "messages": []}


def test_recipient_lists_messages_newest_first(store: Store) -> None:
    ingest(
        store,
        [
            event("Send", "old", ["a@example.com"], "2026-01-01T00:00:00Z"),
            event("Send", "new", ["A@example.com"], "2026-02-01T00:00:00Z"),
        ],
    )
    view = store.recipient("a@example.com").to_json()
    assert [m["message_id"] for m in view["messages"]] == ["new", "old"]
    assert view["messages"][0]["status"] == "sent"


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = open_store(url)
    ingest(store, [event("Send", "m-3", ["a@example.com"], "2026-01-01T00:00:00Z")])
    store.close()
    reopened = open_store(url)
    try:
        assert reopened.message("m-3") is not None
    finally:
        reopened.close()
    versions = sqlite3.connect(tmp_path / "x.db").execute("SELECT version FROM schema_migrations").fetchall()
    shipped = [name for name, _ in migrations("sqlite")]
    assert shipped[:4] == ["0001_initial", "0002_suppression", "0003_message_counts", "0004_changes"]
    assert [v for (v,) in versions] == shipped  # each applied once


def test_write_failure_raises_storage_error_and_commits_nothing(tmp_path: Path) -> None:
    """A database that cannot be written to raises StorageError (the HTTP edge answers 503)."""
    path = tmp_path / "ro.db"
    store = open_store(f"sqlite:///{path}")
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER no_records BEFORE INSERT ON records BEGIN SELECT RAISE(FAIL, 'disk on fire'); END")
    conn.commit()
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        with pytest.raises(StorageError, match="disk on fire"):
            ingest(store, [event("Send", "m-4", ["a@example.com"], "2026-01-01T00:00:00Z")])
        assert store.message("m-4") is None
    finally:
        store.close()


def test_bad_urls_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        open_store("mysql://localhost/x")
    with pytest.raises(UsageError):
        open_store("sqlite:///:memory:")
    with pytest.raises(StorageError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")


def test_default_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's open_store reads MAILFATE_DB when given no URL (mailfate.store's does not)."""
    import mailfate

    monkeypatch.setenv("MAILFATE_DB", f"sqlite:///{tmp_path / 'env.db'}")
    store = mailfate.open_store(None)
    store.close()
    assert os.path.exists(tmp_path / "env.db")


def test_message_level_bounce_changes_no_fate(store: Store) -> None:
    """An auto-reply bounce with no recipient is kept as an event but leaves every recipient's fate alone."""
    delivered = event("Delivery", "m-5", ["a@example.com"], "2026-01-01T00:00:01Z")
    empty = event("Bounce", "m-5", [], "2026-01-01T00:00:09Z", destination=["a@example.com"])
    empty["bounce"]["bounceType"] = empty["bounce"]["bounceSubType"] = "Undetermined"
    ingest(store, [delivered, empty])
    view = store.message("m-5")
    assert view is not None
    assert [f.status for f in view.recipients] == [Status.DELIVERED]
    assert [e.kind for e in view.events] == ["Delivery", "Bounce"]
    assert json.loads(json.dumps(view.to_json()))["events"][1]["recipient"] is None


def test_parallel_ingest_equals_inline_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces parsed in worker processes give the same counts, fates and quarantine as one process."""
    import mailfate.sources.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "CHUNK_LINES", 40)
    records = []
    for i in range(150):
        records.append(event("Send", f"m-{i}", [f"u{i}@example.com"], "2026-01-01T00:00:00Z"))
        records.append(event("Delivery", f"m-{i}", [f"u{i}@example.com"], "2026-01-01T00:00:02Z"))
    data = jsonl(records) + b"{not json\n" + jsonl(records[:30])  # a bad line, then 30 duplicates
    outcomes = {}
    for workers in (1, 2):
        store = open_store(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        try:
            result = ingest_module.ingest_stream(store, io.BytesIO(data), "f", workers=workers)
            fates = {f"m-{i}": store.message(f"m-{i}").status for i in range(150)}  # type: ignore[union-attr]
            outcomes[workers] = (result.to_json(), fates, [q.reason for q in store.quarantined()])
        finally:
            store.close()
    assert outcomes[1] == outcomes[2]
    assert outcomes[2][0] == {
        "records": 300,
        "events": 300,
        "duplicates": 30,
        "duplicate_records": 30,
        "duplicate_events": 0,
        "quarantined": 1,
        "notes": 0,
    }
    assert set(outcomes[2][1].values()) == {Status.DELIVERED}


def test_prune_removes_raw_records_and_keeps_facts(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from mailfate.cli import main

    data = jsonl([event("Delivery", "p-1", ["a@example.com"], "2026-01-01T00:00:01Z")]) + b"{bad\n"
    ingest_bytes(store, data)
    assert main(["prune", "--older-than", "0", "--yes", "--db", store.url]) == 0
    assert "deleted 1 raw record and 1 quarantined one" in capsys.readouterr().out
    view = store.message("p-1")
    assert view is not None
    assert view.status is Status.DELIVERED
    assert store.quarantined() == []
    again = ingest_bytes(store, data)  # the raw record is gone, the event is still known
    assert (again.records, again.events, again.duplicate_events) == (1, 0, 1)
    assert main(["prune", "--older-than", "-1", "--db", store.url]) == 2


def test_bulk_loading_checkpoints_less_often(tmp_path: Path) -> None:
    """Files are loaded with a larger WAL between checkpoints; the server keeps them small for latency."""
    for bulk, expected in ((False, 10_000), (True, 50_000)):
        store = open_store(f"sqlite:///{tmp_path / 'b.db'}", bulk=bulk)
        try:
            assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone() == (expected,)  # type: ignore[attr-defined]
        finally:
            store.close()


def test_batch_inserts_store_every_value_as_given(store: Store) -> None:
    """A batch's rows go in as one statement on PostgreSQL (a JSON array); what JSON cannot carry
    (bytes, integers beyond 64 bits) goes row by row: either way each value is stored as it was given,
    on both backends alike, and a value no column holds fails as unstorable."""
    assert isinstance(store, SqlStore)
    rows = [(1, "a", 2**62, True, None), (2, "é ☃ x,y?", -5, False, None), (3, None, None, None, None)]
    odd = [(4, "bytes", 0, True, b"\x00\xff"), (5, "", 1, False, b"")]
    with store._transaction() as tx:
        tx.execute("CREATE TABLE batch_probe (n INTEGER NOT NULL, a TEXT, b BIGINT, c BOOLEAN, d BYTEA)")
        assert tx.executemany("INSERT INTO batch_probe (n, a, b, c, d) VALUES (?, ?, ?, ?, ?)", rows) == 3
        assert tx.executemany("INSERT INTO batch_probe (n, a, b, c, d) VALUES (?, ?, ?, ?, ?)", odd) == 2
        stored = tx.execute("SELECT n, a, b, c, d FROM batch_probe ORDER BY n")
    assert [(n, a, b, None if c is None else bool(c), None if d is None else bytes(d)) for n, a, b, c, d in stored] == [
        *rows,
        *odd,
    ]
    with pytest.raises(UnstorableData), store._transaction() as tx:
        tx.executemany("INSERT INTO batch_probe (n, b) VALUES (?, ?)", [(6, 1), (7, 2**70)])
    assert store._read("SELECT count(*) FROM batch_probe")[0][0] == 5  # the failed batch left nothing
