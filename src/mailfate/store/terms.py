"""The search index: the terms of :mod:`mailfate.core.search`, kept in ``search_terms`` (migration 0008).

One row per (term, sent_at, message_id, address), the key itself, so the one index it is answers any
term newest first. A message's own terms have the address ``''``, a recipient's its address. Rows are
written in the transaction that writes the message or the recipient: a new message or recipient gets
its terms; a message whose searchable fields changed loses its old ones and gets the new ones, each
found by its whole key. Writes are idempotent and in key order, like every other. ``messages.
subject_words`` holds the subject's words too, so that a row found by another filter can be checked
against a search word (see :mod:`.activity`); the message upsert keeps it (:mod:`.sql`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mailfate.core.jsonutil import loads
from mailfate.core.search import message_terms, recipient_terms, subject_words
from mailfate.store.sql import search_key
from mailfate.store.tx import Run, Transaction, chunks, marks

#: What a message is found by, as the messages table holds it (the send time last).
SEARCHED = "message_id, subject, source, configuration_set, tags, sent_at"
_INSERT = (
    "INSERT INTO search_terms (term, sent_at, message_id, address) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (term, sent_at, message_id, address) DO NOTHING"
)
_DELETE = "DELETE FROM search_terms WHERE term = ? AND sent_at = ? AND message_id = ? AND address = ?"

Row = tuple[Any, ...]
Key = tuple[str, str, str, str]


def searched(run: Run, message_ids: Sequence[str]) -> dict[str, Row]:
    """The searchable fields of these messages, as stored now."""
    found: dict[str, Row] = {}
    for chunk in chunks(sorted(set(message_ids))):
        rows = run(f"SELECT {SEARCHED} FROM messages WHERE message_id IN ({marks(chunk)})", chunk)
        found.update((r[0], tuple(r)) for r in rows)
    return found


def _message_keys(row: Row, known: Mapping[tuple[Any, ...], frozenset[str]] | None = None) -> list[Key]:
    """The keys of a message's own terms; ``known`` may hold its terms already (PreparedBatch.terms)."""
    message_id, subject, source, configuration_set, tags, sent_at = row
    terms = (known or {}).get(search_key(message_id, subject, source, configuration_set, tags))
    if terms is None:
        parsed = loads(tags) if tags else None
        terms = frozenset(message_terms(message_id, subject, source, configuration_set,
                                        parsed if isinstance(parsed, dict) else None))  # fmt: skip
    return [(term, sent_at or "", message_id, "") for term in terms]


def _recipient_keys(message_id: str, address: str, sent_at: str) -> list[Key]:
    return [(term, sent_at or "", message_id, address) for term in recipient_terms(address)]


def index_messages(
    tx: Transaction, before: dict[str, Row], after: dict[str, Row], known: Mapping[tuple[Any, ...], frozenset[str]]
) -> None:
    """Index the messages that are new since ``before``, and index again those whose fields changed."""
    changed = [row for message_id, row in after.items() if before.get(message_id) != row]
    if not changed:
        return
    old: list[Key] = []
    new: list[Key] = []
    for row in changed:
        previous = before.get(row[0])
        new.extend(_message_keys(row, known))
        if previous is None:
            continue
        old.extend(_message_keys(previous))
        if previous[5] != row[5]:  # another send time: the recipients' keys move with it
            for (address,) in tx.execute("SELECT address FROM recipients WHERE message_id = ?", (row[0],)):
                old.extend(_recipient_keys(row[0], address, previous[5]))
                new.extend(_recipient_keys(row[0], address, row[5]))
            tx.execute("UPDATE recipients SET sent_at = ? WHERE message_id = ?", (row[5] or "", row[0]))
    gone = sorted(set(old) - set(new))
    if gone:
        tx.executemany(_DELETE, gone)
    _insert(tx, new)


def index_recipients(tx: Transaction, pairs: Iterable[tuple[str, str]], sent: dict[str, Row]) -> None:
    """Index new recipients (message id, address); ``sent`` holds their messages' searchable fields."""
    keys = []
    for message_id, address in pairs:
        row = sent.get(message_id)
        keys.extend(_recipient_keys(message_id, address, row[5] if row else ""))
    _insert(tx, keys)


def _insert(tx: Transaction, keys: list[Key]) -> None:
    keys = sorted(set(keys))  # key order: concurrent writers lock rows in one order
    for start in range(0, len(keys), 5000):
        tx.executemany(_INSERT, keys[start : start + 5000])


def index_everything(tx: Transaction, batch: int = 5000) -> None:
    """Index every message and recipient already stored (the data step of migration 0008), a part at
    a time by key, so memory stays flat however large the database."""
    last = ""
    while rows := tx.execute(
        f"SELECT {SEARCHED} FROM messages WHERE message_id > ? ORDER BY message_id LIMIT ?", (last, batch)
    ):
        _insert(tx, [key for row in rows for key in _message_keys(tuple(row))])
        tx.executemany(
            "UPDATE messages SET subject_words = ? WHERE message_id = ?", [(subject_words(r[1]), r[0]) for r in rows]
        )
        last = rows[-1][0]
    key = ("", "")
    while rows := tx.execute(
        "SELECT message_id, address, sent_at FROM recipients WHERE (message_id, address) > (?, ?) "
        "ORDER BY message_id, address LIMIT ?",
        (*key, batch),
    ):
        _insert(tx, [k for r in rows for k in _recipient_keys(r[0], r[1], r[2])])
        key = (rows[-1][0], rows[-1][1])


def unindex_recipients(tx: Transaction, rows: Iterable[tuple[str, str, str]]) -> int:
    """Delete the terms of these recipients (message id, address, its sent_at), each by its whole key."""
    keys = sorted(
        {key for message_id, address, sent_at in rows for key in _recipient_keys(message_id, address, sent_at)}
    )
    return sum(tx.executemany(_DELETE, keys[start : start + 5000]) for start in range(0, len(keys), 5000))


def unindex(tx: Transaction, message_ids: Sequence[str]) -> int:
    """Delete the terms of these messages and of their recipients (before the rows themselves go)."""
    keys: list[Key] = []
    for row in searched(tx.execute, message_ids).values():
        keys.extend(_message_keys(row))
    count = 0
    for chunk in chunks(sorted(set(message_ids))):
        rows = tx.execute(
            f"SELECT message_id, address, sent_at FROM recipients WHERE message_id IN ({marks(chunk)})", chunk
        )
        count += unindex_recipients(tx, [(m, a, s) for m, a, s in rows])
    keys = sorted(set(keys))
    return count + sum(tx.executemany(_DELETE, keys[start : start + 5000]) for start in range(0, len(keys), 5000))
