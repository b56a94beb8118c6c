"""The SQL that both stores share: the merge upserts, generated from :data:`mailfate.core.fate.MERGE`.

Keeping the statements derived from the Summary's own field metadata means the database merges a
recipient's events exactly as the pure fold in :mod:`mailfate.core.fate` does.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from mailfate.core.fate import MERGE, RANKED_VALUES, Summary, summarize_event
from mailfate.core.jsonutil import dumps, loads, storable_text
from mailfate.core.model import Event, Mail, Record, Rejected
from mailfate.core.search import message_terms, subject_words

SUMMARY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Summary))
_BOOLEAN_COLUMNS = frozenset(name for name, how in MERGE.items() if how == "or")
MESSAGE_COLUMNS = (
    "source",
    "from_addresses",
    "subject",
    "sent_at",
    "destination",
    "tags",
    "headers",
    "configuration_set",
    "sending_account",
    "from_domain",
    "subject_words",  # the subject's words (core.search), so it follows the subject kept
)
_SUBJECT, _SUBJECT_WORDS = 1 + MESSAGE_COLUMNS.index("subject"), 1 + MESSAGE_COLUMNS.index("subject_words")


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places SQLite and PostgreSQL differ. Statements use ``?`` placeholders in both."""

    least: str  # a two-argument minimum; SQLite's returns NULL if either argument is NULL
    greatest: str
    nulls_propagate: bool
    tag_filter: str  # a message's tag ? holds value ?
    tag_array: str  # the JSON array of a message's values of one tag (NULL when it has none)
    tag_path: str  # the argument that names the tag in tag_array, with {} for its name
    simulator_test: str  # r.address is a mailbox simulator address
    on_account_test: str  # r's bounce is an OnAccountSuppressionList bounce
    count_if: str  # a count of the rows where {} holds
    recipient_domain: str  # what follows the first "@" of r.address (mailfate.core.providers.recipient_domain)
    group_per_day: bool  # read figures by group one day at a time (SQLite sorts to group, PostgreSQL hashes)
    ordered_writes: bool  # rows written in key order (concurrent writers; SQLite has one at a time)
    # PostgreSQL's locks, held to commit (SQLite has its writer lock): one for suppression changes, one
    # for the change sequencer. Writers of one message need none: its message row's lock orders them.
    suppression_lock: str | None
    sequence_lock: str | None
    reputation_lock: str | None  # held by whoever compares and announces reputation levels
    placeholder: str = "?"
    index_hints: bool = False  # a query may name its index (SQLite's INDEXED BY)

    def _ignoring_null(self, function: str, a: str, b: str) -> str:
        if self.nulls_propagate:
            return f"COALESCE({function}({a}, {b}), {a}, {b})"
        return f"{function}({a}, {b})"

    def params(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)


_SIMULATOR = "r.address LIKE '%@simulator.amazonses.com'"
SQLITE = Dialect(
    least="min",
    greatest="max",
    nulls_propagate=True,
    tag_filter="EXISTS (SELECT 1 FROM json_each(m.tags) t, json_each(t.value) v WHERE t.key = ? AND v.value = ?)",
    tag_array="m.tags -> ?",
    tag_path='$."{}"',
    simulator_test=_SIMULATOR,
    on_account_test="json_extract(r.bounce, '$.subtype') IS 'OnAccountSuppressionList'",  # never NULL
    count_if="sum({})",
    recipient_domain="substr(r.address, instr(r.address, '@') + 1)",
    group_per_day=True,
    ordered_writes=False,
    suppression_lock=None,
    sequence_lock=None,
    reputation_lock=None,
    index_hints=True,
)
POSTGRES = Dialect(
    least="LEAST",
    greatest="GREATEST",
    nulls_propagate=False,
    tag_filter="(m.tags::jsonb -> ?) @> to_jsonb(?::text)",
    tag_array="(m.tags::jsonb -> ?)::text",
    tag_path="{}",
    simulator_test=_SIMULATOR,
    on_account_test="(r.bounce::jsonb ->> 'subtype') = 'OnAccountSuppressionList'",
    count_if="count(*) FILTER (WHERE {})",
    recipient_domain="substr(r.address, strpos(r.address, '@') + 1)",
    group_per_day=False,
    ordered_writes=True,
    suppression_lock="SELECT pg_advisory_xact_lock(7346112002)",
    sequence_lock="SELECT pg_advisory_xact_lock(7346112003)",
    reputation_lock="SELECT pg_advisory_xact_lock(7346112004)",
)


