"""The quarantine's budget counts what a row really costs, from a running total kept by the database
in every writing transaction; trimming reads the oldest junk from an index. Both backends."""

from __future__ import annotations

from typing import Any

import pytest

from mailfate.core.model import Rejected
from mailfate.store import Store, open_store
from mailfate.store import migrate as migrate_module
from mailfate.store.quarantine import ROW_OVERHEAD, TRIM_ROWS, row_cost

T = "2026-11-20T10:00:00.000Z"
LATER = "2026-11-21T10:00:00.000Z"


def junk(body: bytes = b"", reason: str = "body is not JSON") -> Rejected:
    return Rejected(reason, body, "sns", authenticated=False)


def recount(store: Store) -> tuple[int, int]:
    """The quarantine's cost summed row by row: what the running total must always equal."""
    rows: list[tuple[Any, ...]] = store._read(  # type: ignore[attr-defined]
        "SELECT body, reason, transport, received_at, location FROM quarantine"
    )
    return sum(row_cost(len(bytes(r[0])), *r[1:]) for r in rows), len(rows)


def test_empty_bodies_count_for_their_rows(store: Store) -> None:
    """36,401 empty posts were once kept under a 0.01 MiB budget: a row costs its overhead whatever its body."""
    store.ingest([junk() for _ in range(400)], T)
    used, rows = store.quarantine_usage()
    assert rows == 400
    assert used >= 400 * ROW_OVERHEAD
    dropped, freed = store.trim_quarantine(10 * 1024, None)
    used, rows = store.quarantine_usage()
    assert used <= 10 * 1024
    assert rows == 400 - dropped
    assert rows < 10 * 1024 // ROW_OVERHEAD
    assert freed >= dropped * ROW_OVERHEAD


def test_the_running_total_follows_every_write(store: Store) -> None:
    """Inserts, trims, the retention, prune, a changed reason and a raw DELETE: the total never drifts."""
    store.ingest([junk(b"x" * n, f"reason {n}") for n in range(50)], T)
    store.ingest([Rejected("SignatureInvalid: \u00e9t\u00e9", b"\xff" * 300, "sqs", "sqs:1")], LATER)
    assert store.quarantine_usage() == recount(store)
    store.trim_quarantine(recount(store)[0] // 2, None)
    assert store.quarantine_usage() == recount(store)
    with store._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("UPDATE quarantine SET reason = ? WHERE authenticated", ("a much longer reason " * 20,))
        tx.execute("DELETE FROM quarantine WHERE id = (SELECT min(id) FROM quarantine)")
    assert store.quarantine_usage() == recount(store)
    store.trim_quarantine(None, "2026-11-21T00:00:00.000Z")
    assert store.quarantine_usage() == recount(store)
    assert store.quarantine_usage()[1] == 1
    store.prune("9999-01-01T00:00:00.000Z")
    assert store.quarantine_usage() == (0, 0)


def test_a_trim_takes_a_bounded_bite(store: Store) -> None:
    """However large the backlog, one call deletes at most TRIM_ROWS rows; the next calls go on."""
    store.ingest([junk() for _ in range(TRIM_ROWS + 1000)], T)
    dropped, _ = store.trim_quarantine(0, None)
    assert dropped == TRIM_ROWS
    assert store.trim_quarantine(0, None)[0] == 1000
    assert store.quarantine_usage() == (0, 0)


def test_the_migration_counts_what_is_already_there(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = migrate_module.migrations
    monkeypatch.setattr(migrate_module, "migrations", lambda d: [m for m in everything(d) if m[0] < "0011"])
    old = open_store(store_url)
    old.ingest([junk(b"y" * n) for n in range(30)], T)
    old.close()
    monkeypatch.setattr(migrate_module, "migrations", everything)
    store = open_store(store_url)
    try:
        assert store.quarantine_usage() == recount(store)
        assert store.quarantine_usage()[1] == 30
        store.ingest([junk(b"z")], T)
        assert store.quarantine_usage() == recount(store)
    finally:
        store.close()


def test_trimming_reads_the_oldest_junk_from_an_index(tmp_path: Any) -> None:
    """The victims come from the front of the partial index of unauthenticated rows, never a scan of
    the table; and the budget check reads the running total only."""
    store = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        plan = store._read(  # type: ignore[attr-defined]
            "EXPLAIN QUERY PLAN SELECT id FROM quarantine WHERE NOT authenticated ORDER BY id LIMIT 10"
        )
        assert any("quarantine_unauthenticated" in str(row[-1]) for row in plan), plan
        assert not any(str(row[-1]).startswith("SCAN quarantine") and "INDEX" not in str(row[-1]) for row in plan)
    finally:
        store.close()
