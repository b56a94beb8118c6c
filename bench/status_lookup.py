"""Status lookup of one message in a database of ten million events: p50 and p99 latency.

Target (docs/performance.md): p99 under 5 ms. The database is built once through the normal ingest path
(messages of five recipients: Send, Delivery, and often Open or a bounce) and kept in bench/.data.

    .venv/bin/python bench/status_lookup.py [--events 10000000] [--lookups 10000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import DATA, build_database, events_file
from mailfate.store import open_store


def build(events: int, path: Path) -> None:
    source = events_file(events, recipients_per_message=5)
    build_database(source, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)
    path = DATA / f"lookup-{args.events}.db"
    if not path.exists():
        build(args.events, path)
    conn = sqlite3.connect(path)
    total_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    rng = random.Random(7)
    ids = [r[0] for r in conn.execute("SELECT message_id FROM messages")]
    conn.close()
    sample = [rng.choice(ids) for _ in range(args.lookups)]

    store = open_store(f"sqlite:///{path}")
    timings = []
    for message_id in sample:  # cold cache for most: 10,000 of ~670,000 messages
        started = time.perf_counter()
        view = store.message(message_id)
        body = view.to_json() if view else None
        timings.append((time.perf_counter() - started) * 1000)
        assert body is not None
    store.close()
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"database:   {total_events:,} events, {len(ids):,} messages, {path.stat().st_size / 1e9:.1f} GB")
    print(f"lookups:    {len(timings):,} random messages (store.message + JSON, as GET /api/messages/{{id}})")
    print(f"latency:    p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {timings[-1]:.3f} ms  (target p99 < 5 ms)")


if __name__ == "__main__":
    main()
