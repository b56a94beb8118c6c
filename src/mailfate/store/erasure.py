"""Erasing an address (``mailfate forget``, ``DELETE /api/recipients/{address}``; docs/privacy.md).

Everything of the address goes: its events and fates, its search terms, the changes and webhook
deliveries about it, its suppressions added or lifted by hand, the quarantined records that name it.
What it shares with other recipients stays for them with the address replaced by ``[erased]``: the raw
records and the mail object (destination, headers, subject) of its messages, and any text of their
events, fates and changes that names it; so do the free texts about other addresses that name it (a
suppression's reason typed by hand, in the list and in the change feed). A message left with no
recipient goes whole. The figures per message and per day lose its counts, as if it had never been
sent to.

If the address was suppressed, the suppression in force is kept under the address's keyed hash
(:mod:`.kept`), so that a check, a lookup or a later event still finds it suppressed, without the
address being stored.

Finding the records that name it reads every record and quarantined body once (the database compares
the records), before the write transaction, which then rereads only those: ingestion waits only for the
rewriting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from mailfate.core.audit import AuditEntry
from mailfate.core.erasure import Erasure, address_key, mentions, pattern, redact
from mailfate.core.jsonutil import dumps, loads
from mailfate.core.suppression import Policy, Suppression
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError
from mailfate.store import audit as audit_trail
from mailfate.store import insights, kept, sql, terms
from mailfate.store.tx import Run, Transaction, chunks, marks

#: Rows read per step of a scan: memory stays flat however large the table.
SCAN = 1000
#: Text columns of a fate that may quote the address (a diagnostic code, a feedback report).
_FATE_TEXTS = (
    *("bounce", "complaint_info", "delay", "bounce_reason", "complaint_reason"),
    *("bounce_rank", "complaint_rank", "delay_rank"),  # a rank holds its text too (the merge compares it)
)
#: Free text about OTHER addresses or messages that may name the address (a reason typed by hand, a
#: diagnostic quoted in a change): (table, key column, text columns), found by a scan of the table.
_FREE_TEXTS = (
    ("changes", "id", ("fate", "payload")),
    ("suppression_state", "address", ("payload",)),
    ("suppression_actions", "id", ("reason",)),
)
_MESSAGE_TEXTS = ("source", "from_addresses", "subject", "destination", "tags", "headers")


class ErasureQueries:
    dialect: sql.Dialect
    policy: Policy

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    @abstractmethod
    def _refresh_counts(self, tx: Transaction, message_ids: list[str] | None) -> None: ...

    @contextlib.contextmanager
    def _erasing(self) -> Iterator[Transaction]:
        """A write transaction whose deleted and overwritten bytes leave no copy (a backend may do more)."""
        with self._transaction() as tx:
            yield tx

    def forget(self, address: str, now: datetime | None = None, audit: AuditEntry | None = None) -> Erasure:
        """Erase ``address`` (normalized) from the database; what was removed. Idempotent. ``audit``, the
        entry that says who did it, is recorded with the address's keyed hash as its target."""
        key = self.policy.erasure_key
        if key is None:
            raise UsageError("erasing an address needs MAILFATE_ERASURE_KEY (the secret its suppression is kept under)")
        kept.check_key(self._read, key)
        moment = now or datetime.now(UTC)
        found = pattern(address)
        # The database finds the records that name it as written (the address's own messages give the
        # rest, below, in whatever escaped form); the quarantine's bodies are bytes, read here.
        like = "%" + address.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        records = [r[0] for r in self._read(
            "SELECT id FROM records WHERE lower(body) LIKE ? ESCAPE '!' OR lower(note) LIKE ? ESCAPE '!'", (like, like)
        )]  # fmt: skip
        quarantined = _scan(
            self._read, "SELECT id, body, reason, location FROM quarantine WHERE id > ? ORDER BY id LIMIT ?", found
        )
        erasure = Erasure(address)
        with self._erasing() as tx:
            self._erase(tx, address, key, found, records, quarantined, moment, erasure)
            hashed = address_key(key, address)
            if audit is not None:  # recorded first: the rewriting below also covers its reason
                audit_trail.record(tx, dataclasses.replace(audit, target=hashed))
            erasure.audit = audit_trail.forget_address(tx, address, hashed)
        return erasure

    def _erase(
        self,
        tx: Transaction,
        address: str,
        key: bytes,
        found: re.Pattern[str],
        records: list[int],
        quarantined: list[int],
        now: datetime,
        erasure: Erasure,
    ) -> None:
        d = self.dialect
        at = format_timestamp(now)
        message_ids = _messages_of(tx, address)
        if d.ordered_writes:
            # PostgreSQL, several writers: hold the address's messages first, in key order as every writer
            # takes them, then take turns on suppressions (the order a writer takes them in too). A writer
            # storing another recipient of one of these messages then waits for the erasure to commit, or
            # committed before and is seen: never a message deleted under a notification just stored.
            message_ids = _lock_messages(tx, address, message_ids)
        if d.suppression_lock:  # in turn with every other decision about a suppression (PostgreSQL)
            tx.execute(d.suppression_lock)
        # The suppression in force now outlives the address, under its hash (a lift by hand since is in it).
        suppression = _in_force(tx, address, now)
        if suppression is not None:
            kept.remember_key(tx, key)
            kept.keep(tx, [(address_key(key, address), dumps(_without(suppression, found)))], at)
        hashed = tx.execute("SELECT 1 FROM kept_suppressions WHERE address = ?", (address_key(key, address),))
        erasure.suppressed = bool(hashed)
        # Records of its messages, and any other the scan found naming it.
        for chunk in chunks(message_ids):
            rows = tx.execute(f"SELECT DISTINCT record_key FROM events WHERE message_id IN ({marks(chunk)})", chunk)
            record_keys = [r[0] for r in rows]
            for part in chunks(record_keys):
                records += [
                    r[0] for r in tx.execute(f"SELECT id FROM records WHERE record_key IN ({marks(part)})", part)
                ]
        for ids in _int_chunks(sorted(set(records))):
            rows = tx.execute(f"SELECT id, body, note FROM records WHERE id IN ({marks(ids)})", ids)
            changed = [(redact(b, found), redact(n, found) if n else n, i) for i, b, n in rows
                       if mentions(b, found) or mentions(n, found)]  # fmt: skip
            tx.executemany("UPDATE records SET body = ?, note = ? WHERE id = ?", changed)
            erasure.records += len(changed)
        for ids in _int_chunks(quarantined):
            erasure.quarantined += _count(tx, f"DELETE FROM quarantine WHERE id IN ({marks(ids)})", ids)
        counted = insights.contributions(tx, d, message_ids) if message_ids else {}
        fates = tx.execute("SELECT message_id, address, sent_at FROM recipients WHERE address = ?", (address,))
        erasure.search_terms = terms.unindex_recipients(tx, [(m, a, s) for m, a, s in fates])
        erasure.events = _count(tx, "DELETE FROM events WHERE recipient = ?", (address,))
        erasure.fates = _count(tx, "DELETE FROM recipients WHERE address = ?", (address,))
        erasure.changes = _count(tx, "DELETE FROM changes WHERE address = ?", (address,))
        erasure.deliveries = _count(tx, "DELETE FROM webhook_outbox WHERE address = ?", (address,))
        erasure.suppressions = _count(tx, "DELETE FROM suppression_actions WHERE address = ?", (address,))
        _count(tx, "DELETE FROM suppression_state WHERE address = ?", (address,))
        _count(tx, "DELETE FROM kept_suppressions WHERE address = ?", (address,))
        for chunk in chunks(message_ids):
            self._redact_messages(tx, chunk, found, erasure)
        for table, key_column, texts in _FREE_TEXTS:
            _redact_free_text(tx, table, key_column, texts, address, found)

        if message_ids:
            insights.apply(tx, counted, insights.contributions(tx, d, message_ids))
            self._refresh_counts(tx, message_ids)

    def _redact_messages(self, tx: Transaction, chunk: list[str], found: re.Pattern[str], erasure: Erasure) -> None:
        """What the address's messages keep for their other recipients, without it; a message left
        with none goes whole (its figures too)."""
        statement = f"SELECT DISTINCT message_id FROM recipients WHERE message_id IN ({marks(chunk)})"
        alive = {r[0] for r in tx.execute(statement, chunk)}
        gone = sorted(set(chunk) - alive)
        for part in chunks(gone):
            terms.unindex(tx, part)
            for table in ("events", "message_counts", "messages"):
                tx.execute(f"DELETE FROM {table} WHERE message_id IN ({marks(part)})", part)
            erasure.messages += len(part)
        kept_ids = sorted(alive)
        if not kept_ids:
            return
        before = terms.searched(tx.execute, kept_ids)
        columns = ", ".join(_MESSAGE_TEXTS)
        for message_id, *texts in tx.execute(
            f"SELECT message_id, {columns} FROM messages WHERE message_id IN ({marks(kept_ids)})", kept_ids
        ):
            if any(mentions(t, found) for t in texts):
                redacted = [redact(t, found) if t else t for t in texts]
                sets = ", ".join(f"{c} = ?" for c in _MESSAGE_TEXTS)
                tx.execute(f"UPDATE messages SET {sets} WHERE message_id = ?", (*redacted, message_id))
        after = terms.searched(tx.execute, kept_ids)
        terms.index_messages(tx, before, after, {})
        for message_id, event_key, details in tx.execute(
            f"SELECT message_id, event_key, details FROM events WHERE message_id IN ({marks(kept_ids)})", kept_ids
        ):
            if mentions(details, found):
                tx.execute(
                    "UPDATE events SET details = ? WHERE message_id = ? AND event_key = ?",
                    (redact(details, found), message_id, event_key),
                )
        columns = ", ".join(_FATE_TEXTS)
        for message_id, other, *texts in tx.execute(
            f"SELECT message_id, address, {columns} FROM recipients WHERE message_id IN ({marks(kept_ids)})", kept_ids
        ):
            if any(mentions(t, found) for t in texts):
                sets = ", ".join(f"{c} = ?" for c in _FATE_TEXTS)
                tx.execute(
                    f"UPDATE recipients SET {sets} WHERE message_id = ? AND address = ?",
                    (*(redact(t, found) if t else t for t in texts), message_id, other),
                )
        # Their changes (another recipient's fate after a bounce quoting the address), in any escaped form.
        rows = tx.execute(f"SELECT id, fate, payload FROM changes WHERE message_id IN ({marks(kept_ids)})", kept_ids)
        tx.executemany(
            "UPDATE changes SET fate = ?, payload = ? WHERE id = ?",
            [(redact(f, found) if f else f, redact(p, found) if p else p, i) for i, f, p in rows
             if mentions(f, found) or mentions(p, found)],
        )  # fmt: skip


