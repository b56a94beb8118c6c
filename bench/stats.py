"""Reputation figures over one million recipients on SQLite: in all, grouped, by recipient domain and
by provider (with delivery times), and the diagnostics (the top bounce and complaint reasons).

Target (docs/performance.md): under one second. The database is built once through the normal ingest path
(messages of five recipients over 27 days, spread over the big providers and 2,000 company domains, each
bounce with its provider's own answer) and kept in bench/.data.

    .venv/bin/python bench/stats.py [--recipients 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import DATA, build_database, insight_records
from mailfate.core.insights import DiagnosticsQuery
from mailfate.core.stats import StatsQuery
from mailfate.store import open_store

WINDOW = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")


def build(recipients: int, path: Path) -> None:
    source = DATA / f"stats-v2-{recipients}.jsonl"
    rng = random.Random(61)
    with source.open("w") as out:
        for index in range(recipients // 5):
            for record in insight_records(index, rng, recipients_per_message=5):
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
    build_database(source, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    path = DATA / f"stats-v2-{args.recipients}.db"
    if not path.exists():
        build(args.recipients, path)
    store = open_store(f"sqlite:///{path}")
    now = datetime.now(UTC)
    try:
        groupings = (None, "configuration_set", "sending_domain", "day", "tag:ses:configuration-set",
                     "recipient_domain", "provider")  # fmt: skip
        for group_by in groupings:
            query = StatsQuery.parse(*WINDOW, group_by, now)
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                result = store.stats(query).to_json()
                timings.append(time.perf_counter() - started)
            _line(f"group_by={group_by or '(none)'}", result["totals"]["sent"], timings, len(result["groups"]))
        diagnostics = DiagnosticsQuery.parse(*WINDOW, None, None, now)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            found = store.diagnostics(diagnostics)
            timings.append(time.perf_counter() - started)
        _line("diagnostics", sum(found.totals.values()), timings, len(found.reasons), "bounced or complained")
    finally:
        store.close()


def _line(what: str, counted: int, timings: list[float], groups: int, noun: str = "recipients") -> None:
    print(
        f"{what:<37} {noun} {counted:>9,}  groups {groups:>5,}  "
        f"median {statistics.median(timings):.3f} s  max {max(timings):.3f} s  (target < 1 s)"
    )


if __name__ == "__main__":
    main()