@functools.cache  # one text per dialect, built once rather than per batch
def recipient_upsert(d: Dialect) -> str:
    """Insert a recipient's summary, or merge it into the one stored: OR, MIN, MAX, keep greater rank."""
    sets = []
    for column, how in MERGE.items():
        old, new = f"recipients.{column}", f"excluded.{column}"
        match how:
            case "or":
                sets.append(f"{column} = ({old} OR {new})")
            case "min":
                sets.append(f"{column} = {d._ignoring_null(d.least, old, new)}")
            case "max" | "rank":
                sets.append(f"{column} = {d._ignoring_null(d.greatest, old, new)}")
                if how == "rank":
                    for value in RANKED_VALUES[column]:
                        sets.append(
                            f"{value} = CASE WHEN {new} > {old} THEN excluded.{value} ELSE recipients.{value} END"
                        )
    # Each row ends with the send time of its message row as upserted just before in the same transaction
    # (the activity list orders recipients by it): a plain value, so the statement is plain VALUES.
    columns = ("message_id", "address", *SUMMARY_COLUMNS, "sent_at")
    return (
        f"INSERT INTO recipients ({', '.join(columns)}) VALUES ({d.params(len(columns))}) "
        f"ON CONFLICT (message_id, address) DO UPDATE SET {', '.join(sets)}, sent_at = excluded.sent_at"
    )


@functools.cache
def message_upsert(d: Dialect) -> str:
    """Insert a message's mail object, or merge it: each field keeps the greatest non-NULL value (the
    subject's words are those of the subject kept)."""
    sets = [f"{c} = {d._ignoring_null(d.greatest, f'messages.{c}', f'excluded.{c}')}" for c in MESSAGE_COLUMNS[:-1]]
    sets.append(
        "subject_words = CASE WHEN excluded.subject IS NOT NULL AND (messages.subject IS NULL "
        "OR excluded.subject > messages.subject) THEN excluded.subject_words ELSE messages.subject_words END"
    )
    columns = ("message_id", *MESSAGE_COLUMNS)
    return (
        f"INSERT INTO messages ({', '.join(columns)}) VALUES ({d.params(len(columns))}) "
        f"ON CONFLICT (message_id) DO UPDATE SET {', '.join(sets)}"
    )


_summary_values = operator.attrgetter(*SUMMARY_COLUMNS)


def recipient_row(event: Event) -> tuple[Any, ...]:
    return (event.message_id, event.recipient, *_summary_values(summarize_event(event)))


_OFFSET = 2  # recipient rows start with message_id, address
_OR = [i + _OFFSET for i, c in enumerate(SUMMARY_COLUMNS) if MERGE[c] == "or"]
_MIN = [i + _OFFSET for i, c in enumerate(SUMMARY_COLUMNS) if MERGE[c] == "min"]
_MAX = [i + _OFFSET for i, c in enumerate(SUMMARY_COLUMNS) if MERGE[c] == "max"]
_RANKS = [
    (i + _OFFSET, [SUMMARY_COLUMNS.index(v) + _OFFSET for v in RANKED_VALUES[c]])
    for i, c in enumerate(SUMMARY_COLUMNS)
    if MERGE[c] == "rank"
]


def merge_recipient_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Merge the rows of one recipient within a batch, exactly as ``recipient_upsert`` merges them in
    the database: fewer upserts, the same result (the property tests compare both paths)."""
    merged: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        current = merged.get((row[0], row[1]))
        if current is None:
            merged[(row[0], row[1])] = list(row)
            continue
        for i in _OR:
            current[i] = current[i] or row[i]
        for i in _MIN:
            if row[i] is not None and (current[i] is None or row[i] < current[i]):
                current[i] = row[i]
        for i in _MAX:
            if row[i] is not None and (current[i] is None or row[i] > current[i]):
                current[i] = row[i]
        for rank, ranked in _RANKS:
            if row[rank] > current[rank]:
                current[rank] = row[rank]
                for value in ranked:
                    current[value] = row[value]
    return [tuple(values) for values in merged.values()]


def summary_from_row(row: Sequence[Any]) -> Summary:
    """A Summary from the SUMMARY_COLUMNS of a row, in that order. A shorter row (a change written before
    a column was added) leaves the columns it lacks at their defaults."""
    if len(row) > len(SUMMARY_COLUMNS):
        raise ValueError(f"a summary row of {len(row)} values; expected {len(SUMMARY_COLUMNS)} at most")
    values = {c: (bool(v) if c in _BOOLEAN_COLUMNS else v) for c, v in zip(SUMMARY_COLUMNS, row, strict=False)}
    return Summary(**values)  # type: ignore[arg-type]


def _json_or_null(value: Any) -> str | None:
    return dumps(value) if value else None


def message_row(mail: Mail) -> tuple[Any, ...]:
    return (
        mail.message_id,
        mail.source,
        _json_or_null(mail.from_),
        mail.subject,
        mail.sent_at or "",  # never NULL: the message list orders and pages by it
        _json_or_null(mail.destination),
        _json_or_null(mail.tags),
        _json_or_null(mail.headers),
        mail.configuration_set,
        mail.sending_account,
        mail.from_domain,
        subject_words(mail.subject) if mail.subject is not None else None,
    )


def merge_message_row(batch: dict[str, list[Any]], row: tuple[Any, ...]) -> None:
    """Fold one more mail row into a batch, column by column, exactly as ``message_upsert`` merges."""
    current = batch.get(row[0])
    if current is None:
        batch[row[0]] = list(row)
        return
    if row[_SUBJECT] is not None and (current[_SUBJECT] is None or row[_SUBJECT] > current[_SUBJECT]):
        current[_SUBJECT_WORDS] = row[_SUBJECT_WORDS]
    for i, value in enumerate(row[1:_SUBJECT_WORDS], start=1):
        if value is not None and (current[i] is None or value > current[i]):
            current[i] = value


def event_row(event: Event, record_key: str, transport: str, received_at: str) -> tuple[Any, ...]:
    return (
        event.message_id,
        event.identity,
        record_key,
        transport,
        event.recipient,
        event.kind.value,
        event.timestamp,
        received_at,
        dumps(dict(event.details)),
    )


EVENT_COLUMNS = (
    "message_id",
    "event_key",
    "record_key",
    "transport",
    "recipient",
    "kind",
    "timestamp",
    "received_at",
    "details",
)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Rows ready to write, already merged within the batch. Building them needs no database, so it
    runs in worker processes; plain tuples keep the trip between processes cheap.

    Rows of a record that turns out to be stored already are written again: every write is an
    idempotent merge, so that is harmless, and it spares the worker a round trip to the database.
    """

    keys: list[str | None]  # per input item, in order: its record key, or None when quarantined
    event_counts: list[int]  # per input item: how many events it carries
    records: list[tuple[Any, ...]]  # one per item that has a key, in the same order
    quarantine: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    recipients: list[tuple[Any, ...]]
    #: The search terms of each message row (core.search), by its searched fields (search_key): made
    #: here, off the writer's path; the writer uses them when the stored row has the same fields.
    terms: dict[tuple[Any, ...], frozenset[str]] = field(default_factory=dict)


