"""What the SQLite and PostgreSQL stores share: every statement and every row-to-view conversion.

A backend supplies connections (``_read`` and ``_transaction``) and a :class:`~.sql.Dialect`; the SQL
is written once, with ``?`` placeholders that the PostgreSQL backend rewrites.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mailfate.core.changes import Change
from mailfate.core.jsonutil import dumps, loads, storable
from mailfate.core.model import Record, Rejected, conflicting, same_content
from mailfate.core.stats import ALL_COUNTS
from mailfate.core.suppression import Policy
from mailfate.core.views import IngestResult
from mailfate.errors import RecordConflict, RecordRace, UnstorableData
from mailfate.store import audit, feed, insights, sql, suppressions, terms
from mailfate.store.alerts import ReputationAlerts
from mailfate.store.erasure import ErasureQueries
from mailfate.store.gauges import GaugeQueries
from mailfate.store.outbox import Outbox
from mailfate.store.pages import PagedReads
from mailfate.store.quarantine import QuarantineStore, insert_quarantined
from mailfate.store.reputation import ReputationQueries, count_columns
from mailfate.store.retention import BATCH, RetentionQueries
from mailfate.store.tx import Transaction, chunks, marks


class SqlStore(
    suppressions.SuppressionQueries,
    ErasureQueries,
    RetentionQueries,
    PagedReads,
    Outbox,
    QuarantineStore,
    insights.InsightQueries,
    ReputationQueries,
    ReputationAlerts,
    audit.AuditQueries,
    GaugeQueries,
    ABC,
):
    url: str
    dialect: sql.Dialect
    policy: Policy  # the suppression rules, for announcing suppression changes

    # -- what a backend provides ------------------------------------------------------------------

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query on a reader connection."""

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def close(self) -> None: ...

    # -- writing ------------------------------------------------------------------------------------

    def ingest(self, items: Sequence[Record | Rejected], received_at: str) -> IngestResult:
        """Store ``items``: a record whose key is taken by other content, or whose values the database
        refuses, goes to quarantine alone; the others are stored. Raises StorageError only when the
        database itself fails (then nothing of this call may be acknowledged)."""
        pending = list(items)
        for _ in range(3):  # a conflict turns items into quarantine; a new one needs a concurrent writer
            try:
                return self.write(sql.prepare(pending, received_at))
            except RecordConflict as conflict:
                pending = [_conflicting(item, conflict.items.get(i)) for i, item in enumerate(pending)]
            except RecordRace:  # written again, the keys another writer took are seen as stored
                continue
            except UnstorableData as exc:
                if len(pending) == 1:
                    pending = [_unstorable(pending[0], exc)]
                    continue
                half = len(pending) // 2  # find the item the database refuses; each half commits alone
                result = self.ingest(pending[:half], received_at)
                result.add(self.ingest(pending[half:], received_at))
                return result
        return self.write(sql.prepare(pending, received_at))

    def write(self, batch: sql.PreparedBatch) -> IngestResult:
        """Commit a prepared batch in one transaction: all of it, or (raising) none of it.

        :class:`RecordConflict` when a record reuses a stored key with other content, and
        :class:`UnstorableData` when the database refuses a value: :meth:`ingest` handles both."""
        with self._transaction() as tx:
            return self._write(tx, batch)

    def _write(self, tx: Transaction, batch: sql.PreparedBatch) -> IngestResult:
        result = IngestResult()
        stored = self._stored_elsewhere(tx, batch)
        first_body: dict[str, str] = {}
        conflicts: dict[int, str] = {}
        new: set[str] = set()
        events_of_duplicates = 0
        row = 0
        for index, (key, event_count) in enumerate(zip(batch.keys, batch.event_counts, strict=True)):
            if key is None:
                result.quarantined += 1
                result.outcomes.append("quarantined")
                continue
            body = batch.records[row][5]
            row += 1
            other = stored[key] if key in stored else first_body.get(key)  # None: the very same text
            if other is not None and not same_content(body, other):
                conflicts[index] = f"record key {key} is already stored with different content"
            elif key in stored or key in first_body:
                result.duplicates += 1
                result.outcomes.append("duplicate")
                events_of_duplicates += event_count
                continue
            first_body[key] = body
            new.add(key)
            result.outcomes.append("stored")
        if conflicts:
            raise RecordConflict(conflicts)  # rolled back; ingest() writes again without them
        records = []
        for record_row in batch.records:
            if record_row[0] in new:  # the first row of each new key
                records.append(record_row)
                new.discard(record_row[0])
        result.records = len(records)
        result.notes = sum(1 for r in records if r[2] != "event")
        d = self.dialect
        if batch.quarantine:
            insert_quarantined(tx, batch.quarantine)
        # Concurrent PostgreSQL writers must lock rows in one order, or they deadlock: key order.
        order = d.ordered_writes
        if records:
            inserted = tx.executemany(
                "INSERT INTO records (record_key, transport, kind, received_at, note, body) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (record_key) DO NOTHING",
                sorted(records) if order else records,
            )
            # A key that was free when read above and taken now was committed by a concurrent writer: its
            # content may differ, so this record is neither "stored" nor known to be a duplicate yet.
            if inserted != len(records):
                raise RecordRace(f"{len(records) - inserted} record keys were stored meanwhile by another writer")
        searched: dict[str, terms.Row] = {}
        if batch.messages:
            message_ids = [row[0] for row in batch.messages]
            known = terms.searched(tx.execute, message_ids)
            tx.executemany(sql.message_upsert(d), sorted(batch.messages) if order else batch.messages)
            searched = terms.searched(tx.execute, message_ids)
            terms.index_messages(tx, known, searched, batch.terms)
        if batch.events:
            events = sorted(batch.events, key=_first_two) if order else batch.events
            inserted = tx.executemany(_EVENT_INSERT, events)
            result.events = inserted
            # Events of a duplicate record were counted with it; what else was not inserted is a duplicate
            # event (the same event by another route). Never below zero, whatever the rows say.
            result.duplicate_events = max(0, len(batch.events) - inserted - events_of_duplicates)
        touched = sorted(row[0] for row in batch.messages)
        # What these messages add to the figures by domain, before this write: added back changed below.
        counted = insights.contributions(tx, d, touched) if touched else {}
        if batch.recipients:
            recipients = sorted(batch.recipients, key=_first_two) if order else batch.recipients
            # Every record carries its mail, so this transaction has upserted (and locked, to commit) the
            # message row of each recipient: a concurrent writer of the same message waits until then,
            # and "before" below is exactly what the merge starts from.
            pairs = {(r[0], r[1]) for r in recipients}
            message_ids = sorted({r[0] for r in recipients})
            before = feed.statuses(tx, message_ids)
            missing = [m for m in message_ids if m not in searched]  # none: every record carries its mail
            rows = {**searched, **(terms.searched(tx.execute, missing) if missing else {})}
            sent = {message_id: row[5] or "" for message_id, row in rows.items()}  # as stored now
            tx.executemany(sql.recipient_upsert(d), [(*row, sent.get(row[0], "")) for row in recipients])
            terms.index_recipients(tx, sorted(pairs - before.keys()), searched)
            feed.append_fate_changes(tx, d, pairs, message_ids, before, batch.events, datetime.now(UTC), self.policy)
        if touched:
            self._refresh_counts(tx, touched)
            insights.apply(tx, counted, insights.contributions(tx, d, touched))  # last: it locks shared rows
        return result

    def _after_migration(self, tx: Transaction, name: str) -> None:
        """Data steps that SQL alone cannot take, run right after a migration's statements."""
        if name == "0003_message_counts":
            self._refresh_counts(tx, None)  # fill it for what was stored before
        if name == "0004_changes":
            # What is suppressed already is not news: only later changes go into the feed.
            suppressions.refresh_all(tx, self.dialect, datetime.now(UTC), self.policy, announce=False, with_kept=False)
        if name == "0005_b_not_spam":
            # Recipients with a not-spam complaint may now count as delivered: recount their messages.
            # Tags stored with a NUL escape broke every JSON query on PostgreSQL: store them storable.
            ids = [r[0] for r in tx.execute("SELECT DISTINCT message_id FROM recipients WHERE not_spam")]
            for message_id, tags in tx.execute(
                "SELECT message_id, tags FROM messages WHERE tags LIKE '%\\u0000%' ESCAPE '!'"
            ):
                tx.execute(
                    "UPDATE messages SET tags = ? WHERE message_id = ?", (dumps(storable(loads(tags))), message_id)
                )
                ids.append(message_id)
            if ids:
                self._refresh_counts(tx, sorted(set(ids)))
        if name == "0007_b_suppression_policy":
            tx.execute(
                "INSERT INTO suppression_policy (id, policy) VALUES (1, ?)", (suppressions.policy_text(self.policy),)
            )
        if name == "0008_activity":
            terms.index_everything(tx)  # what was stored before can be found too
        if name == "0007_suppression_facts":
            # Every surface now reads the kept suppressions: decide each again, and announce any that an
            # earlier version kept wrong (it missed a fate whose bounce changed while its status did not).
            suppressions.refresh_all(tx, self.dialect, datetime.now(UTC), self.policy, with_kept=False)
        if name == "0009_a_domain_days":
            insights.backfill(tx, self.dialect)  # providers, delivery times and reasons of what is stored
        if name == "0012_suppression_order":
            suppressions.fill_sort_keys(tx)  # the suppression list in the order a person reads it

    def _after_migrations(self, tx: Transaction) -> None:
        """Run by a store opened for writing, once its schema is current."""
        suppressions.adopt_policy(tx, self.dialect, self.policy, datetime.now(UTC))

    def _refresh_counts(self, tx: Transaction, message_ids: list[str] | None) -> None:
        """Recount these messages (all when None) from their recipients.

        Every record carries its mail, so a write that changes a recipient has also upserted its
        message row and holds that row's lock until commit: on PostgreSQL a concurrent writer of the
        same message waits, then recounts from what is committed. The counts cannot go stale.
        """
        d = self.dialect
        columns = count_columns(d.count_if, d.simulator_test, d.on_account_test)
        names = ", ".join(ALL_COUNTS)
        updates = ", ".join(
            f"{c} = excluded.{c}" for c in ("sent_at", "configuration_set", "from_domain", "tags", *ALL_COUNTS)
        )
        for chunk in chunks(message_ids) if message_ids is not None else [None]:
            where = f"m.message_id IN ({marks(chunk)})" if chunk is not None else "TRUE"
            tx.execute(
                f"INSERT INTO message_counts (message_id, sent_at, configuration_set, from_domain, tags, {names}) "
                f"SELECT m.message_id, COALESCE(m.sent_at, ''), m.configuration_set, m.from_domain, m.tags, "
                f"{', '.join(columns)} FROM messages m JOIN recipients r ON r.message_id = m.message_id "
                f"WHERE {where} GROUP BY m.message_id "  # the other columns depend on it (primary key)
                f"ON CONFLICT (message_id) DO UPDATE SET {updates}",
                chunk or (),
            )

    def _stored_elsewhere(self, tx: Transaction, batch: sql.PreparedBatch) -> dict[str, str | None]:
        """The record keys of the batch that are stored already: each with its stored body when that
        differs from this batch's text (a redelivery is nearly always the same text: nothing to fetch)."""
        keys = [k for k in batch.keys if k is not None]
        found: set[str] = set()
        for chunk in chunks(keys):
            rows = tx.execute(f"SELECT record_key FROM records WHERE record_key IN ({marks(chunk)})", chunk)
            found.update(r[0] for r in rows)
        if not found:
            return {}
        pairs = [(r[0], r[5]) for r in batch.records if r[0] in found]
        differing: dict[str, str] = {}
        for start in range(0, len(pairs), 500):
            part = pairs[start : start + 500]
            values = ", ".join(["(?, ?)"] * len(part))
            args = [value for pair in part for value in pair]
            for key, body in tx.execute(
                f"WITH given (k, b) AS (VALUES {values}) "
                "SELECT r.record_key, r.body FROM records r JOIN given ON r.record_key = given.k "
                "WHERE r.body <> given.b",
                args,
            ):
                differing[key] = body
        return {key: differing.get(key) for key in found}

    def sequence(self, limit: int = 10_000) -> int:
        """Number the changes committed since the last call (see :func:`feed.sequence`); how many."""
        if not self._read("SELECT 1 FROM changes WHERE seq IS NULL LIMIT 1"):
            return 0  # the usual case stays read-only
        with self._transaction() as tx:
            return feed.sequence(tx, self.dialect, limit)

    def prune(self, before: str) -> tuple[int, int]:
        """Delete raw and quarantined records received before ``before``, and older changes that no
        webhook still has to deliver, in short batches. Events, fates and suppressions stay: they were
        derived already, and an old record that arrives again is recognised by its events."""
        records = self._batches(
            "DELETE FROM records WHERE id IN "
            "(SELECT id FROM records WHERE received_at < ? ORDER BY received_at LIMIT ?)",
            (before, BATCH),
        )
        quarantined = self._batches(
            "DELETE FROM quarantine WHERE id IN "
            "(SELECT id FROM quarantine WHERE received_at < ? ORDER BY received_at LIMIT ?)",
            (before, BATCH),
        )
        self._prune_changes(before, BATCH)
        return records, quarantined

    # -- reading ------------------------------------------------------------------------------------

    def changes(self, after: int = 0, limit: int = 100) -> list[Change]:
        self.expire_suppressions(datetime.now(UTC))  # time ends a suppression: the feed says so when read
        self.sequence()  # number what has committed since; what commits later gets later numbers
        rows = self._read(
            f"SELECT {feed.CHANGE_COLUMNS} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        )
        return feed.render(self._read, rows)

    def ping(self) -> None:
        self._read("SELECT 1 FROM schema_migrations LIMIT 1")


def _conflicting(item: Record | Rejected, reason: str | None) -> Record | Rejected:
    return conflicting(item, reason) if reason is not None and isinstance(item, Record) else item


def _unstorable(item: Record | Rejected, exc: Exception) -> Rejected:
    reason = f"cannot be stored: {exc}"[:500]
    if isinstance(item, Rejected):  # even its quarantine row was refused: keep the bytes, say why
        return Rejected(reason, item.raw, item.transport, None, item.size, item.authenticated)
    return Rejected(reason, item.body, item.transport, item.key)


_EVENT_INSERT = (
    f"INSERT INTO events ({', '.join(sql.EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(sql.EVENT_COLUMNS))}) "
    "ON CONFLICT (message_id, event_key) DO NOTHING"
)


def _first_two(row: Sequence[Any]) -> tuple[Any, Any]:
    return (row[0], row[1])
