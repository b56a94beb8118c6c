"""Bulk ingest from a file into SQLite: events per second, and peak memory.

Target (docs/performance.md): at least 20,000 events/s on the 2-core development machine.

    .venv/bin/python bench/ingest_files.py [--events 200000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import events_file
from mailfate.sources.ingest import ingest_paths
from mailfate.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()

    path = events_file(args.events)
    size_mb = path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="mailfate-bench-") as folder:
        store = open_store(f"sqlite:///{folder}/bench.db", bulk=True)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        (outcome,) = ingest_paths(store, [str(path)])
        elapsed = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        store.close()
        db_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
    result = outcome.result
    assert result is not None
    assert result.quarantined == 0
    print(f"file:        {path.name} ({size_mb:.0f} MB, {result.records:,} records)")
    print(f"ingested:    {result.events:,} events in {elapsed:.2f} s")
    print(f"throughput:  {result.events / elapsed:,.0f} events/s  (target >= 20,000)")
    print(f"records/s:   {result.records / elapsed:,.0f}")
    print(f"peak RSS:    {rss_after:.0f} MB (before ingest {rss_before:.0f} MB)")
    print(f"database:    {db_mb:.0f} MB")


if __name__ == "__main__":
    main()
