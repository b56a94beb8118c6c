from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailfate.ingest import ingest_bytes
from mailfate.store import Store, open_store
from mailfate.views import IngestResult

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
