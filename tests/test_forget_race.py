"""An erasure while other recipients of the address's messages are being stored (PostgreSQL, several
writers): every notification acknowledged meanwhile stays stored and its message readable."""

from __future__ import annotations

import threading
import time

import pytest

from mailfate.core.suppression import Policy
from mailfate.store import open_store
from mailfate.testing import event

from .conftest import ingest, postgres_schema

pytestmark = pytest.mark.postgres

VICTIM = "victim@example.com"
KEY = b"k" * 32


def test_forget_beside_concurrent_deliveries_loses_nothing_acknowledged() -> None:
    with postgres_schema() as url:
        writer = open_store(url, policy=Policy(erasure_key=KEY))
        eraser = open_store(url, policy=Policy(erasure_key=KEY))
        done = threading.Event()
        erasures: list[int] = []

        def erase() -> None:
            deadline = time.monotonic() + 60
            while not done.is_set() and time.monotonic() < deadline:
                eraser.forget(VICTIM)
                erasures.append(1)

        try:
            thread = threading.Thread(target=erase)
            thread.start()
            for i in range(60):
                destination = [VICTIM, f"o{i}@example.com"]
                for address in destination:
                    record = event("Delivery", f"m-{i}", [address], "2026-11-20T10:00:05.000Z", destination=destination)
                    assert ingest(writer, [record]).events == 1
            done.set()
            thread.join(timeout=60)
            assert not thread.is_alive()
            assert len(erasures) > 1  # the erasures really ran beside the writes
            for i in range(60):
                view = writer.message(f"m-{i}")
                assert view is not None, f"m-{i}: acknowledged, then lost"
                fates = {f.address: f.status.value for f in view.recipients}
                assert fates.get(f"o{i}@example.com") == "delivered", (i, fates)
        finally:
            done.set()
            writer.close()
            eraser.close()
