"""Webhook outbox claims on a fresh PostgreSQL database (no ANALYZE yet): seconds per claim.

Fills the outbox with N pending changes, one address each, then times ``claim_deliveries`` until the
outbox is drained (each claim leases up to 50; each leased change is marked delivered). A fresh
database has no planner statistics, which is when a claim query with an unsafe plan turns quadratic.

    .venv/bin/python bench/outbox_claim.py [--changes 3000] [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))

from mailfate.core.timestamps import format_timestamp
from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import event

URL = "postgresql://postgres@127.0.0.1:5432/test"
HOOK = "http://127.0.0.1:9/hook"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--url", default=URL)
    args = parser.parse_args()
    schema = f"mailfate_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        run(f"{args.url}?options=-csearch_path%3D{schema}", args.changes)
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def run(url: str, changes: int) -> None:
    store = open_store(url)
    try:
        store.register_webhooks([HOOK])
        lines = []
        for i in range(changes):
            record = event("Delivery", f"claim-{i}", [f"user{i}@example.com"], "2026-11-20T10:00:00.000Z")
            lines.append(__import__("json").dumps(record))
        ingest_bytes(store, ("\n".join(lines) + "\n").encode())
        now = datetime.now(UTC)
        filled = store.fill_outbox(HOOK, format_timestamp(now), limit=changes * 2)
        timings: list[float] = []
        drained = 0
        started = time.perf_counter()
        while True:
            moment = format_timestamp(datetime.now(UTC))
            lease = format_timestamp(datetime.now(UTC) + timedelta(seconds=60))
            begin = time.perf_counter()
            claimed = store.claim_deliveries(HOOK, moment, lease, limit=50)
            timings.append(time.perf_counter() - begin)
            if not claimed:
                break
            for delivery in claimed:
                store.delivered(delivery, moment)
            drained += len(claimed)
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    print(f"outbox:      {filled:,} pending changes on a fresh PostgreSQL schema (no ANALYZE)")
    print(f"claims:      {len(timings):,}, median {statistics.median(timings) * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms, first {timings[0] * 1000:.1f} ms")  # fmt: skip
    print(f"drained:     {drained:,} changes in {elapsed:.1f} s ({drained / elapsed:,.0f} changes/s)")


if __name__ == "__main__":
    main()
