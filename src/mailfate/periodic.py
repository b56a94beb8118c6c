"""A task that runs every so often on a thread of its own, beside the server (or ``consume``).

Every process runs its own; the store makes the work safe to do from several at once. Processes
started together spread their runs over the interval, and a run that fails is logged and the next
one comes as planned: the task outlives any one bad run.
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod

from mailfate.errors import StorageError
from mailfate.logs import logger


class Periodic(ABC):
    #: What the logs call the task ("retention", "reputation watch"), and its thread's name.
    name: str
    thread_name: str

    def __init__(self, every: float, first_within: float) -> None:
        self.every = every
        self.first_within = first_within  # the first run comes at a random moment within this
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_once(self) -> object:
        """One run of the task."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._stop.wait(self.first_within * random.random())  # noqa: S311 (not for security)
        while not self._stop.is_set():
            try:
                self.run_once()
            except StorageError as exc:
                logger.warning(f"{self.name} cannot reach storage", extra={"fields": {"error": str(exc)}})
            except Exception:
                logger.exception(f"{self.name} run failed")
            self._stop.wait(self.every)
