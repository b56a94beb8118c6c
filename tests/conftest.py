from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailfate.core.views import IngestResult
from mailfate.sources.ingest import ingest_bytes
from mailfate.store import Store, open_store

from .support import TOPIC, Server, Signer

FIXTURES = Path(__file__).parent / "fixtures"
AWS_SAMPLES = FIXTURES / "aws-samples"
GENUINE = FIXTURES / "sns-genuine"


def load_sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((AWS_SAMPLES / f"{name}.json").read_text())
    return data


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def ingest(store: Store, records: list[dict[str, Any]]) -> IngestResult:
    return ingest_bytes(store, jsonl(records))


def stored(db: str, records: list[dict[str, Any]]) -> str:
    """The database at ``db`` with ``records`` in it (a server's to start on): ``db``."""
    store = open_store(db)
    try:
        ingest(store, records)
    finally:
        store.close()
    return db


POSTGRES_URL = os.environ.get("MAILFATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: not here
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards; yields a URL that uses it."""
    import psycopg

    reason = _postgres_available()
    if reason is not None:
        if os.environ.get("MAILFATE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (MAILFATE_REQUIRE_POSTGRES=1: these tests must run)")
        pytest.skip(reason)
    name = f"mailfate_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on both backends: an SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(tmp_path / "certs")


@pytest.fixture
def servers(tmp_path: Path, signer: Signer) -> Iterator[Callable[..., Server]]:
    """Start real `mailfate serve` processes; every one is stopped by its PID afterwards."""
    started: list[Server] = []

    def start(env: dict[str, str] | None = None, db: str | None = None, workers: int = 1, certs: bool = True) -> Server:
        settings = {"MAILFATE_TOPIC_ARNS": TOPIC, "MAILFATE_CONFIRM": "off"}
        if certs:
            settings["MAILFATE_SNS_CERTS_DIR"] = str(signer.folder)
        settings.update(env or {})
        server = Server(db or f"sqlite:///{tmp_path / 'server.db'}", settings, tmp_path / "server.log", workers)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1, standing in for SNS, SQS and SES; stopped by its PID."""
    import subprocess
    import sys
    import time

    from .support import free_port, request

    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                request(port, "GET", "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


_REQUIRED = {"postgres": "MAILFATE_REQUIRE_POSTGRES", "browser": "MAILFATE_REQUIRE_BROWSER"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can tell that the test failed; and where
    CI requires PostgreSQL or the browser, a skipped test of theirs is a failure, whatever skipped it."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        for marker, variable in _REQUIRED.items():
            if item.get_closest_marker(marker) and os.environ.get(variable) == "1":
                report.outcome = "failed"
                report.longrepr = f"skipped, but {variable}=1 requires it to run: {report.longrepr}"
    setattr(item, f"report_{report.when}", report)
    return report
