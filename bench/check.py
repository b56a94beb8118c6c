"""The check before sending: 100 addresses among one million suppressions, in-process and over HTTP.

Target (docs/performance.md): p99 under 5 ms in-process (``store.check``), under 20 ms over HTTP
(``POST /api/check`` to ``mailfate serve``, one client, one request at a time). Each check asks about
100 random addresses, half of them suppressed.

The million suppressions are written straight into the table every surface reads (``suppression_state``),
in bulk, with payloads made by the pure rules; building them through ingest would take minutes and
measure ingest, not the check. Bounces, complaints, soft bounces (expiring in the future) and
suppressions by hand, in equal parts.

    .venv/bin/python bench/check.py [--suppressions 1000000] [--checks 2000] [--postgres URL] [--port 8480]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailfate.core.jsonutil import dumps
from mailfate.core.suppression import Suppression
from mailfate.core.timestamps import format_timestamp
from mailfate.store import open_store

BATCH = 100


def address(n: int) -> str:
    return f"user{n:07d}@example{n % 97}.com"


def suppressions(count: int) -> Iterator[tuple[str, str | None, str]]:
    """(address, expires_at, payload) rows, as the store keeps them."""
    now = datetime.now(UTC)
    for n in range(count):
        since = format_timestamp(now - timedelta(days=n % 300, seconds=n % 86_400))
        message = f"0100019c{n:08x}-bench-000000"
        kind = n % 4
        if kind == 0:
            event = {"kind": "Bounce", "message_id": message, "timestamp": since, "type": "Permanent",
                     "subtype": "General", "status": "5.1.1"}  # fmt: skip
            found = Suppression(address(n), "bounce", since, None, event)
        elif kind == 1:
            event = {"kind": "Complaint", "message_id": message, "timestamp": since, "feedback_type": "abuse"}
            found = Suppression(address(n), "complaint", since, None, event)
        elif kind == 2:
            ends = format_timestamp(now + timedelta(days=1 + n % 29))
            event = {"kind": "Bounce", "message_id": message, "timestamp": since, "type": "Transient",
                     "subtype": "MailboxFull", "status": "4.2.2"}  # fmt: skip
            found = Suppression(address(n), "soft_bounce", since, ends, event)
        else:
            found = Suppression(address(n), "manual", since, None, {"kind": "manual", "reason": "asked us to stop"})
        yield found.address, found.expires_at, dumps(found.to_json())


def fill(url: str, count: int) -> None:
    started = time.perf_counter()
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executemany(
                "INSERT INTO suppression_state (address, expires_at, payload) VALUES (?, ?, ?)", suppressions(count)
            )
    else:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cur:
            with cur.copy("COPY suppression_state (address, expires_at, payload) FROM STDIN") as copy:
                for row in suppressions(count):
                    copy.write_row(row)
            cur.execute("ANALYZE suppression_state")
    print(f"  {count:,} suppressions written in {time.perf_counter() - started:.0f} s")


def batches(count: int, checks: int, seed: int) -> list[list[str]]:
    """Each check: 50 suppressed addresses and 50 never seen, shuffled."""
    rng = random.Random(seed)
    found = []
    for _ in range(checks):
        batch = [address(rng.randrange(count)) for _ in range(BATCH // 2)]
        batch += [f"nobody{rng.randrange(10**9)}@example.org" for _ in range(BATCH // 2)]
        rng.shuffle(batch)
        found.append(batch)
    return found


def timed(run: Callable[[list[str]], int], work: list[list[str]]) -> list[float]:
    timings = []
    for batch in work:
        started = time.perf_counter()
        blocked = run(batch)
        timings.append((time.perf_counter() - started) * 1000)
        assert blocked == BATCH // 2, blocked  # every suppressed address found, none invented
    return timings


def report(name: str, timings: list[float], target: float) -> None:
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    verdict = "meets" if p99 < target else "MISSES"
    print(f"  {name:<32} p50 {statistics.median(timings):6.2f} ms   p99 {p99:6.2f} ms   max {timings[-1]:6.2f} ms"
          f"   ({verdict} p99 < {target:g} ms)")  # fmt: skip


def serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("mailfate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--db", url], env=env, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise SystemExit(f"mailfate serve did not start: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def run(url: str, name: str, count: int, checks: int, port: int, folder: Path) -> None:
    print(f"{name}:")
    store = open_store(url)  # a real, migrated mailfate database
    try:
        fill(url, count)
        work = batches(count, checks, seed=1)
        timed(lambda batch: sum(not r.allowed for r in store.check(batch)), work[:100])  # warm up
        report("store.check(100 addresses)", timed(lambda b: sum(not r.allowed for r in store.check(b)), work), 5)
    finally:
        store.close()
    process = serve(url, port, folder / f"{name}.log")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def over_http(batch: list[str]) -> int:
            conn.request("POST", "/api/check", json.dumps(batch), {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = json.loads(response.read())
            assert response.status == 200, body
            return sum(not item["allowed"] for item in body)

        timed(over_http, work[:100])
        report("POST /api/check (100 addresses)", timed(over_http, batches(count, checks, seed=2)), 20)
        conn.close()
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suppressions", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8480)
    parser.add_argument("--postgres", help="also on this PostgreSQL database (in a schema of its own, dropped after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        run(f"sqlite:///{folder / 'check.db'}", "sqlite", args.suppressions, args.checks, args.port, folder)
        if args.postgres:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute("DROP SCHEMA IF EXISTS bench_check CASCADE")
                conn.execute("CREATE SCHEMA bench_check")
            separator = "&" if "?" in args.postgres else "?"
            try:
                url = f"{args.postgres}{separator}options=-csearch_path%3Dbench_check"
                run(url, "postgresql", args.suppressions, args.checks, args.port + 1, folder)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute("DROP SCHEMA bench_check CASCADE")


if __name__ == "__main__":
    main()
