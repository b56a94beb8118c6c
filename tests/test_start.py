"""Starting `mailfate serve`: every setting checked first, with one line naming a bad one; a port in use
is one line and exit 1, with one worker or several, and nothing claims to be serving before it is."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mailfate.errors import UsageError
from mailfate.settings import NUMBERS, Settings

from .support import Server, free_port

EXE = Path(sys.executable).with_name("mailfate")


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # Neither mailfate's settings nor make's: `make test` runs these, but the command is not run by make
    # (under make, a port in use says PORT=, as `make run PORT=...` takes it).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MAILFATE_", "MAKE"))}
    return subprocess.run([str(EXE), *args], env={**clean, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


BAD = [
    ("MAILFATE_SOFT_BOUNCE_WINDOW_DAYS", "1e10"),
    ("MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS", "900000000"),
    ("MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS", "inf"),
    ("MAILFATE_SOFT_BOUNCE_COUNT", "2.5"),
    ("MAILFATE_SOFT_BOUNCE_COUNT", "0"),
    ("MAILFATE_LOG_LEVEL", "verbose"),
    ("MAILFATE_WEBHOOK_TIMEOUT", "nan"),
    ("MAILFATE_WEBHOOK_TIMEOUT", "-1"),
    ("MAILFATE_WEBHOOK_RETRY_HOURS", "1e308"),
    ("MAILFATE_CERT_CACHE_SIZE", "99999999999999999999"),
    ("MAILFATE_CERT_CACHE_TTL", "ten"),
    ("MAILFATE_MAX_CONNECTIONS", "3"),
    ("MAILFATE_HEADER_TIMEOUT", "0"),
    ("MAILFATE_ALLOWED_HOSTS", "bad host"),
    ("MAILFATE_TOPIC_ARNS", "ses-events"),
    ("MAILFATE_CONFIRM", "yes"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    done = run(["serve", "--port", str(free_port()), "--db", f"sqlite:///{tmp_path / 'x.db'}"], {name: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0]
    assert "Traceback" not in done.stderr
    assert "serving" not in done.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was started


def test_a_bad_setting_stops_other_commands_too(tmp_path: Path) -> None:
    done = run(["stats", "--db", f"sqlite:///{tmp_path / 'x.db'}"], {"MAILFATE_SOFT_BOUNCE_WINDOW_DAYS": "1e10"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mailfate: error: MAILFATE_SOFT_BOUNCE_WINDOW_DAYS must be between 0.001 and 36500, not '1e10'"
    ]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"MAILFATE_WEBHOOK_URL": "https://", "MAILFATE_WEBHOOK_SECRET": "s" * 16}, "MAILFATE_WEBHOOK_URL"),
        ({"MAILFATE_WEBHOOK_URL": "https://h:99999/x", "MAILFATE_WEBHOOK_SECRET": "s" * 16}, "MAILFATE_WEBHOOK_URL"),
        ({"MAILFATE_WEBHOOK_BACKOFF": "100", "MAILFATE_WEBHOOK_MAX_BACKOFF": "10"}, "MAILFATE_WEBHOOK_MAX_BACKOFF"),
    ],
)
def test_settings_that_disagree_or_cannot_work(env: dict[str, str], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        Settings.from_env(env)


def test_a_malformed_webhook_url_never_shows_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        Settings.from_env({"MAILFATE_WEBHOOK_URL": "https://u:se/cret@h:99999/x", "MAILFATE_WEBHOOK_SECRET": "s" * 16})
    assert "cret" not in str(caught.value)


def test_every_number_at_its_bounds_is_accepted() -> None:
    for name, spec in NUMBERS.items():
        for value in (spec.low, spec.high):
            text = str(int(value)) if spec.whole else repr(value)
            Settings.from_env({name: text, **({"MAILFATE_WEBHOOK_MAX_BACKOFF": "604800"} if "BACKOFF" in name else {})})


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.policy.soft_bounce_count == 3
    assert settings.header_timeout == 10
    assert settings.allowed_hosts is None  # serve sets its own default
    assert Settings.from_env({"MAILFATE_ALLOWED_HOSTS": "A.example, b:8025"}).allowed_hosts == {"a.example", "b:8025"}
    assert Settings.from_env({"MAILFATE_ALLOWED_HOSTS": "x, *"}).allowed_hosts is None


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path, workers: int) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run(["serve", "--port", str(port), "--workers", str(workers), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
                   {})  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"mailfate: error: cannot listen on 127.0.0.1:{port}: the port is in use (another --port, or stop what "
        f"uses {port})"
    ]
    assert done.stdout == ""


def test_a_metrics_port_in_use_names_its_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        queue = "https://sqs.us-east-1.amazonaws.com/123456789012/mailfate"
        done = run(["consume", "sqs", queue, "--metrics-port", str(port), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
                   {})  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"mailfate: error: cannot listen on 127.0.0.1:{port}: the port is in use (another --metrics-port, or stop "
        f"what uses {port})"
    ]


def test_an_address_that_is_not_here(tmp_path: Path) -> None:
    done = run(["serve", "--host", "192.0.2.1", "--db", f"sqlite:///{tmp_path / 'x.db'}"], {"MAILFATE_API_TOKEN": "t"})
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("mailfate: error: cannot listen on 192.0.2.1:8025: ")


@pytest.mark.server
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_is_a_graceful_stop_logged_and_exit_0(servers: Callable[..., Server], workers: int) -> None:
    """A service manager's stop is not a failure: `mailfate.stopped` is logged and the status is 0 (it was
    143, with nothing logged)."""
    server = servers(workers=workers)
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGTERM)  # the supervisor alone: it stops its workers itself
    assert server.process.wait(timeout=30) == 0
    stopped = [line for line in server.logs() if line["event"] == "mailfate.stopped"]
    assert len(stopped) == 1
    if workers == 1:
        assert stopped[0]["signal"] == "SIGTERM"


@pytest.mark.server
def test_a_short_api_token_is_warned_about_not_refused(servers: Callable[..., Server]) -> None:
    weak = servers({"MAILFATE_API_TOKEN": "short"})
    (warning,) = [line for line in weak.logs() if line["event"] == "mailfate.weak_api_token"]
    assert warning["length"] == 5
    assert "16 characters or more" in warning["advice"]
    before = len(weak.logs())  # the servers of one test share their log file
    strong = servers({"MAILFATE_API_TOKEN": "s" * 16})
    assert [line["event"] for line in strong.logs()[before:] if line["event"].startswith("mailfate.")] == [
        "mailfate.ready"
    ]
