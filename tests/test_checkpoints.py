"""SQLite checkpoints beside the writes: the server's commits never copy the log into the file (which
held every process's writer lock for 100 ms and more); a thread of its own does, every half second."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mailfate.sources.parse import parse_record
from mailfate.store import open_store
from mailfate.store.sqlite import SQLiteStore
from mailfate.testing import event, sns_envelope

from .support import TOPIC, Server, Signer, post_sns

NOW = "2026-11-20T10:01:00.000Z"


def test_a_store_that_checkpoints_aside_leaves_its_log_to_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "aside.db"
    store = open_store(f"sqlite:///{path}")
    assert isinstance(store, SQLiteStore)
    try:
        store.checkpoint_aside()
        size = path.stat().st_size
        for n in range(300):  # about 14,000 log frames: past the 10,000 that made a commit checkpoint
            value = event("Delivery", f"aside-{n}", [f"a{n}@example.com"], "2026-11-20T10:00:00.000Z")
            store.ingest([parse_record(value, json.dumps(value))], NOW)
        assert path.stat().st_size == size  # no commit copied anything into the file
        store.checkpoint()
        with sqlite3.connect(path) as conn:
            busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, logged - copied) == (0, 0)  # the checkpoint above had copied all of it
        assert path.stat().st_size > size
    finally:
        store.close()


@pytest.mark.server
def test_the_server_copies_its_log_into_the_file_beside_the_writes(
    servers: Callable[..., Server], signer: Signer, tmp_path: Path
) -> None:
    server = servers()
    path = tmp_path / "server.db"
    size = path.stat().st_size
    for n in range(20):  # a few hundred log frames: far fewer than a commit would ever checkpoint at
        record = event("Delivery", f"cp-{n}", [f"c{n}@example.com"], "2026-11-20T10:00:00.000Z")
        assert post_sns(server.port, signer.sign(sns_envelope(record, topic_arn=TOPIC))).status == 200
    deadline = time.monotonic() + 10
    while path.stat().st_size == size and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.stat().st_size > size  # copied while the server runs, by its checkpoint thread
