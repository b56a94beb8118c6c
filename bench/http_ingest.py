"""Signed SNS notifications POSTed over loopback by wrk (2 threads, 32 connections), in one run:

1. ``mailfate serve --workers 1`` on SQLite,
2. ``mailfate serve --workers 2`` on SQLite,
3. ``mailfate serve --workers 2`` on PostgreSQL (a database made for the run, dropped after it),
4. the ceiling: a minimal Starlette app on the same uvicorn (httptools, uvloop) answering a POST of the
   same bodies with a small JSON and doing nothing else.

Each leg prints throughput, p50/p99 latency and the servers' CPU time per request (steadier than
throughput on a shared machine), then counts what was stored: the rows must equal the notifications
the server acknowledged (its ``sns.request`` log lines with status 200, outcome stored), and wrk's
2xx answers must be among those; any difference ends the run with an error. The ratios compare the
1-worker leg with Starlette, and the 2-worker SQLite leg with django-ses's published 464/s (two gunicorn
workers, signature checks on, a minimal status table, on the same kind of machine; django-ses is not
run here). Targets (docs/performance.md): SQLite 2 workers >= 4,000/s and >= 12 x django-ses, p99 < 50
ms; 1 worker >= half of Starlette; PostgreSQL 2 workers >= 2,500/s, p99 < 50 ms.

Needs wrk (Debian package ``wrk``) and, for leg 3, a PostgreSQL server (``--postgres``, default
``$MAILFATE_BENCH_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/postgres; ``--postgres none``
skips the leg).

    .venv/bin/python bench/http_ingest.py [--duration 5] [--connections 32] [--only sqlite1,sqlite2,postgres,starlette]
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import DATA, scratch_database
from mailfate.testing import SnsSigner, event, sns_envelope

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
#: django-ses, two gunicorn workers, signature checks on, a minimal status table: the published figure
#: of issue 19, measured on this kind of machine with wrk on the same machine. Not run here.
DJANGO_SES = 464
LEGS = ("sqlite1", "sqlite2", "postgres", "starlette")
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
# The ceiling: what uvicorn and Starlette cost for a POST of the same body, with nothing done with it.
STARLETTE_APP = """
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def sns(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"outcome": "stored", "message_id": None})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/sns", sns, methods=["POST"]), Route("/healthz", healthz)])
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
    print(f"signing {count:,} notifications into {path} (once: later runs reuse them)", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    SnsSigner(folder).save_key()
    chunks = [(str(folder), start, min(start + 5000, count)) for start in range(0, count, 5000)]
    with ProcessPoolExecutor() as pool, path.with_suffix(".partial").open("w") as out:
        for lines in pool.map(_sign_range, chunks):
            out.write("\n".join(lines) + "\n")
    path.with_suffix(".partial").rename(path)
    return path, folder


@dataclass
class Leg:
    name: str
    rps: float
    p50: float
    p99: float
    requests: int
    non_2xx: int
    cpu_us: float  # server CPU (every process of it) per completed request
    stored: int | None = None  # rows in records; None for the Starlette ceiling
    acknowledged: int | None = None  # the server's own 200s for stored notifications


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=_positive, default=5, help="seconds of load per leg (default 5)")
    parser.add_argument("--connections", type=_positive, default=32, help="wrk's connections (default 32)")
    parser.add_argument(
        "--bodies", type=_positive, default=100_000, help="distinct signed notifications (default 100,000)"
    )
    default_pg = os.environ.get("MAILFATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--postgres", default=default_pg, help="a server to make a scratch database on, or none")
    parser.add_argument("--only", default=",".join(LEGS), help=f"legs to run, comma-separated: {', '.join(LEGS)}")
    args = parser.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the run quietly (between legs: no server is up)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    legs = [leg.strip() for leg in args.only.split(",") if leg.strip()]
    unknown = set(legs) - set(LEGS)
    if unknown or not legs:
        wrong = f"unknown leg {sorted(unknown)[0]!r}" if unknown else "no leg"
        parser.error(f"--only: {wrong} (legs: {', '.join(LEGS)})")
    if args.postgres.lower() == "none" and "postgres" in legs:
        legs.remove("postgres")
        print("the PostgreSQL leg is skipped: --postgres none")

    body_file, certs = bodies(args.bodies)
    print(f"load: wrk, 2 threads, {args.connections} connections, {args.duration} s per leg, {os.cpu_count()} cores")
    results: dict[str, Leg] = {}
    with tempfile.TemporaryDirectory(prefix="mailfate-http-") as folder:
        for name in legs:
            if name == "starlette":
                leg = _starlette(Path(folder), body_file, args)
            elif name == "postgres":
                with scratch_database(args.postgres, "mailfate_http_bench") as url:
                    leg = _mailfate(name, Path(folder), url, 2, body_file, certs, args)
            else:
                url = f"sqlite:///{folder}/{name}.db"
                leg = _mailfate(name, Path(folder), url, 1 if name == "sqlite1" else 2, body_file, certs, args)
            results[name] = leg
            _print_leg(leg)
    _print_ratios(results)
    lost = [leg.name for leg in results.values() if leg.stored is not None and leg.stored != leg.acknowledged]
    if lost:
        sys.exit(f"FAILED: stored rows differ from acknowledged notifications in: {', '.join(lost)}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _label(name: str) -> str:
    return {
        "sqlite1": "mailfate, SQLite, 1 worker",
        "sqlite2": "mailfate, SQLite, 2 workers",
        "postgres": "mailfate, PostgreSQL, 2 workers",
        "starlette": "Starlette empty POST, 1 worker",
    }[name]


def _print_leg(leg: Leg) -> None:
    print(
        f"{_label(leg.name):33s} {leg.rps:8,.0f}/s  p50 {leg.p50:6.2f} ms  p99 {leg.p99:6.2f} ms  "
        f"server CPU {leg.cpu_us:4.0f} us/request  ({leg.requests:,} requests, {leg.non_2xx} not 2xx)"
    )
    if leg.stored is not None:
        verdict = "ok" if leg.stored == leg.acknowledged else "MISMATCH"
        print(f"{'':33s} stored {leg.stored:,} rows for {leg.acknowledged:,} acknowledged: {verdict}")


def _print_ratios(results: dict[str, Leg]) -> None:
    one, two, pg, ceiling = (results.get(n) for n in LEGS)
    if not (two or pg or (one and ceiling)):
        return  # nothing to compare with a target
    print("ratios and targets:")
    if one and ceiling:
        ratio = one.rps / ceiling.rps
        print(f"  1 worker / Starlette empty POST:  {ratio:.2f}  (target >= 0.50: {_met(ratio >= 0.5)})")
    if two:
        ratio = two.rps / DJANGO_SES
        reference = f"django-ses's published {DJANGO_SES}/s, not run here"
        print(f"  SQLite 2 workers / django-ses:    {ratio:.1f} x  ({reference}; target >= 12: {_met(ratio >= 12)})")
        print(
            f"  SQLite 2 workers:                 {two.rps:,.0f}/s, p99 {two.p99} ms  "
            f"(target >= 4,000/s, p99 < 50 ms: {_met(two.rps >= 4000 and two.p99 < 50)})"
        )
    if pg:
        print(
            f"  PostgreSQL 2 workers:             {pg.rps:,.0f}/s, p99 {pg.p99} ms  "
            f"(target >= 2,500/s, p99 < 50 ms: {_met(pg.rps >= 2500 and pg.p99 < 50)})"
        )


def _met(condition: bool) -> str:
    return "met" if condition else "NOT met"


def _mailfate(
    name: str, folder: Path, db_url: str, workers: int, body_file: Path, certs: Path, args: argparse.Namespace
) -> Leg:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    env.update(MAILFATE_SNS_CERTS_DIR=str(certs), MAILFATE_TOPIC_ARNS=TOPIC, MAILFATE_CONFIRM="off")
    exe = Path(sys.executable).with_name("mailfate")
    command = [str(exe), "serve", "--port", str(port), "--db", db_url, "--workers", str(workers)]
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stderr=out, start_new_session=True)
    leg = _load(name, server, port, folder, body_file, args)
    # The server has stopped: every request it answered is in its log, every commit in the database.
    leg.acknowledged = _acknowledged(log)
    leg.stored = _count(db_url)
    if leg.requests - leg.non_2xx > leg.acknowledged:
        sys.exit(f"FAILED ({name}): wrk counted more 2xx answers than the server logged acknowledgements")
    return leg


