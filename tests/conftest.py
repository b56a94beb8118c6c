from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailfate.ingest import ingest_bytes
from mailfate.store import Store, open_store
from mailfate.views import IngestResult

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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'test.db'}")
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
