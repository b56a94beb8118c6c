"""The change feed: what an application is told when a fate or a suppression changes. Pure.

A change is written in the same transaction as the fate or suppression it reports, numbered by the
database (``seq``, the change's id), with what it reports as it was then: every delivery of a change,
however late and however often, carries the same body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mailfate.core.model import Status
from mailfate.core.suppression import Suppression
from mailfate.core.views import Fate

#: The event kinds that can make a recipient's status what it is, best first: the cause of a change
#: is the batch's newest event of the best such kind there is, else simply its newest event.
CAUSES: dict[Status, tuple[str, ...]] = {
    Status.COMPLAINED: ("Complaint",),
    Status.BOUNCED: ("Bounce",),
    Status.REJECTED: ("Reject",),
    Status.FAILED: ("RenderingFailure",),
    Status.SOFT_BOUNCED: ("Bounce",),
    Status.DELIVERED: ("Delivery", "Open", "Click", "Bounce"),
    Status.DELAYED: ("DeliveryDelay",),
    Status.SENT: ("Send",),
}

# Positions in an event row (mailfate.store.sql.EVENT_COLUMNS).
_KIND, _TIMESTAMP = 5, 6


@dataclass(frozen=True, slots=True)
class Change:
    seq: int  # the change's id
    payload: dict[str, Any]  # fate_change() or suppression_change()

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.payload}


def cause(events: Sequence[Sequence[Any]], status: str) -> str | None:
    """The key of the event, among one recipient's event rows of a batch, that made its status ``status``."""
    if not events:
        return None
    wanted = CAUSES.get(Status(status), ())

    def rank(row: Sequence[Any]) -> int:
        return wanted.index(row[_KIND]) if row[_KIND] in wanted else len(wanted)

    best = max(events, key=lambda e: (-rank(e), e[_TIMESTAMP]))  # the best kind, then the newest
    return str(best[1])


def fate_change(fate: Fate, previous: str | None, event: dict[str, Any] | None, at: str) -> dict[str, Any]:
    return {
        "type": "fate",
        "at": at,
        "address": fate.address,
        "message_id": fate.message_id,
        "status": fate.status.value,
        "previous_status": previous,
        "fate": fate.to_json(),
        "event": event,
    }


def suppression_change(
    address: str, current: Suppression | None, previous: dict[str, Any] | None, at: str
) -> dict[str, Any]:
    return {
        "type": "suppression",
        "at": at,
        "address": address,
        "suppressed": current is not None,
        "suppression": current.to_json() if current else None,
        "previous_suppression": previous,
    }


def group_events(events: Iterable[Sequence[Any]], pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """The batch's event rows of each (message, recipient) pair in ``pairs``."""
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in events:
        key = (row[0], row[4])
        if key in pairs:
            grouped.setdefault(key, []).append(row)
    return grouped