def _redact_free_text(
    tx: Transaction, table: str, key_column: str, texts: tuple[str, ...], address: str, found: re.Pattern[str]
) -> None:
    """Rewrite the rows of ``table`` whose texts name the address, in any case. The database picks the
    rows holding its local part (so an escaped ``@`` or domain is caught too); the pattern decides."""
    local = address.rsplit("@", 1)[0]
    like = "%" + local.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
    where = " OR ".join(f"lower({c}) LIKE ? ESCAPE '!'" for c in texts)
    rows = tx.execute(f"SELECT {key_column}, {', '.join(texts)} FROM {table} WHERE {where}", (like,) * len(texts))
    sets = ", ".join(f"{c} = ?" for c in texts)
    tx.executemany(
        f"UPDATE {table} SET {sets} WHERE {key_column} = ?",
        [(*(redact(t, found) if t else t for t in values), key) for key, *values in rows
         if any(mentions(t, found) for t in values)],
    )  # fmt: skip


def _messages_of(tx: Transaction, address: str) -> list[str]:
    return sorted(
        {r[0] for r in tx.execute("SELECT DISTINCT message_id FROM recipients WHERE address = ?", (address,))}
        | {r[0] for r in tx.execute("SELECT DISTINCT message_id FROM events WHERE recipient = ?", (address,))}
    )


