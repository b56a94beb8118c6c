"""Peak memory of `mailfate ingest` on files built to exhaust it: it must stay flat, whatever the file.

Each file is written as a stream (never held in memory here), then ingested by a `mailfate ingest`
subprocess whose own peak RSS is read from wait4():

- a gzip bomb: a few KB that decompress to one line of --size MiB (an object that never closes);
- --size MiB of newlines, gzip-compressed, between two records;
- a pretty-printed array of 8,000 records (about 30 MB), as AWS's console exports look;
- 2,500 records of 100 KB each (250 MB, gzip-compressed): memory follows a chunk's bytes, not its count.

The peak includes the parsing worker processes. (Linux keeps a process's peak RSS across exec, and a
child shares its parent's memory until then: a bench process that had grown would inflate it. This one
stays small; tests/test_memory.py starts the ingest from a small launcher for that reason.)

    .venv/bin/python bench/ingest_memory.py [--size 1024]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from mailfate.testing import event

MIB = 1024 * 1024


def gzip_stream(path: Path, parts: Iterator[bytes]) -> None:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: the gzip container
    with path.open("wb") as out:
        for part in parts:
            out.write(compressor.compress(part))
        out.write(compressor.flush())


def record(n: int) -> bytes:
    return json.dumps(event("Delivery", f"mem-{n}", [f"m{n}@example.com"], "2026-11-20T10:00:00.000Z")).encode()


def bomb(size_mib: int) -> Iterator[bytes]:
    yield record(1) + b"\n" + b'{"eventType": "Delivery", "pad": "'
    block = b"a" * MIB
    for _ in range(size_mib):
        yield block
    yield b"\n" + record(2) + b"\n"


def newlines(size_mib: int) -> Iterator[bytes]:
    yield record(3) + b"\n"
    block = b"\n" * MIB
    for _ in range(size_mib):
        yield block
    yield record(4) + b"\n"


def large_records(count: int = 2500, pad: int = 100_000) -> Iterator[bytes]:
    for n in range(count):
        value = json.loads(record(n))
        value["mail"]["tags"] = {"pad": ["x" * pad]}
        yield json.dumps(value).encode() + b"\n"


def pretty_array(path: Path, count: int = 8000) -> None:
    with path.open("wb") as out:
        out.write(b"[\n")
        for n in range(count):
            out.write(b",\n" if n else b"")
            out.write(json.dumps(json.loads(record(n)), indent=4).encode())
        out.write(b"\n]\n")


def measure(path: Path, db: str) -> tuple[float, float, str]:
    """Seconds, peak RSS in MB, and the summary of one `mailfate ingest` subprocess."""
    exe = Path(sys.executable).with_name("mailfate")
    started = time.perf_counter()
    process = subprocess.Popen([str(exe), "ingest", str(path), "--db", db, "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    summary = json.loads(output) if output.strip() else {}
    brief = ", ".join(f"{k}={summary.get(k)}" for k in ("records", "quarantined"))
    return time.perf_counter() - started, usage.ru_maxrss / 1024, brief


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="MiB of the bomb's line and of the newlines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailfate-memory-") as folder:
        base = Path(folder)
        files = {"gzip bomb, one line": base / "bomb.json.gz", "newlines": base / "newlines.json.gz"}
        gzip_stream(files["gzip bomb, one line"], bomb(args.size))
        gzip_stream(files["newlines"], newlines(args.size))
        files["pretty array, 8,000 records"] = base / "array.json"
        pretty_array(files["pretty array, 8,000 records"])
        files["2,500 records of 100 KB"] = base / "large.json.gz"
        gzip_stream(files["2,500 records of 100 KB"], large_records())
        for name, path in files.items():
            seconds, peak, summary = measure(path, f"sqlite:///{base / 'memory.db'}")
            size = path.stat().st_size / MIB
            print(f"{name:<30} {size:8.1f} MiB on disk  {seconds:6.1f} s  peak RSS {peak:6.0f} MB  {summary}")
    print(f"(decompressed: {args.size} MiB each for the first two)")
    _ = gzip  # the files are standard gzip: `zcat` reads them


if __name__ == "__main__":
    main()
