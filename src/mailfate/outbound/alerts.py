"""The reputation watch: a thread beside the server (or ``consume``) that evaluates the reputation levels
every ``MAILFATE_ALERT_INTERVAL`` seconds and announces in the feed each that moved
(:meth:`mailfate.store.Store.evaluate_reputation`). The webhook sender then delivers those changes:
signed to every webhook URL, and as a chat message to every alert URL.

Every process runs one; the store makes sure a change of level is announced once, however many do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailfate.core.alerts import AlertPolicy
from mailfate.logs import logger
from mailfate.periodic import Periodic
from mailfate.store import Store


class ReputationWatch(Periodic):
    name = "reputation watch"
    thread_name = "mailfate-reputation"

    def __init__(self, store: Store, policy: AlertPolicy, every: float) -> None:
        super().__init__(every, first_within=every)
        self.store = store
        self.policy = policy

    def run_once(self) -> int:
        return self.evaluate()

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
