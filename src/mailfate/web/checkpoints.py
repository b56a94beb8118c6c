"""The SQLite checkpoints of ``serve``: the committed log copied into the file every half second by a
thread of its own, never by a commit (:meth:`mailfate.store.sqlite.SQLiteStore.checkpoint_aside`).
PostgreSQL checkpoints by itself."""

from __future__ import annotations

from mailfate.periodic import Periodic
from mailfate.store import Store
from mailfate.store.sqlite import SQLiteStore

#: Seconds between checkpoints: under load the log grows by a few megabytes in that time.
EVERY = 0.5


class Checkpoints(Periodic):
    name = "checkpoint"
    thread_name = "mailfate-checkpoint"

    def __init__(self, store: Store) -> None:
        super().__init__(EVERY, first_within=EVERY)
        self.sqlite = store if isinstance(store, SQLiteStore) else None  # PostgreSQL needs none of this

    def start(self) -> None:
        if self.sqlite is not None:
            self.sqlite.checkpoint_aside()
            super().start()

    def run_once(self) -> None:
        assert self.sqlite is not None  # started only for SQLite
        self.sqlite.checkpoint()
