"""Memory stays flat whatever a file holds: a gzip bomb's one huge line and a flood of newlines are read
in blocks, the huge record kept by reference. Peak RSS of a real `mailfate ingest` process is measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

from mailfate.store import open_store
from mailfate.testing import event

MIB = 1024 * 1024
SIZE_MIB = 256  # decompressed, for each of the two; the file itself is about 0.5 MiB


def test_a_gzip_bomb_and_a_flood_of_newlines_do_not_grow_memory(tmp_path: Path) -> None:
    def good(n: int) -> bytes:
        return json.dumps(event("Delivery", f"mem-{n}", [f"m{n}@example.com"], "2026-11-20T10:00:00Z")).encode()

    path = tmp_path / "bomb.json.gz"
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with path.open("wb") as out:  # streamed: this process never holds the decompressed data either
        out.write(compressor.compress(good(1) + b'\n{"eventType": "Delivery", "pad": "'))
        for _ in range(SIZE_MIB):
            out.write(compressor.compress(b"a" * MIB))
        out.write(compressor.compress(b"\n" + good(2) + b"\n"))
        for _ in range(SIZE_MIB):
            out.write(compressor.compress(b"\n" * MIB))
        out.write(compressor.compress(good(3) + b"\n"))
        out.write(compressor.flush())
    db = f"sqlite:///{tmp_path / 'm.db'}"
    exe = Path(sys.executable).with_name("mailfate")
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        process = subprocess.Popen([str(exe), "ingest", str(path), "--db", db, "--json"], stdout=out, stderr=err)
    killer = threading.Timer(120, process.kill)  # bounded: a hang fails the test instead of the run
    killer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024
    assert peak_mb < 250, f"peak RSS {peak_mb:.0f} MB for {2 * SIZE_MIB} MiB of input"
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert process.returncode == 1, err  # the huge record was quarantined
    summary = json.loads(out)
    assert (summary["records"], summary["quarantined"]) == (3, 1)
    store = open_store(db)
    try:
        (item,) = store.quarantined()
        assert item.size > SIZE_MIB * MIB
        assert "kept by reference" in item.reason
        assert store.message("mem-3") is not None
    finally:
        store.close()
