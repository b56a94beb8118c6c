"""What a monitoring scrape reads from the database (``GET /metrics``, docs/operations.md): the figures
whose truth is the database, whichever process wrote them. Each is one or two index reads, and none
writes: a scrape never takes the writer lock.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Backlog:
    """One webhook URL's deliveries still to make."""

    url: str
    pending: int  # in its outbox, or in the feed after its cursor
    failed: int  # given up on
    oldest_at: str | None  # when the oldest pending change was made


@dataclass(frozen=True, slots=True)
class Readings:
    quarantine_bytes: int
    quarantine_rows: int
    feed_head: int  # the sequence number the latest change has, or will have once numbered
    backlogs: list[Backlog]


class GaugeQueries:
    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def quarantine_usage(self) -> tuple[int, int]: ...

    def readings(self, urls: Sequence[str]) -> Readings:
        used, rows = self.quarantine_usage()
        # Changes are numbered when someone reads the feed; the head counts those not yet numbered too,
        # so that it moves with the facts even where nobody reads (a read must not number them: no write).
        ((last, unnumbered),) = self._read(  # one statement: one snapshot, whoever numbers them meanwhile
            "SELECT (SELECT last FROM change_numbers), (SELECT count(*) FROM changes WHERE seq IS NULL)"
        )
        head = int(last) + int(unnumbered)
        return Readings(used, rows, head, [self._backlog(url, int(last), head) for url in urls])

    def _backlog(self, url: str, last: int, head: int) -> Backlog:
        cursors = self._read("SELECT seq FROM webhook_cursors WHERE url = ?", (url,))
        cursor = int(cursors[0][0]) if cursors else head
        counts = dict(self._read("SELECT state, count(*) FROM webhook_outbox WHERE url = ? GROUP BY state", (url,)))
        # The oldest pending change: the first in the outbox, else the first the sender has not copied yet
        # (numbered, else the first not yet numbered).
        ((first,),) = self._read("SELECT min(seq) FROM webhook_outbox WHERE url = ? AND state = 'pending'", (url,))
        oldest: list[tuple[Any, ...]] = []
        if first is None and cursor < last:
            ((first,),) = self._read("SELECT min(seq) FROM changes WHERE seq > ?", (cursor,))
        if first is not None:
            oldest = self._read("SELECT at FROM changes WHERE seq = ?", (first,))
        elif cursor < head:
            oldest = self._read("SELECT at FROM changes WHERE seq IS NULL ORDER BY id LIMIT 1")
        return Backlog(
            url,
            int(counts.get("pending", 0)) + max(0, head - cursor),
            int(counts.get("failed", 0)),
            str(oldest[0][0]) if oldest else None,
        )
