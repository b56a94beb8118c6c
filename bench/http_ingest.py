"""Signed SNS notifications POSTed to `mailfate serve` on SQLite by wrk (32 connections, loopback).

Prints requests/s and latency percentiles, then counts the stored rows: every notification that got a
200 must be in the database. Target (docs/performance.md): at least 4,000 notifications/s, p99 under 50 ms.

Needs wrk (Debian package `wrk`).

    .venv/bin/python bench/http_ingest.py [--duration 15] [--connections 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import DATA
from mailfate.testing import SnsSigner, event, sns_envelope

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
LUA = """
local bodies = {}
local position = 0
local step = 1
function setup(thread)
  thread:set("offset", tostring(#threads))
  table.insert(threads, thread)
end
threads = {}
function init(args)
  for line in io.lines(os.getenv("MAILFATE_BENCH_BODIES")) do bodies[#bodies + 1] = line end
  position = tonumber(offset)
  step = tonumber(os.getenv("MAILFATE_BENCH_THREADS"))
end
function request()
  position = position + step
  return wrk.format("POST", "/sns", {["Content-Type"] = "text/plain; charset=UTF-8"}, bodies[(position % #bodies) + 1])
end
"""


def _sign_range(args: tuple[str, int, int]) -> list[str]:
    folder, start, stop = args
    signer = SnsSigner.load(Path(folder))
    lines = []
    for i in range(start, stop):
        ses = event("Delivery", f"http-bench-{i}", [f"user{i}@example.com"], "2026-11-20T10:00:01.000Z")
        envelope = sns_envelope(ses, topic_arn=TOPIC, message_id=f"00000000-0000-4000-8000-{i:012d}")
        lines.append(json.dumps(signer.sign(envelope)))
    return lines


def bodies(count: int) -> tuple[Path, Path]:
    """``count`` distinct signed notifications, one per line, and the folder of their certificate."""
    folder = DATA / "http-certs"
    path = DATA / f"http-bodies-{count}.txt"
    if path.exists() and folder.exists():
        return path, folder
    DATA.mkdir(exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    SnsSigner(folder).save_key()
    chunks = [(str(folder), start, min(start + 5000, count)) for start in range(0, count, 5000)]
    with ProcessPoolExecutor() as pool, path.with_suffix(".partial").open("w") as out:
        for lines in pool.map(_sign_range, chunks):
            out.write("\n".join(lines) + "\n")
    path.with_suffix(".partial").rename(path)
    return path, folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2: one per core)")
    parser.add_argument("--bodies", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    body_file, certs = bodies(args.bodies)
    with tempfile.TemporaryDirectory(prefix="mailfate-http-") as folder:
        db_url = args.db or f"sqlite:///{folder}/bench.db"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
        env.update(MAILFATE_SNS_CERTS_DIR=str(certs), MAILFATE_TOPIC_ARNS=TOPIC, MAILFATE_CONFIRM="off")
        exe = Path(sys.executable).with_name("mailfate")
        command = [str(exe), "serve", "--port", str(port), "--db", db_url, "--workers", str(args.workers)]
        server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_ready(port)
            script = Path(folder) / "bench.lua"
            script.write_text(LUA)
            wrk_env = {**os.environ, "MAILFATE_BENCH_BODIES": str(body_file), "MAILFATE_BENCH_THREADS": "2"}
            done = subprocess.run(
                [shutil.which("wrk") or "wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
                 "-s", str(script), f"http://127.0.0.1:{port}/sns"],
                env=wrk_env, capture_output=True, text=True, timeout=args.duration + 60, check=True,
            )  # fmt: skip
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        report = _parse(done.stdout)
        stored = _count(db_url)
    acknowledged = report["requests"] - report["non_2xx"]
    print(f"load:        wrk, 2 threads, {args.connections} connections, {args.duration} s, {args.workers} worker(s)")
    print(f"throughput:  {report['rps']:,.0f} notifications/s  (target >= 3,000)")
    print(f"latency:     p50 {report['p50']} ms, p90 {report['p90']} ms, p99 {report['p99']} ms  (target p99 < 50 ms)")
    print(f"responses:   {report['requests']:,} completed, {report['non_2xx']:,} not 2xx")
    print(f"stored:      {stored:,} records for {acknowledged:,} acknowledged")
    if acknowledged > args.bodies:
        print("note:        more requests than distinct bodies: later ones were duplicates")
    elif stored < acknowledged:
        sys.exit("LOST: fewer records stored than notifications acknowledged")


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("server did not start")


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)


def _parse(output: str) -> dict[str, float]:
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", output, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p50": _ms(percentiles["50"]),
        "p90": _ms(percentiles["90"]),
        "p99": _ms(percentiles["99"]),
    }


def _count(db_url: str) -> int:
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            count: int = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            return count
    import psycopg  # type: ignore[import-not-found]

    with psycopg.connect(db_url) as conn:
        total: int = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return total


if __name__ == "__main__":
    main()
