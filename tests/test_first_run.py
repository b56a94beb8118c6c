"""A new user's first minutes (README, "make run"): the demo dated now, loaded into the database that
``serve`` then shows, once; and the README's way to put ``mailfate`` on PATH."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailfate.cli import main
from mailfate.cli.demo import dated
from mailfate.core.timestamps import parse_timestamp

from .support import Server, free_port, request

ROOT = Path(__file__).parent.parent
EXE = str(Path(sys.executable).with_name("mailfate"))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    body: dict[str, object] = json.loads(capsys.readouterr().out)
    return body


def test_the_sample_is_dated_just_before_now_keeping_its_spacing() -> None:
    sample = (
        b'{"mail": {"timestamp": "2026-01-01T08:00:00.120Z"}, "x": "2026-01-01T14:00:00.000Z"}\n'
        b'{"Message": "{\\"timestamp\\": \\"2026-01-01T09:30:00Z\\"}"}\n'
    )
    now = datetime(2027, 3, 4, 12, 0, tzinfo=UTC)
    moved = dated(sample, now).decode()
    stamps = [parse_timestamp(t) for t in re.findall(r"\d{4}-\d\d-\d\dT[\d:.]+Z", moved)]
    assert max(stamps) == now - timedelta(minutes=1)
    assert stamps[1] - stamps[0] == timedelta(hours=5, minutes=59, seconds=59, milliseconds=880)
    assert stamps[2] - stamps[0] == timedelta(hours=1, minutes=29, seconds=59, milliseconds=880)
    assert json.loads(json.loads(moved.splitlines()[1])["Message"])  # still JSON inside the envelope


def test_the_demo_falls_inside_the_reputation_window(capsys: pytest.CaptureFixture[str]) -> None:
    body = run_json(capsys, "demo", "--json")
    messages = body["messages"]
    assert isinstance(messages, list)
    assert len(messages) == 5
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert all(parse_timestamp(m["sent_at"]) > week_ago for m in messages)


def test_demo_into_a_database_once_then_stats_see_it(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "demo", "--db", store_url, "--json")
    ingested = first["ingest"]
    assert isinstance(ingested, dict)
    assert ingested["records"] > 0
    again = run_json(capsys, "demo", "--db", store_url, "--json")
    assert again["ingest"] is None  # already there: nothing loaded twice, nothing quarantined
    assert again["messages"] == first["messages"]
    assert run_json(capsys, "stats", "--db", store_url, "--json")["totals"]["sent"] == 8  # type: ignore[index]
    assert main(["quarantine", "--json", "--db", store_url]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_demo_text_points_to_the_dashboard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["demo", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ingested the built-in sample")
    assert f"mailfate serve --db {url}" in out
    assert main(["demo", "--db", url]) == 0
    assert capsys.readouterr().out.startswith(f"The built-in sample is already in {url}")
    assert main(["demo", "--db", url, "--port", "8800"]) == 0  # as make run PORT=8800 runs it
    assert f"mailfate serve --db {url} --port 8800, then http://127.0.0.1:8800/" in capsys.readouterr().out


def test_make_run_serves_the_demo_on_port_and_ctrl_c_ends_quietly(tmp_path: Path) -> None:
    """``make run PORT=...`` in a terminal: the demo is loaded into the database it then serves, on that
    port; Ctrl-C stops the server gracefully and make ends with status 0, without "make: *** ...".
    (``-o`` keeps make from reinstalling the virtual environment this test runs in.)"""
    port, db = free_port(), tmp_path / "mailfate.db"
    venv = Path(sys.executable).parent.parent
    make = shutil.which("make")
    assert make is not None
    argv = [make, "-s", "-C", str(ROOT), f"VENV={venv}", "-o", f"{venv}/bin/mailfate", "run", f"PORT={port}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    env["MAILFATE_DB"] = f"sqlite:///{db}"
    pid, terminal = pty.fork()
    if pid == 0:  # the child: make, on the pseudo-terminal, as a user's shell would start it
        try:
            os.execve(make, argv, env)  # noqa: S606 (make itself, with a list: no shell)
        finally:
            os._exit(127)
    output = bytearray()

    def read(seconds: float) -> bool:
        """Read what the terminal shows for up to ``seconds`` (read as it comes: a terminal drops output
        not yet read when it sends SIGINT); False once make has closed it."""
        ready, _, _ = select.select([terminal], [], [], seconds)
        if ready:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:
                return False
            output.extend(chunk)
            return bool(chunk)
        return True

    try:
        deadline = time.monotonic() + 60
        while b"mailfate.ready" not in output and time.monotonic() < deadline and read(0.2):
            pass
        assert request(port, "GET", "/api/stats", timeout=5).json()["totals"]["sent"] == 8
        while read(0.2) and b"\n" not in output[output.rfind(b"mailfate.ready") :]:
            pass  # the whole line is shown: nothing is left unread when the interrupt comes
        os.write(terminal, b"\x03")  # Ctrl-C, as the terminal sends it to its foreground job
        end = time.monotonic() + 30
        while time.monotonic() < end and read(0.5):
            pass
        status = None
        while status is None and time.monotonic() < end + 10:
            done, code = os.waitpid(pid, os.WNOHANG)
            status = code if done else time.sleep(0.1)
        assert status is not None, "make did not end"
    finally:
        with contextlib.suppress(OSError):
            os.write(terminal, b"\x03")  # on failure, the server (the terminal's foreground job) stops too
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(terminal)  # and hangs up whatever still runs on it
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "make: ***" not in text
    assert '"event":"mailfate.stopped","signal":"SIGINT"' in text
    assert f"serving on http://127.0.0.1:{port}" in text
    assert f"then http://127.0.0.1:{port}/" in text  # the demo's link names the port served


def test_make_run_on_a_port_in_use_says_port(tmp_path: Path) -> None:
    """Under make the port is given as PORT=: a port in use says to choose another PORT=, not --port."""
    venv = Path(sys.executable).parent.parent
    make = shutil.which("make")
    assert make is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    env["MAILFATE_DB"] = f"sqlite:///{tmp_path / 'mailfate.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = [make, "-s", "-C", str(ROOT), f"VENV={venv}", "-o", f"{venv}/bin/mailfate", "run", f"PORT={port}"]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert f"the port is in use (another PORT=, or stop what uses {port})" in done.stderr
    assert "--port" not in done.stderr


def test_first_run_shows_a_populated_dashboard(tmp_path: Path, servers: Callable[..., Server]) -> None:
    """What ``make run`` does, with a real server: the dashboard's default window has the demo in it."""
    url = f"sqlite:///{tmp_path / 'mailfate.db'}"
    done = subprocess.run([EXE, "demo", "--db", url], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    server = servers(db=url)
    stats = request(server.port, "GET", "/api/stats").json()
    assert stats["totals"]["sent"] == 8
    assert stats["totals"]["complaints"] == 1
    page = request(server.port, "GET", "/")
    assert page.status == 200


def test_readme_says_how_to_put_mailfate_on_path() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "source .venv/bin/activate" in readme
    assert (ROOT / "Makefile").read_text().count("VENV ?= .venv") == 1  # where make installs it
