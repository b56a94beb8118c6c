"""The reputation watch: a thread beside the server (or ``consume``) that evaluates the reputation levels
every ``MAILFATE_ALERT_INTERVAL`` seconds and announces in the feed each that moved
(:meth:`mailfate.store.Store.evaluate_reputation`). The webhook sender then delivers those changes:
signed to every webhook URL, and as a chat message to every alert URL.

Every process runs one; the store makes sure a change of level is announced once, however many do.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from mailfate.core.alerts import AlertPolicy
from mailfate.errors import StorageError
from mailfate.logs import logger
from mailfate.store import Store


class ReputationWatch:
    def __init__(self, store: Store, policy: AlertPolicy, every: float) -> None:
        self.store = store
        self.policy = policy
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mailfate-reputation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def evaluate(self) -> int:
        """One evaluation: how many levels moved (and were announced by this process)."""
        found = self.store.evaluate_reputation(self.policy, datetime.now(UTC))
        for t in found:
            logger.warning(
                "reputation.level_changed",
                extra={"fields": {"metric": t.metric, "configuration_set": t.configuration_set, "level": t.level,
                                  "previous_level": t.previous, "rate": t.figures[f"{t.metric}_rate"]}},
            )  # fmt: skip
        return len(found)

    def _run(self) -> None:
        # Processes started together spread their evaluations over the interval.
        self._stop.wait(self.every * random.random())  # noqa: S311 (not for security)
        while not self._stop.is_set():
            try:
                self.evaluate()
            except StorageError as exc:
                logger.warning("reputation watch cannot reach storage", extra={"fields": {"error": str(exc)}})
            except Exception:  # the watch must outlive any one bad round
                logger.exception("reputation watch round failed")
            self._stop.wait(self.every)
