"""docs/integrate.md runs as written: each example against a real `mailfate serve` (Flask comes with
moto's server, a test dependency already; Django is not installed, so its snippet is compiled)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailfate.outbound.signing import signature
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest
from .support import Server, free_port, request

pytestmark = pytest.mark.server
PAGE = Path(__file__).parent.parent / "docs" / "integrate.md"
TOKEN = "docs-token-5d2"
SECRET = "docs-webhook-secret"


def examples() -> dict[str, str]:
    found = re.findall(r"<!-- example: ([a-z-]+) -->\n```python\n(.*?)```", PAGE.read_text(), re.S)
    return dict(found)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    store = open_store(url)
    ingest(store, [
        event("Delivery", "m-1", ["jane@example.com"], "2026-11-20T10:00:00.000Z"),
        bounce_event("m-2", ["bob@example.com"], "2026-11-20T10:00:00.000Z", "Permanent", "General", "5.1.1"),
    ])  # fmt: skip
    store.close()
    return url


@pytest.fixture
def service(servers: Callable[..., Server], db: str, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv("MAILFATE_API_TOKEN", TOKEN)
    return servers({"MAILFATE_API_TOKEN": TOKEN}, db=db)


def code(name: str, server: Server | None = None, db: str | None = None) -> str:
    text = examples()[name]
    if server is not None:
        text = text.replace("http://127.0.0.1:8025", f"http://127.0.0.1:{server.port}")
    if db is not None:
        text = text.replace("sqlite:///mailfate.db", db)
    return text


def run(text: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, str(PAGE), "exec"), {"__name__": "example"})  # noqa: S102 (our own docs)
    return out.getvalue().splitlines()


def test_the_page_has_every_example() -> None:
    assert set(examples()) == {"library-check", "client-check", "follow", "webhook-receiver", "django", "flask"}


def test_library_check(db: str) -> None:
    lines = run(code("library-check", db=db))
    assert lines[0] == "send: jane@example.com"
    assert lines[1].startswith("skip: bob@example.com - bounce since 2026-11-20T10:00:00.000Z after {")
    assert lines[2] == "fix: not-an-address - not an email address: has no @"


def test_client_check(service: Server) -> None:
    assert run(code("client-check", service)) == [
        "sending to ['jane@example.com']",
        "held back {'bob@example.com': 'bounce'}",
    ]


@contextlib.contextmanager
def example_process(text: str, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """An example run as its own program; stopped by its PID."""
    with (cwd / "example.log").open("a") as log:  # what it says on stderr, for a failing test
        process = subprocess.Popen(
            [sys.executable, "-c", text], cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=log,
            text=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def read_lines(process: subprocess.Popen[str], count: int, timeout: float = 30) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while len(lines) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
        else:
            time.sleep(0.05)
    assert len(lines) == count, f"expected {count} lines, got {lines} (exit {process.poll()})"
    return lines


def test_follow_resumes_after_a_restart(service: Server, tmp_path: Path) -> None:
    text = code("follow", service).replace("client.follow(after=after)", "client.follow(after=after, poll=0.1)")
    assert text != code("follow", service)
    env = {"MAILFATE_API_TOKEN": TOKEN}
    with example_process(text, tmp_path, env) as process:
        first = read_lines(process, 3)
    assert sorted(first) == [
        "fate m-1 jane@example.com delivered",
        "fate m-2 bob@example.com bounced",
        "suppression bob@example.com bounce",
    ]
    handled = int((tmp_path / "mailfate.cursor").read_text())
    assert request(service.port, "PUT", "/api/suppressions/x%40example.com", b"",
                   {"Authorization": f"Bearer {TOKEN}"}).status == 200  # fmt: skip
    with example_process(text, tmp_path, env) as process:
        assert read_lines(process, 1) == ["suppression x@example.com manual"]  # nothing again, nothing missed
    assert int((tmp_path / "mailfate.cursor").read_text()) > handled


def test_webhook_receiver_verifies(servers: Callable[..., Server], db: str, tmp_path: Path) -> None:
    port = free_port()
    with example_process(
        code("webhook-receiver"), tmp_path, {"PORT": str(port), "MAILFATE_WEBHOOK_SECRET": SECRET}
    ) as hook:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                forged = request(port, "POST", "/hook", b'{"seq": 1}', {"Mailfate-Timestamp": str(int(time.time())),
                                                                        "Mailfate-Signature": "sha256=00"})  # fmt: skip
                break
            time.sleep(0.1)
        assert forged.status == 401
        server = servers({"MAILFATE_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "MAILFATE_WEBHOOK_SECRET": SECRET,
                          "MAILFATE_WEBHOOK_BACKOFF": "0.2"}, db=db)  # fmt: skip
        assert request(server.port, "PUT", "/api/suppressions/hooked%40example.com", b"").status == 200
        (line,) = read_lines(hook, 1)
    assert re.fullmatch(r"verified \d+ suppression hooked@example.com", line)


def test_flask_snippet(service: Server) -> None:
    pytest.importorskip("flask")  # installed with moto's server
    namespace: dict[str, object] = {"__name__": "flask_example"}
    os.environ["MAILFATE_WEBHOOK_SECRET"] = SECRET
    try:
        exec(compile(code("flask", service), str(PAGE), "exec"), namespace)  # noqa: S102 (our own docs)
        client = namespace["app"].test_client()  # type: ignore[attr-defined]
        sent = client.post("/newsletter/send", json={"addresses": ["jane@example.com", "bob@example.com", "x"]})
        assert sent.get_json() == {"sent": 1, "held_back": 2}
        body, now = b'{"seq": 7, "type": "suppression", "address": "bob@example.com"}', str(int(time.time()))
        good = {"Mailfate-Timestamp": now, "Mailfate-Signature": signature(SECRET, now, body)}
        assert (
            client.post("/hooks/mailfate", data=body, headers=good, content_type="application/json").status_code == 204
        )
        bad = {**good, "Mailfate-Signature": signature("another secret", now, body)}
        assert (
            client.post("/hooks/mailfate", data=body, headers=bad, content_type="application/json").status_code == 401
        )
        old = str(int(time.time()) - 3600)
        stale = {"Mailfate-Timestamp": old, "Mailfate-Signature": signature(SECRET, old, body)}
        assert (
            client.post("/hooks/mailfate", data=body, headers=stale, content_type="application/json").status_code == 401
        )
    finally:
        namespace["client"].close()  # type: ignore[attr-defined]
        del os.environ["MAILFATE_WEBHOOK_SECRET"]


def test_django_snippet_compiles() -> None:
    compile(code("django"), str(PAGE), "exec")
