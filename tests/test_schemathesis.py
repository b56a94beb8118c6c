"""schemathesis against the live /openapi.json of a real `mailfate serve`, on both backends, with and
without a token: generated requests for every operation, and every answer checked against the
document. No 500, no undocumented status, no body that its schema does not describe.

Bounded: EXAMPLES generated requests per operation and run, so a few hundred per run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import jsonl
from .support import Server

pytestmark = pytest.mark.server
Start = Callable[..., Server]
TOKEN = "schemathesis-token-0123"
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def seed(url: str) -> None:
    store = open_store(url)
    try:
        to = ["a@example.com", "b@example.com"]
        ingest_bytes(store, jsonl([
            event("Send", "m-1", to, "2026-11-20T10:00:00Z"),
            event("Delivery", "m-1", to[:1], "2026-11-20T10:00:02Z"),
            bounce_event("m-1", to[1:], "2026-11-20T10:00:03Z", "Permanent", "General"),
        ]))  # fmt: skip
    finally:
        store.close()


@pytest.mark.parametrize("token", [None, TOKEN], ids=["open", "token"])
def test_every_operation_answers_as_documented(servers: Start, store_url: str, token: str | None) -> None:
    seed(store_url)
    server = servers(env={"MAILFATE_API_TOKEN": token} if token else {}, db=store_url)
    base = f"http://127.0.0.1:{server.port}"
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=base, headers=headers, timeout=20)
            case.validate_response(response, checks=CHECKS, headers=headers)

        check()