def _starlette(folder: Path, body_file: Path, args: argparse.Namespace) -> Leg:
    (folder / "ceiling.py").write_text(STARLETTE_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(folder), "--port", str(port),
               "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL, start_new_session=True)
    return _load("starlette", server, port, folder, body_file, args)


def _load(
    name: str, server: subprocess.Popen[bytes], port: int, folder: Path, body_file: Path, args: argparse.Namespace
) -> Leg:
    try:
        _wait_ready(port, server)
        script = folder / "bench.lua"
        script.write_text(LUA)
        wrk_env = {**os.environ, "MAILFATE_BENCH_BODIES": str(body_file), "MAILFATE_BENCH_THREADS": "2"}
        cpu_before = _cpu_seconds(server.pid)
        done = subprocess.run(
            [shutil.which("wrk") or "wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
             "-s", str(script), f"http://127.0.0.1:{port}/sns"],
            env=wrk_env, capture_output=True, text=True, timeout=args.duration + 60, check=True,
        )  # fmt: skip
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    report = _parse(done.stdout)
    return Leg(name, report["rps"], report["p50"], report["p99"], int(report["requests"]), int(report["non_2xx"]),
               1e6 * cpu / max(report["requests"], 1))  # fmt: skip


def _cpu_seconds(session: int) -> float:
    """User and system CPU of every live process of the server's session (its workers included)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[3]) == session:  # the session id (field 6 of stat, after pid and comm)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _acknowledged(log: Path) -> int:
    """The notifications the server answered 200 as stored, from its own request log."""
    count = 0
    for line in log.read_bytes().splitlines():
        if b'"sns.request"' in line:
            entry = json.loads(line)
            count += entry.get("status") == 200 and entry.get("outcome") == "stored"
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with status {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("server did not start within 30 s")


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
        "p99": _ms(percentiles["99"]),
    }


def _count(db_url: str) -> int:
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            count: int = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            return count
    import psycopg

    with psycopg.connect(db_url) as conn:
        total: int = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return total


if __name__ == "__main__":
    main()
