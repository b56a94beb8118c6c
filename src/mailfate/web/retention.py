"""The retention task of ``serve``: a thread that prunes what is older than the retention settings every
``MAILFATE_RETENTION_INTERVAL`` seconds (docs/privacy.md).

Every server process runs one; the store lets one process prune at a time (a PostgreSQL advisory lock;
on SQLite each batch holds the writer lock), and a process that finds another at it skips its turn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailfate.logs import logger
from mailfate.periodic import Periodic
from mailfate.store import Store
from mailfate.store.retention import Pruned, Retention


class RetentionTask(Periodic):
    name = "retention"
    thread_name = "mailfate-retention"

    def __init__(self, store: Store, retention: Retention) -> None:
        super().__init__(retention.every, first_within=min(5.0, retention.every))  # the first comes soon
        self.store = store
        self.retention = retention

    def start(self) -> None:
        if self.retention.active:
            super().start()

    def run_once(self) -> Pruned | None:
        return self.prune()

    def prune(self) -> Pruned | None:
        """One run: what it pruned, or None when another process was pruning."""
        pruned = self.store.apply_retention(self.retention.cutoffs(datetime.now(UTC)))
        if pruned is not None and any(pruned.to_json().values()):
            logger.info("retention.pruned", extra={"fields": pruned.to_json()})
        return pruned
