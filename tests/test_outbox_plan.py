"""The webhook claim query has a plan that cannot turn quadratic, even before PostgreSQL has statistics."""

from __future__ import annotations

import pytest

from mailfate.store import open_store
from mailfate.store.outbox import _HEAD

from .conftest import postgres_schema


@pytest.mark.postgres
def test_the_claim_probes_the_index_per_candidate_on_a_fresh_database() -> None:
    import psycopg

    with postgres_schema() as url:
        open_store(url).close()  # the schema, and no ANALYZE since
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO webhook_outbox (url, seq, address, next_attempt_at) "
                "SELECT 'h', n, 'user' || (n % 2500) || '@example.com', '' FROM generate_series(1, 3000) n"
            )
            query = f"SELECT o.seq FROM webhook_outbox o WHERE {_HEAD} ORDER BY o.seq LIMIT 50".replace("?", "%s")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, ("h", "z", "z")))
            heads = [r[0] for r in conn.execute(query, ("h", "z", "z"))]
    assert "Anti Join" not in plan, plan
    assert "SubPlan" in plan, plan
    assert "webhook_outbox_pending" in plan, plan
    assert heads == list(range(1, 51))  # each the first pending change of its address
