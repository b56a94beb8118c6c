"""The audit trail's table: written in the transaction of each action, read a page at a time, newest
first. Retention never touches it; only an erasure rewrites it (:func:`forget_address`)."""

from __future__ import annotations

import contextlib
import re
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mailfate.core.audit import AuditAction, AuditEntry, AuditPage, target_key
from mailfate.core.jsonutil import dumps, loads
from mailfate.errors import UsageError
from mailfate.store.listing import decode_cursor, encode_cursor
from mailfate.store.tx import Transaction

# AuditEntry is part of this module's interface: the store's writers take one.
__all__ = ["AUDIT_LIMIT", "AUDIT_MAX_LIMIT", "AuditEntry", "AuditQueries", "forget_address", "record", "webhook_target"]

#: Entries in one page: the default and the most.
AUDIT_LIMIT, AUDIT_MAX_LIMIT = 50, 1000

_COLUMNS = "id, at, actor, action, target, reason, detail"


def record(tx: Transaction, entry: AuditEntry) -> None:
    """Add ``entry`` inside ``tx``: it commits with the action it describes, or not at all."""
    tx.execute(
        "INSERT INTO audit (at, actor, action, target, reason, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.at, entry.actor, str(entry.action), entry.target, entry.reason,
         dumps(dict(entry.detail)) if entry.detail is not None else None),
    )  # fmt: skip


def webhook_target(url: str) -> str:
    """A webhook as the audit trail names it: its scheme, host and port. Its path, query and user part
    are often its key (a chat webhook's path is), and the trail is read by every read token."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return "webhook (URL not shown)"
    if not parts.scheme or not host:
        return "webhook (URL not shown)"
    shown = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    hidden = parts.path.strip("/") or parts.query or parts.fragment
    return f"{parts.scheme}://{shown}/{'…' if hidden else ''}"


def forget_address(tx: Transaction, address: str, replacement: str) -> int:
    """Rewrite, inside ``tx`` (the erasure's), every mention of ``address`` in the audit trail, in any
    case, to ``replacement`` (its keyed hash): in the target, the reason, the detail and the actor. The
    entries stay (who lifted a suppression remains known); the address does not. Returns the entries
    rewritten."""
    needle = address.strip().lower()
    if not needle:
        return 0
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    columns = ("target", "reason", "detail", "actor")
    where = " OR ".join(f"lower(coalesce({c}, '')) LIKE ? ESCAPE '\\'" for c in columns)
    rows = tx.execute(f"SELECT id, {', '.join(columns)} FROM audit WHERE {where}", [pattern] * len(columns))
    mention = re.compile(re.escape(needle), re.IGNORECASE)
    for entry_id, *texts in rows:
        target, reason, detail, actor = (mention.sub(replacement, t) if t is not None else None for t in texts)
        tx.execute(
            "UPDATE audit SET target = ?, reason = ?, detail = ?, actor = ? WHERE id = ?",
            (target, reason, detail, actor, entry_id),
        )
    return len(rows)


class AuditQueries:
    @abstractmethod
    def _read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def record_audit(self, entry: AuditEntry) -> None:
        """Record an action whose effect is outside the database (a push to SES, a change to the AWS
        account): after it succeeded, in a transaction of its own."""
        with self._transaction() as tx:
            record(tx, entry)

    def audit(
        self,
        limit: int = AUDIT_LIMIT,
        cursor: str | None = None,
        action: AuditAction | None = None,
        target: str | None = None,
    ) -> AuditPage:
        """A page of the trail, newest first, after ``cursor`` (a page's ``next_cursor``); only the
        entries of ``action`` and of ``target`` (exact; an address in any letter case) when given."""
        where: list[str] = []
        args: list[object] = []
        if cursor is not None:
            where.append("id < ?")
            args.append(_cursor_id(cursor))
        if action is not None:
            where.append("action = ?")
            args.append(str(action))
        if target is not None:
            where.append("target = ?")
            args.append(target_key(target))
        statement = f"SELECT {_COLUMNS} FROM audit"
        if where:
            statement += " WHERE " + " AND ".join(where)
        rows = self._read(f"{statement} ORDER BY id DESC LIMIT {int(limit) + 1}", args)
        entries = [_entry(row) for row in rows[:limit]]
        following = encode_cursor(str(entries[-1].id)) if len(rows) > limit and entries else None
        return AuditPage(entries, following)


def _cursor_id(cursor: str) -> int:
    (raw,) = decode_cursor(cursor, 1)
    if not raw.isdigit():
        raise UsageError("cursor is not one that this API returned")
    return int(raw)


def _entry(row: Sequence[Any]) -> AuditEntry:
    entry_id, at, actor, action, target, reason, detail = row
    try:
        kind = AuditAction(action)
    except ValueError:  # written by a newer version: shown as it is rather than hidden
        kind = action
    return AuditEntry(at, actor, kind, target, reason, loads(detail) if detail else None, id=int(entry_id))
