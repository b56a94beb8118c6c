"""The retention task of ``serve``: a thread that prunes what is older than the retention settings every
``MAILFATE_RETENTION_INTERVAL`` seconds (docs/privacy.md).

Every server process runs one; the store lets one process prune at a time (a PostgreSQL advisory lock;
on SQLite each batch holds the writer lock), and a process that finds another at it skips its turn.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from mailfate.errors import StorageError
from mailfate.logs import logger
from mailfate.store import Store
from mailfate.store.retention import Pruned, Retention


class RetentionTask:
    def __init__(self, store: Store, retention: Retention) -> None:
        self.store = store
        self.retention = retention
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.retention.active:
            return
        self._thread = threading.Thread(target=self._run, name="mailfate-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def prune(self) -> Pruned | None:
        """One run: what it pruned, or None when another process was pruning."""
        pruned = self.store.apply_retention(self.retention.cutoffs(datetime.now(UTC)))
        if pruned is not None and any(pruned.to_json().values()):
            logger.info("retention.pruned", extra={"fields": pruned.to_json()})
        return pruned

    def _run(self) -> None:
        # Processes started together spread their runs over the interval; the first comes soon.
        self._stop.wait(min(5.0, self.retention.every) * random.random())  # noqa: S311 (not for security)
        while not self._stop.is_set():
            try:
                self.prune()
            except StorageError as exc:
                logger.warning("retention cannot reach storage", extra={"fields": {"error": str(exc)}})
            except Exception:  # the task must outlive any one bad run
                logger.exception("retention run failed")
            self._stop.wait(self.retention.every)
