"""The paged reads of both stores: one message in parts, the message and activity lists (with the CSV
export's pages), one address's messages.
Each page ends with a cursor to the next (:mod:`.listing` parses the parameters and makes the cursors);
the suppression list pages in :mod:`.suppressions`."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from mailfate.core.activity import ActivityPage, ActivityRow
from mailfate.core.addresses import normalize_address
from mailfate.core.model import Status
from mailfate.core.suppression import Suppression
from mailfate.core.views import (
    Fate,
    MessagePage,
    MessageSummary,
    MessageView,
    RecipientMessage,
    RecipientView,
    StoredEvent,
)
from mailfate.store import activity, sql
from mailfate.store.listing import (
    FIRST_PART,
    MESSAGE_STATUS_SQL,
    RECIPIENT_LIMIT,
    ActivityQuery,
    Filters,
    MessagePart,
    MessageQuery,
    encode_cursor,
)
from mailfate.store.tx import marks

_SUMMARY = ", ".join(sql.SUMMARY_COLUMNS)


class PagedReads(ABC):
    dialect: sql.Dialect

    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def suppression(self, address: str, now: datetime | None = None) -> Suppression | None: ...

    def message(self, message_id: str, part: MessagePart = FIRST_PART) -> MessageView | None:
        """One message: its counts over every recipient, and at most ``part.limit`` recipients (by
        address) and events (by time), each after its cursor."""
        rows = self._read(
            "SELECT message_id, source, from_addresses, subject, sent_at, destination, tags, "
            "configuration_set, sending_account FROM messages WHERE message_id = ?",
            (message_id,),
        )
        if not rows:
            return None
        row = rows[0]
        limit = part.limit
        after = "AND address > ? " if part.recipients_after is not None else ""
        fate_rows = self._read(
            f"SELECT address, {_SUMMARY} FROM recipients WHERE message_id = ? {after}ORDER BY address LIMIT ?",
            (message_id, *([part.recipients_after] if after else []), limit + 1),
        )
        fates = [Fate(message_id, r[0], sql.summary_from_row(r[1:])) for r in fate_rows[:limit]]
        whole = part.recipients_after is None and len(fate_rows) <= limit
        counts = None if whole else dict(
            self._read("SELECT status, count(*) FROM recipients WHERE message_id = ? GROUP BY status", (message_id,))
        )  # fmt: skip
        # The timeline's order, made total by the event's identity so that a cursor can resume it.
        after = "AND (timestamp, kind, recipient, event_key) > (?, ?, ?, ?) " if part.events_after else ""
        event_rows = self._read(
            "SELECT kind, recipient, timestamp, received_at, transport, details, record_key, event_key "
            f"FROM events WHERE message_id = ? {after}ORDER BY timestamp, kind, recipient, event_key LIMIT ?",
            (message_id, *(part.events_after or ()), limit + 1),
        )
        events = [StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in event_rows[:limit]]
        last_fate, last_event = fate_rows[limit - 1] if len(fate_rows) > limit else None, None
        if len(event_rows) > limit:
            last_event = event_rows[limit - 1]
        return MessageView(
            message_id=row[0],
            source=row[1],
            from_=json.loads(row[2] or "[]"),
            subject=row[3],
            sent_at=row[4] or None,
            destination=json.loads(row[5] or "[]"),
            tags=json.loads(row[6] or "{}"),
            configuration_set=row[7],
            sending_account=row[8],
            recipients=fates,
            events=events,
            counts={str(k): int(v) for k, v in counts.items()} if counts is not None else None,
            next_recipients_cursor=encode_cursor(last_fate[0]) if last_fate else None,
            next_events_cursor=encode_cursor(*(last_event[i] for i in (2, 0, 1, 7))) if last_event else None,
        )

    def messages(self, query: MessageQuery) -> MessagePage:
        """A page of messages with a recipient that the filters match, newest first (see :mod:`.activity`)."""
        found: list[tuple[str, str]] = []  # (sent_at, message_id)
        after = (query.cursor[0], query.cursor[1], "") if query.cursor else None
        for _ in range(query.limit + 1):  # each round adds a message at least; mostly one round does
            statement, args = activity.keys_query(
                query, self.dialect, self._read, query.limit + 1, after, message_status=True
            )
            keys = self._read(statement, args)
            for sent_at, message_id, _address in keys:  # a message's recipients are next to each other
                if not found or found[-1][1] != message_id:
                    found.append((sent_at, message_id))
            if len(keys) <= query.limit or len(found) > query.limit:
                break
            after = (keys[-1][0], keys[-1][1], "")  # past the rest of the last message's recipients
        more = len(found) > query.limit
        found = found[: query.limit]
        ids = [message_id for _, message_id in found]
        rows = {}
        counts: dict[str, dict[str, int]] = {message_id: {} for message_id in ids}
        if ids:
            for row in self._read(
                f"SELECT m.message_id, {MESSAGE_STATUS_SQL}, m.source, m.subject, m.sent_at, m.tags FROM messages m "
                f"WHERE m.message_id IN ({marks(ids)})",
                ids,
            ):
                rows[row[0]] = row
            for message_id, status, count in self._read(
                f"SELECT message_id, status, count(*) FROM recipients WHERE message_id IN ({marks(ids)}) "
                "GROUP BY message_id, status",
                ids,
            ):
                counts[message_id][status] = count
        summaries = [
            MessageSummary(r[0], Status(r[1]), counts[r[0]], r[2], r[3], r[4] or None, json.loads(r[5] or "{}"))
            for r in (rows[message_id] for message_id in ids if message_id in rows)
        ]
        cursor = encode_cursor(*found[-1]) if more else None
        return MessagePage(summaries, cursor)

    def activity(self, query: ActivityQuery) -> ActivityPage:
        """A page of the activity list: recipients that the filters match, newest first."""
        statement, args = activity.keys_query(query, self.dialect, self._read, query.limit + 1, query.cursor)
        keys = self._read(statement, args)
        more = len(keys) > query.limit
        keys = keys[: query.limit]
        return ActivityPage(self._activity_rows(keys), encode_cursor(*keys[-1]) if more else None)

    def activity_export(self, filters: Filters, page: int = 1000) -> Iterator[list[ActivityRow]]:
        """Every row the filters match, a page at a time: memory holds one page, however many rows."""
        after: tuple[str, str, str] | None = None
        while True:
            statement, args = activity.keys_query(filters, self.dialect, self._read, page, after)
            keys = self._read(statement, args)
            if keys:
                yield self._activity_rows(keys)
            if len(keys) < page:
                return
            after = (keys[-1][0], keys[-1][1], keys[-1][2])

    def _activity_rows(self, keys: Sequence[Sequence[Any]]) -> list[ActivityRow]:
        if not keys:
            return []
        values = ", ".join(["(?, ?)"] * len(keys))
        rows = self._read(
            f"WITH k(message_id, address) AS (VALUES {values}) "
            f"SELECT r.message_id, r.address, {', '.join('r.' + c for c in sql.SUMMARY_COLUMNS)}, "
            "m.subject, m.source, m.sent_at, m.configuration_set, m.tags "
            "FROM k JOIN recipients r ON r.message_id = k.message_id AND r.address = k.address "
            "LEFT JOIN messages m ON m.message_id = r.message_id",
            [value for key in keys for value in (key[1], key[2])],
        )
        width = len(sql.SUMMARY_COLUMNS)
        found = {
            (r[0], r[1]): ActivityRow(
                Fate(r[0], r[1], sql.summary_from_row(r[2 : 2 + width])),
                r[2 + width],
                r[3 + width],
                r[4 + width] or None,
                r[5 + width],
                json.loads(r[6 + width] or "{}"),
            )
            for r in rows
        }
        return [found[(k[1], k[2])] for k in keys if (k[1], k[2]) in found]

    def recipient(
        self, address: str, limit: int = RECIPIENT_LIMIT, cursor: tuple[str, str] | None = None
    ) -> RecipientView:
        """The messages sent to an address, newest first, after ``cursor`` (a page's next_cursor); and
        the suppression the store keeps for it."""
        address = normalize_address(address)
        after = "AND (COALESCE(m.sent_at, ''), r.message_id) < (?, ?) " if cursor else ""
        rows = self._read(
            f"SELECT r.message_id, m.subject, m.sent_at, {', '.join('r.' + c for c in sql.SUMMARY_COLUMNS)} "
            "FROM recipients r LEFT JOIN messages m ON m.message_id = r.message_id "
            f"WHERE r.address = ? {after}ORDER BY COALESCE(m.sent_at, '') DESC, r.message_id DESC LIMIT ?",
            (address, *(cursor or ()), limit + 1),
        )
        messages = [
            RecipientMessage(Fate(r[0], address, sql.summary_from_row(r[3:])), r[1], r[2] or None) for r in rows[:limit]
        ]
        last = rows[limit - 1] if len(rows) > limit else None
        current = self.suppression(address)
        return RecipientView(
            address,
            messages,
            current.to_json() if current else None,
            next_cursor=encode_cursor(last[2] or "", last[0]) if last else None,
        )
