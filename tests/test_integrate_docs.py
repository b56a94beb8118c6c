"""docs/integrate.md runs as written: each example against a real `mailfate serve` (Flask comes with
moto's server, a test dependency already; Django is not installed, so its snippet is compiled). The
check examples run on the demo data that `make run` loads, and print what the page says they print
(times aside: the demo is dated when it is loaded)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
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
API_PAGE = PAGE.with_name("api.md")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TOKEN = "docs-token-5d2"
SECRET = "docs-webhook-secret"


def examples() -> dict[str, str]:
    found = re.findall(r"<!-- example: ([a-z-]+) -->\n```python\n(.*?)```", PAGE.read_text(), re.S)
    return dict(found)


def outputs(page: Path = PAGE) -> dict[str, str]:
    """What the page says each example prints, its times replaced by TIME."""
    found = re.findall(r"<!-- output: ([a-z-]+) -->\n```[a-z]*\n(.*?)```", page.read_text(), re.S)
    return {name: TIME.sub("TIME", text) for name, text in found}


def shell(name: str) -> str:
    found = re.search(rf"<!-- example: {name} -->\n```sh\n(.*?)```", PAGE.read_text(), re.S)
    assert found
    return found.group(1)


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    """What `make run` serves: the built-in sample, loaded by `mailfate demo --db`."""
    from mailfate.cli.demo import run_demo

    url = f"sqlite:///{tmp_path / 'mailfate.db'}"
    with contextlib.redirect_stdout(io.StringIO()):
        assert run_demo(db=url) == 0
    return url


@pytest.fixture
def demo_service(servers: Callable[..., Server], demo_db: str, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv("MAILFATE_API_TOKEN", TOKEN)
    return servers({"MAILFATE_API_TOKEN": TOKEN}, db=demo_db)


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


def test_every_output_shown_is_checked() -> None:
    assert set(outputs()) == {"library-check", "client-check", "curl-check", "cli-check"}
    assert set(outputs(API_PAGE)) == {"api-check"}


def test_library_check(demo_db: str) -> None:
    printed = run(code("library-check", db=demo_db))
    assert TIME.sub("TIME", "\n".join(printed) + "\n") == outputs()["library-check"]


def test_client_check(demo_service: Server) -> None:
    printed = run(code("client-check", demo_service))
    assert "\n".join(printed) + "\n" == outputs()["client-check"]


def _post_check(server: Server, addresses: list[str]) -> object:
    answer = request(server.port, "POST", "/api/check", json.dumps(addresses).encode(),
                     {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})  # fmt: skip
    assert answer.status == 200
    return json.loads(TIME.sub("TIME", answer.body.decode()))


def test_curl_check(demo_service: Server) -> None:
    sent = re.search(r"-d '(.*)'", shell("curl-check"))
    assert sent
    assert _post_check(demo_service, json.loads(sent.group(1))) == json.loads(outputs()["curl-check"])


def test_the_api_page_check(demo_service: Server) -> None:
    sent = re.search(r"`POST /api/check` with\s+`(\[.*?\])`", API_PAGE.read_text())
    assert sent
    assert _post_check(demo_service, json.loads(sent.group(1))) == json.loads(outputs(API_PAGE)["api-check"])


def test_cli_check(demo_db: str) -> None:
    command, fallback = shell("cli-check").strip().split(" || ")
    assert fallback == 'echo "some may not be mailed"'
    exe = Path(sys.executable).with_name("mailfate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    done = subprocess.run([str(exe), *command.split()[1:], "--db", demo_db], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip
    printed = done.stdout + ("some may not be mailed\n" if done.returncode else "")
    assert done.returncode == 1
    assert TIME.sub("TIME", printed) == outputs()["cli-check"]


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


def head(server: Server) -> int:
    answer = request(server.port, "GET", "/api/changes?limit=1000", headers={"Authorization": f"Bearer {TOKEN}"})
    return max(change["seq"] for change in answer.json())


def cursor_reaches(path: Path, seq: int, seconds: float = 20) -> None:
    """Wait until the example has saved ``seq``: it prints a change, then saves it. The file is replaced
    whole, so every read here sees a number."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and int(path.read_text()) == seq:
            return
        time.sleep(0.05)
    raise AssertionError(f"cursor never reached {seq}: {path.read_text() if path.exists() else 'no file'}")


def test_follow_resumes_after_a_restart(service: Server, tmp_path: Path) -> None:
    text = code("follow", service).replace("client.follow(after=after)", "client.follow(after=after, poll=0.1)")
    assert text != code("follow", service)
    env = {"MAILFATE_API_TOKEN": TOKEN}
    cursor = tmp_path / "mailfate.cursor"
    with example_process(text, tmp_path, env) as process:
        first = read_lines(process, 3)
        cursor_reaches(cursor, head(service))
    assert sorted(first) == [
        "fate m-1 jane@example.com delivered",
        "fate m-2 bob@example.com bounced",
        "suppression bob@example.com bounce",
    ]
    assert request(service.port, "PUT", "/api/suppressions/x%40example.com", b"",
                   {"Authorization": f"Bearer {TOKEN}"}).status == 200  # fmt: skip
    with example_process(text, tmp_path, env) as process:
        assert read_lines(process, 1) == ["suppression x@example.com manual"]  # nothing again, nothing missed
        cursor_reaches(cursor, head(service))
        process.send_signal(signal.SIGINT)  # Ctrl-C: it says where it stopped, and no traceback
        assert read_lines(process, 1) == [f"stopped after {head(service)}"]
        assert process.wait(timeout=20) == 0
    assert list(tmp_path.glob("*.partial")) == []
    assert "Traceback" not in (tmp_path / "example.log").read_text()


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
