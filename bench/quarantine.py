"""What junk in the quarantine costs the write path: a batch as the server writes it under a junk flood
(genuine notifications and empty junk bodies in one transaction, then the budget applied), with 0 and
with many junk rows already stored.

    .venv/bin/python bench/quarantine.py [--db sqlite:///q.db] [--stored 1000000] [--batches 200]

Prints, for each amount stored, the batches per second and the p50/p99 of one batch (write + trim).
The write path must stay flat: the budget check reads a running total, and a trim deletes at most
5,000 of the oldest junk rows found through an index, however many are stored.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
import uuid
from pathlib import Path

import psycopg

from mailfate.core.model import Rejected
from mailfate.core.timestamps import now
from mailfate.sources.parse import parse_record
from mailfate.store import open_store
from mailfate.store.base import Store
from mailfate.testing import event, sns_envelope

REASON = "body is not JSON: Expecting value: line 1 column 1 (char 0)"


def fill(store: Store, rows: int) -> None:
    """``rows`` empty junk bodies, inserted in bulk (what a flood leaves behind)."""
    for start in range(0, rows, 50_000):
        store.ingest([Rejected(REASON, b"", "sns", authenticated=False)] * min(50_000, rows - start), now())


def settle(url: str) -> None:
    """What follows a bulk load and is not the write path's cost: SQLite's checkpoint of the load's WAL,
    PostgreSQL's vacuum and statistics (autovacuum would run them within a minute)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE quarantine")


def run(store: Store, batches: int, budget: int) -> list[float]:
    """Batches of 10 genuine notifications and 30 junk bodies, each followed by the budget's trim."""
    times = []
    for _ in range(batches):
        items: list[object] = []
        for _ in range(10):
            envelope = sns_envelope(event("Delivery", f"0100-{uuid.uuid4()}", ["a@example.com"], now()))
            items.append(parse_record(envelope, json.dumps(envelope), "sns"))
        items += [Rejected(REASON, b"", "sns", authenticated=False)] * 30
        started = time.perf_counter()
        store.ingest(items, now())  # type: ignore[arg-type]
        store.trim_quarantine(budget, None)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:///bench-quarantine.db")
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    if args.db.startswith("sqlite:///"):
        path = Path(args.db.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    store = open_store(args.db)
    try:
        for stored in (0, args.stored):
            fill(store, stored - store.quarantine_usage()[1] if stored else 0)
            settle(args.db)
            used, rows = store.quarantine_usage()
            budget = used  # every batch then trims as much junk as it added
            times = sorted(run(store, args.batches, budget))
            p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
            print(
                f"{rows:>9,} junk rows stored: {len(times) / sum(times):7.0f} batches/s, "
                f"p50 {p50 * 1000:6.2f} ms, p99 {p99 * 1000:6.2f} ms"
            )
    finally:
        store.close()


if __name__ == "__main__":
    main()
