"""The cost of one notification for an address with a long history, against a fresh address.

Target (docs/performance.md): the cost of one notification does not grow with the history of its
addresses. The long-history address gets ``--history`` messages (each a Send and a Delivery, and a
soft bounce every 50th, as a mailbox that is full now and then); it and a fresh address are
suppressed by hand, so that a Delivery has to look at the suppression of either. Then one notification
at a time goes through ``store.ingest`` (one transaction each, as the server commits a request): a
Delivery and a soft bounce of a new message, alternately, for each address.

    .venv/bin/python bench/notification_cost.py [--history 30000] [--rounds 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from mailfate.core.suppression import Action
from mailfate.core.timestamps import format_timestamp
from mailfate.sources.parse import parse_record
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

OLD = "long-history@example.com"
FRESH = "fresh@example.com"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def stamp(seconds: float) -> str:
    return format_timestamp(START + dt.timedelta(seconds=seconds))


def history(address: str, messages: int) -> Iterator[dict[str, Any]]:
    for n in range(messages):
        mid = f"history-{n:08d}"
        at = n * 600.0  # one message every ten minutes: 30,000 span seven months
        yield event("Send", mid, [address], stamp(at), sent_at=stamp(at))
        yield event("Delivery", mid, [address], stamp(at + 5), sent_at=stamp(at))
        if n % 50 == 49:
            yield bounce_event(f"{mid}-s", [address], stamp(at + 7), "Transient", "MailboxFull", "4.2.2")


def load(store: Store, records: Iterator[dict[str, Any]], batch: int = 2000) -> None:
    pending = []
    for record in records:
        pending.append(parse_record(record, json.dumps(record)))
        if len(pending) == batch:
            store.ingest(pending, format_timestamp(dt.datetime.now(dt.UTC)))
            pending = []
    if pending:
        store.ingest(pending, format_timestamp(dt.datetime.now(dt.UTC)))


def one(store: Store, record: dict[str, Any]) -> float:
    item = parse_record(record, json.dumps(record))
    started = time.perf_counter()
    store.ingest([item], format_timestamp(dt.datetime.now(dt.UTC)))
    return (time.perf_counter() - started) * 1000


def measure(store: Store, address: str, rounds: int, offset: float) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"Delivery": [], "soft bounce": []}
    for n in range(rounds):
        at = offset + n * 3600.0
        mid = f"new-{address}-{n:06d}"
        timings["Delivery"].append(one(store, event("Delivery", mid, [address], stamp(at), sent_at=stamp(at))))
        bounce = bounce_event(f"{mid}-s", [address], stamp(at + 60), "Transient", "MailboxFull", "4.2.2")
        timings["soft bounce"].append(one(store, bounce))
    return timings


def report(name: str, timings: dict[str, list[float]]) -> None:
    for kind, values in timings.items():
        values.sort()
        p99 = values[max(0, int(len(values) * 0.99) - 1)]
        print(f"  {name:<22} {kind:<12} p50 {statistics.median(values):7.2f} ms   p99 {p99:7.2f} ms")


def run(url: str, history_size: int, rounds: int) -> None:
    store = open_store(url)
    try:
        started = time.perf_counter()
        load(store, history(OLD, history_size))
        for address in (OLD, FRESH):  # both suppressed by hand: the same work but for the history
            store.add_action(address, Action("suppress", stamp(history_size * 600.0), "benchmark"))
        took = time.perf_counter() - started
        print(f"{url.split(':')[0]}: {history_size:,} messages of history loaded in {took:.0f} s")
        offset = history_size * 600.0 + 86_400
        report("long-history address", measure(store, OLD, rounds, offset))
        report("fresh address", measure(store, FRESH, rounds, offset))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres", help="also on this PostgreSQL database (its tables are dropped first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{Path(folder) / 'cost.db'}", args.history, args.rounds)
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS bench_cost CASCADE")
            conn.execute("CREATE SCHEMA bench_cost")
        separator = "&" if "?" in args.postgres else "?"
        try:
            run(f"{args.postgres}{separator}options=-csearch_path%3Dbench_cost", args.history, args.rounds)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute("DROP SCHEMA bench_cost CASCADE")


if __name__ == "__main__":
    main()