def _lock_messages(tx: Transaction, address: str, message_ids: list[str]) -> list[str]:
    """Lock the message rows of ``message_ids`` until commit, and of any message of the address that a
    writer committed meanwhile; every message of the address, locked. Bounded: a writer that keeps adding
    messages for the address makes the erasure wait a round, not forever (what it adds after the last
    round waits on the lock of the suppressions, and is seen)."""
    locked: set[str] = set()
    for _ in range(5):
        new = sorted(set(message_ids) - locked)
        if not new:
            break
        for chunk in chunks(new):
            tx.execute(
                f"SELECT message_id FROM messages WHERE message_id IN ({marks(chunk)}) ORDER BY message_id FOR UPDATE",
                chunk,
            )
        locked.update(new)
        message_ids = _messages_of(tx, address)  # a new statement sees what committed while it waited
    return message_ids


def _in_force(tx: Transaction, address: str, now: datetime) -> Suppression | None:
    rows = tx.execute("SELECT payload FROM suppression_state WHERE address = ?", (address,))
    if not rows:
        return None
    suppression = Suppression.from_json(address, loads(rows[0][0]))
    return suppression if suppression.in_force(now) else None


def _without(suppression: Suppression, found: re.Pattern[str]) -> dict[str, Any]:
    """The suppression's JSON with any text that names the address redacted (a reason typed by hand)."""
    redacted: dict[str, Any] = loads(redact(dumps(suppression.to_json()), found))
    return redacted


def _scan(run: Run, statement: str, found: re.Pattern[str]) -> list[int]:
    """The ids of the rows whose texts or bytes name the address, reading SCAN rows at a time."""
    ids: list[int] = []
    last = 0
    while rows := run(statement, (last, SCAN)):
        ids += [row[0] for row in rows if any(mentions(_text(v), found) for v in row[1:])]
        last = rows[-1][0]
    return ids


def _text(value: Any) -> str | bytes | None:
    return bytes(value) if isinstance(value, memoryview) else value


def _count(tx: Transaction, statement: str, args: Sequence[Any]) -> int:
    return tx.executemany(statement, [args])


def _int_chunks(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), 5000):
        yield values[start : start + 5000]
