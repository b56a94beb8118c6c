"""Memory stays flat whatever a file holds: a gzip bomb's one huge line and a flood of newlines are read
in blocks, the huge record kept by reference. Peak RSS of a real `mailfate ingest` process is measured.

How it is measured matters. Linux keeps a process's peak RSS across exec(), and a child started with
vfork (as subprocess and posix_spawn do) shares its parent's memory until exec: so a child of a pytest
process that once held 350 MB reports a peak of 350 MB, even if it is /bin/true. The ingest is therefore
started by a small launcher process (a bare interpreter, a few MB), which reads the peak from wait4().
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

from mailfate.store import open_store
from mailfate.testing import event

MIB = 1024 * 1024
SIZE_MIB = 256  # decompressed, for each of the two; the file itself is about 0.5 MiB

#: Runs ARGV with stdout and stderr to two files, kills it after SECONDS, prints its exit code and peak RSS
#: (KiB, its worker processes included). Standard library only, run with -S: it stays small.
LAUNCHER = """
import os, signal, sys
seconds, out, err, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
files = [(os.POSIX_SPAWN_OPEN, 1, out, flags, 0o600), (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o600)]
pid = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=files)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.alarm(seconds)
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(argv: list[str], out: Path, err: Path, seconds: int = 240) -> tuple[int, float]:
    """Exit code and peak RSS in MB of ``argv``, not inflated by this process's own peak."""
    launcher = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(seconds), str(out), str(err), *argv],
                              capture_output=True, text=True, timeout=seconds + 30, check=True)  # fmt: skip
    code, peak_kib = launcher.stdout.split()
    return int(code), int(peak_kib) / 1024


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
    code, peak_mb = run_measured(
        [str(exe), "ingest", str(path), "--db", db, "--json"], tmp_path / "out", tmp_path / "err"
    )
    assert peak_mb < 250, f"peak RSS {peak_mb:.0f} MB for {2 * SIZE_MIB} MiB of input"
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert code == 1, err  # the huge record was quarantined
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
