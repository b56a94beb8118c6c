"""A new PostgreSQL database gets statistics early: without them, the plans psycopg's prepared statements
keep say "sequential scan" for every lookup by key while the tables grow, until autovacuum comes by."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg
import pytest

from mailfate.core.model import Record
from mailfate.sources.parse import parse_record
from mailfate.store import open_store
from mailfate.store.postgres import ANALYZE_AFTER
from mailfate.testing import event

from .conftest import postgres_schema

pytestmark = pytest.mark.postgres


def _records(start: int, count: int) -> list[Record]:
    records = []
    for n in range(start, start + count):
        value = event("Delivery", f"stats-{n}", [f"s{n}@example.com"], "2026-11-20T10:00:00.000Z")
        records.append(parse_record(value, json.dumps(value)))
    return records


def _analyzed(url: str) -> dict[str, Any]:
    """Each table's last ANALYZE by hand (or by mailfate), None when never."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return dict(rows)


def _wait_for(condition: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds  # the statistics views may lag the ANALYZE a moment
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_new_database_is_analyzed_once_enough_is_written() -> None:
    with postgres_schema() as url:
        store = open_store(url)
        try:
            store.ingest(_records(0, ANALYZE_AFTER - 1), "2026-11-20T10:01:00.000Z")
            assert _analyzed(url)["messages"] is None
            store.ingest(_records(ANALYZE_AFTER, 1), "2026-11-20T10:01:00.000Z")
            _wait_for(lambda: _analyzed(url)["messages"] is not None)
            analyzed = _analyzed(url)
            for table in ("messages", "recipients", "records", "events", "search_terms", "message_counts"):
                assert analyzed[table] is not None, table
            # With statistics, a lookup by key is planned as one even when the plan is kept for any key.
            with psycopg.connect(url) as conn:
                conn.execute("SET plan_cache_mode = force_generic_plan")
                conn.execute("PREPARE lookup(text) AS SELECT * FROM messages WHERE message_id = $1")
                plan = "\n".join(row[0] for row in conn.execute("EXPLAIN EXECUTE lookup('stats-5')").fetchall())
            assert "Index" in plan, plan
        finally:
            store.close()


def test_a_table_analyzed_before_is_left_to_autovacuum() -> None:
    with postgres_schema() as url:
        open_store(url).close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE messages")
        _wait_for(lambda: _analyzed(url)["messages"] is not None)
        before = _analyzed(url)["messages"]
        store = open_store(url)
        try:
            store.ingest(_records(0, ANALYZE_AFTER), "2026-11-20T10:01:00.000Z")
        finally:
            store.close()
        time.sleep(0.2)
        assert _analyzed(url)["messages"] == before


def test_a_table_locked_by_a_vacuum_holds_up_no_write() -> None:
    """ANALYZE waits for a VACUUM (or another ANALYZE) of the same table: it runs beside the writes,
    skips a table it cannot lock within a second, and analyzes the others."""
    with postgres_schema() as url:
        store = open_store(url)
        vacuum = psycopg.connect(url)
        try:
            store.ingest(_records(0, ANALYZE_AFTER - 1), "2026-11-20T10:01:00.000Z")
            vacuum.execute("LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE")  # what a VACUUM holds
            written = threading.Thread(
                target=store.ingest, args=(_records(ANALYZE_AFTER, 5), "2026-11-20T10:01:00.000Z")
            )
            written.start()
            written.join(timeout=30)
            assert not written.is_alive()  # the write that crossed the threshold returned, lock still held
            _wait_for(lambda: _analyzed(url)["messages"] is not None)
            store.ingest(_records(2 * ANALYZE_AFTER, 5), "2026-11-20T10:01:00.000Z")  # and so do later ones
            vacuum.rollback()
            analyzed = _analyzed(url)
            assert analyzed["messages"] is not None
            assert analyzed["events"] is None  # skipped: autovacuum's, later
        finally:
            vacuum.close()
            store.close()
