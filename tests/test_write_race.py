"""Two processes writing the same new SNS MessageId at the same moment (PostgreSQL, several servers).

The key is free when each reads it, and one insert waits on the other's: the loser must not answer
"stored" for a record that is not stored. Written again, it is a duplicate (same text) or a conflict
kept in quarantine (other text). SQLite has one writer at a time, so the race cannot happen there.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
import pytest

from mailfate.core.model import Record
from mailfate.core.views import IngestResult
from mailfate.sources.parse import parse_record
from mailfate.store import open_store, sql
from mailfate.testing import event, sns_envelope

from .conftest import postgres_schema

pytestmark = pytest.mark.postgres

NOW = "2026-11-20T10:01:00.000Z"


def _record(smtp_response: str) -> Record:
    ses = event("Delivery", "m-race", ["a@example.com"], "2026-11-20T10:00:05.000Z", smtpResponse=smtp_response)
    envelope: dict[str, Any] = sns_envelope(ses, message_id="sns-race-1")
    text = json.dumps(envelope)
    return parse_record(json.loads(text), text, "sns")


def _race(url: str, theirs: Record, ours: Record) -> tuple[IngestResult, list[tuple[Any, ...]]]:
    """Ingest ``ours`` while another transaction has inserted ``theirs`` and not yet committed; commit
    it once ours is waiting on it. Returns our result and the stored records' (key, body)."""
    store = open_store(url)
    try:
        row = sql.prepare([theirs], NOW).records[0]
        with psycopg.connect(url) as other:
            other.execute(
                "INSERT INTO records (record_key, transport, kind, received_at, note, body) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                row,
            )
            results: list[IngestResult] = []
            writer = threading.Thread(target=lambda: results.append(store.ingest([ours], NOW)))
            writer.start()
            writer.join(timeout=1.0)
            assert writer.is_alive(), "our insert should wait on the other writer's uncommitted key"
            other.commit()
            writer.join(timeout=30)
            assert not writer.is_alive()
        stored = store._read("SELECT record_key, body FROM records")
        return results[0], stored
    finally:
        store.close()


def test_other_content_committed_meanwhile_is_quarantined_not_acknowledged() -> None:
    with postgres_schema() as url:
        theirs, ours = _record("250 A"), _record("250 B")
        result, stored = _race(url, theirs, ours)
        assert (result.records, result.duplicates, result.quarantined) == (0, 0, 1)
        assert result.outcomes == ["quarantined"]
        assert [body for _, body in stored] == [theirs.body]
        store = open_store(url)
        try:
            (kept,) = store.quarantined()
            assert "already stored with different content" in (kept.reason or "")
        finally:
            store.close()


def test_same_content_committed_meanwhile_is_a_duplicate() -> None:
    with postgres_schema() as url:
        theirs = _record("250 A")
        result, stored = _race(url, theirs, theirs)
        assert (result.records, result.duplicates, result.quarantined) == (0, 1, 0)
        assert result.outcomes == ["duplicate"]
        assert len(stored) == 1