def search_key(message_id: str, subject: Any, source: Any, configuration_set: Any, tags: Any) -> tuple[Any, ...]:
    return (message_id, subject, source, configuration_set, tags)


def message_search_terms(row: Sequence[Any]) -> tuple[tuple[Any, ...], frozenset[str]]:
    """A message row's searched fields and its terms."""
    key = search_key(row[0], row[3], row[1], row[8], row[6])
    tags = loads(row[6]) if row[6] else None
    return key, frozenset(message_terms(row[0], row[3], row[1], row[8], tags if isinstance(tags, dict) else None))


#: The columns of a quarantine row, as ``prepare`` builds them.
QUARANTINE_COLUMNS = ("received_at", "transport", "location", "reason", "body", "size", "authenticated")


def quarantine_row(item: Rejected, received_at: str) -> tuple[Any, ...]:
    raw = item.raw
    size = item.size if item.size is not None else len(raw)
    location = storable_text(item.location) if item.location is not None else None
    return (received_at, item.transport, location, storable_text(item.reason)[:2000], raw, size, item.authenticated)


def prepare(items: Iterable[Record | Rejected], received_at: str) -> PreparedBatch:
    """The rows of ``items``. One item whose rows cannot be built goes to quarantine alone, saying why."""
    keys: list[str | None] = []
    event_counts: list[int] = []
    records: list[tuple[Any, ...]] = []
    quarantine: list[tuple[Any, ...]] = []
    messages: dict[str, list[Any]] = {}
    events: list[tuple[Any, ...]] = []
    recipients: list[tuple[Any, ...]] = []
    last_mail = None
    for item in items:
        if isinstance(item, Record):
            try:
                mail_row = message_row(item.mail) if item.mail is not None and item.mail != last_mail else None
                item_events = [event_row(e, item.key, item.transport, received_at) for e in item.events]
                item_recipients = [recipient_row(e) for e in item.events if e.recipient]
                body = storable_text(item.body)
                record_row = (item.key, item.transport, item.kind.value, received_at, item.note, body)
            except Exception as exc:  # a value nothing else refused: this record fails alone
                reason = f"cannot be stored: {type(exc).__name__}: {exc}"[:500]
                item = Rejected(reason, item.body, item.transport, item.key)
            else:
                keys.append(item.key)
                event_counts.append(len(item.events))
                records.append(record_row)
                if mail_row is not None:  # the records of one message share their mail
                    merge_message_row(messages, mail_row)
                    last_mail = item.mail
                events.extend(item_events)
                recipients.extend(item_recipients)
                continue
        keys.append(None)
        event_counts.append(0)
        quarantine.append(quarantine_row(item, received_at))
    rows = [tuple(row) for row in messages.values()]
    return PreparedBatch(
        terms=dict(message_search_terms(row) for row in rows),
        keys=keys,
        event_counts=event_counts,
        records=records,
        quarantine=quarantine,
        messages=rows,
        events=events,
        recipients=merge_recipient_rows(recipients),
    )
