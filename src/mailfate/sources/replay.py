"""Replaying the quarantine: each kept body goes again through the one ingest path, with today's code.

What now parses becomes facts and leaves the quarantine in the same transaction; the rest stays where
it is, with the reason it was kept for (the replay says what today's code makes of it). A body that
anyone could have posted to ``/sns`` (refused before its signature was checked) becomes facts only
when SNS signed it for an allowed topic: a replay never turns junk into facts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailfate.core.audit import Actor, AuditAction
from mailfate.core.model import Record, Rejected
from mailfate.core.timestamps import parse_timestamp
from mailfate.errors import RecordConflict, RecordRace, SignatureInvalid, UnstorableData
from mailfate.sns.envelope import sns_message
from mailfate.sns.verify import Verifier
from mailfate.sources.ingest import understand
from mailfate.sources.records import Decoded, decode_piece
from mailfate.store.base import Store

#: What a replay did with one record.
STORED, DUPLICATE, KEPT, MISSING = "stored", "duplicate", "kept", "missing"
#: Ids read per page when every record is replayed.
_PAGE = 500


@dataclass(frozen=True, slots=True)
class Replayed:
    """One record replayed: ``outcome`` is stored (now facts), duplicate (its facts were there already:
    it left the quarantine too), kept (still not understood; ``reason`` says why, today), or missing."""

    id: int
    outcome: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "outcome": self.outcome, "reason": self.reason}


@dataclass
class ReplayResult:
    items: list[Replayed] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    def to_json(self) -> dict[str, Any]:
        counts = {outcome: self.count(outcome) for outcome in (STORED, DUPLICATE, KEPT, MISSING)}
        return {**counts, "items": [item.to_json() for item in self.items]}


@dataclass(frozen=True)
class RequireSignature:
    """The check a body that anyone could have sent must pass: an SNS envelope with a valid signature
    for an allowed topic, at its own signed time (a certificate may have been rotated since)."""

    verifier: Verifier

    def __call__(self, record: Record) -> None:
        if record.sns is None:
            raise SignatureInvalid("not signed by SNS, and it came from anyone: it stays in quarantine")
        message = sns_message(record.sns)
        self.verifier.verify(message, at=parse_timestamp(message.timestamp))


def replay_quarantine(
    store: Store, ids: Sequence[int] | None, verifier: Verifier, by: Actor | None = None
) -> ReplayResult:
    """Replay the quarantined records ``ids`` (every one when None), in order. Each one is recorded in the
    audit trail as done ``by`` this actor, with its outcome."""
    result = ReplayResult()
    for item_id in _every(store) if ids is None else ids:
        result.items.append(replay_one(store, item_id, verifier, by))
    return result


def replay_one(store: Store, item_id: int, verifier: Verifier, by: Actor | None = None) -> Replayed:
    """Replay one record. A replay asked for by hand (``by``) is in the audit trail whatever its outcome:
    a record that leaves the quarantine in the transaction that releases it, one kept or missing here."""
    replayed = _replay(store, item_id, verifier, by)
    if by is not None and replayed.outcome in (KEPT, MISSING):
        target = f"quarantine:{item_id}"
        store.record_audit(by.entry(AuditAction.QUARANTINE_REPLAY, target, {"outcome": replayed.outcome}))
    return replayed


def _replay(store: Store, item_id: int, verifier: Verifier, by: Actor | None) -> Replayed:
    item = store.quarantined_item(item_id)
    if item is None:
        return Replayed(item_id, MISSING, "not in the quarantine")
    body = item.body or b""
    if item.size > len(body):
        return Replayed(item_id, KEPT, f"only its first {len(body):,} bytes are kept: ingest its file again")
    decoded = decode_piece((0, body), "quarantine")
    if isinstance(decoded, Decoded):
        decoded = dataclasses.replace(decoded, location=item.location or f"quarantine:{item_id}")
    understood = understand(decoded, item.transport, None if item.authenticated else RequireSignature(verifier))
    if isinstance(understood, Rejected):
        return Replayed(item_id, KEPT, understood.reason)
    try:
        outcome = _release(store, item_id, understood, item.received_at, by)
    except RecordConflict as exc:
        return Replayed(item_id, KEPT, next(iter(exc.items.values()), str(exc)))
    except UnstorableData as exc:
        return Replayed(item_id, KEPT, f"cannot be stored: {exc}"[:500])
    if outcome is None:  # replayed or dismissed by someone else meanwhile
        return Replayed(item_id, MISSING, "no longer in the quarantine")
    return Replayed(item_id, outcome)


def _release(store: Store, item_id: int, record: Record, received_at: str, by: Actor | None) -> str | None:
    """Release one record; written again when a concurrent writer took its key meanwhile (it is then
    seen as stored: a duplicate, or a conflict that stays). A third race in a row is a storage error."""
    for _ in range(2):
        try:
            return store.release_quarantined(item_id, record, received_at, by)
        except RecordRace:
            continue
    return store.release_quarantined(item_id, record, received_at, by)


def _every(store: Store) -> Iterator[int]:
    """Every id in the quarantine when the replay starts, oldest first: what arrives meanwhile waits."""
    newest = store.quarantined(limit=1)
    if not newest:
        return
    after, last = 0, newest[0].id
    while after < last:
        page = [i for i in store.quarantine_ids(after, _PAGE) if i <= last]
        if not page:
            return
        yield from page
        after = page[-1]
