"""Bulk ingest from a file into SQLite, then into PostgreSQL: events per second, and peak memory.

Targets (docs/performance.md): at least 20,000 events/s on SQLite and 15,000 on PostgreSQL, on the
2-core development machine. PostgreSQL gets a database made for the run and dropped after it, on
``--postgres`` (default ``$MAILFATE_BENCH_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/postgres;
``--postgres none`` skips it).

    .venv/bin/python bench/ingest_files.py [--events 200000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import events_file, scratch_database
from mailfate.sources.ingest import ingest_paths
from mailfate.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    default_pg = os.environ.get("MAILFATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--postgres", default=default_pg, help="a server to make a scratch database on, or none")
    args = parser.parse_args()

    path = events_file(args.events)
    size_mb = path.stat().st_size / 1e6
    print(f"file:        {path.name} ({size_mb:.0f} MB)")
    with tempfile.TemporaryDirectory(prefix="mailfate-bench-") as folder:
        rate = _ingest("SQLite", f"sqlite:///{folder}/bench.db", path, 20_000)
        db_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
        print(f"database:    {db_mb:.0f} MB")
    rates = {"SQLite": rate}
    if args.postgres.lower() != "none":
        with scratch_database(args.postgres, "mailfate_files_bench") as url:
            rates["PostgreSQL"] = _ingest("PostgreSQL", url, path, 15_000)
    print("summary:     " + ", ".join(f"{name} {value:,.0f} events/s" for name, value in rates.items()))


def _ingest(name: str, url: str, path: Path, target: int) -> float:
    store = open_store(url, bulk=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    (outcome,) = ingest_paths(store, [str(path)])
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    result = outcome.result
    assert result is not None, outcome.error
    assert result.quarantined == 0
    rate = result.events / elapsed
    print(f"{name}:")
    print(f"  ingested:    {result.events:,} events ({result.records:,} records) in {elapsed:.2f} s")
    print(f"  throughput:  {rate:,.0f} events/s  (target >= {target:,}: {'met' if rate >= target else 'NOT met'})")
    print(f"  peak RSS:    {rss_after:.0f} MB (before ingest {rss_before:.0f} MB)")
    return rate


if __name__ == "__main__":
    main()
