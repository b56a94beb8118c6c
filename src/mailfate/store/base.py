"""The storage contract every backend keeps, and the URL that chooses one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from mailfate.core.activity import ActivityPage, ActivityRow
from mailfate.core.alerts import AlertPolicy, Transition
from mailfate.core.audit import Actor, AuditAction, AuditEntry, AuditPage
from mailfate.core.changes import Change
from mailfate.core.check import CheckResult
from mailfate.core.erasure import Erasure
from mailfate.core.insights import Diagnostics, DiagnosticsQuery, Resolve
from mailfate.core.model import Record, Rejected
from mailfate.core.stats import Stats, StatsQuery
from mailfate.core.suppression import Action, Policy, Suppression
from mailfate.core.views import IngestResult, MessagePage, MessageView, QuarantineItem, RecipientView
from mailfate.errors import UsageError
from mailfate.store.audit import AUDIT_LIMIT
from mailfate.store.gauges import Readings
from mailfate.store.listing import FIRST_PART, RECIPIENT_LIMIT, ActivityQuery, Filters, MessagePart, MessageQuery
from mailfate.store.outbox import Delivery
from mailfate.store.retention import BATCH, Cutoffs, Pruned
from mailfate.store.sql import PreparedBatch

DEFAULT_URL = "sqlite:///mailfate.db"


class Store(Protocol):
    """Durable, idempotent storage of records, events and fates.

    ``ingest`` commits everything it is given in one transaction before it returns, or raises
    :class:`~mailfate.errors.StorageError` having committed nothing. Calling it twice with the same
    records changes nothing the second time; calling it with the same records in any order, from any
    number of processes, leaves the same fates.
    """

    url: str

    def ingest(self, items: Sequence[Record | Rejected], received_at: str) -> IngestResult: ...

    def write(self, batch: PreparedBatch) -> IngestResult:
        """Commit rows made by :func:`mailfate.store.sql.prepare`; ``ingest`` is ``write(prepare(...))``."""
        ...

    def message(self, message_id: str, part: MessagePart = FIRST_PART) -> MessageView | None: ...

    def messages(self, query: MessageQuery) -> MessagePage: ...

    def activity(self, query: ActivityQuery) -> ActivityPage:
        """A page of the activity list: recipients the filters match, newest first."""
        ...

    def activity_export(self, filters: Filters, page: int = 1000) -> Iterator[list[ActivityRow]]:
        """Every row the filters match, newest first, a page at a time."""
        ...

    def recipient(
        self, address: str, limit: int = RECIPIENT_LIMIT, cursor: tuple[str, str] | None = None
    ) -> RecipientView:
        """The messages sent to an address, newest first, after ``cursor``; and its suppression."""
        ...

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]:
        """The newest quarantined records, newest first, each with the beginning of its body."""
        ...

    def quarantined_item(self, item_id: int) -> QuarantineItem | None:
        """One quarantined record with its whole body, byte for byte."""
        ...

    def quarantine_ids(self, after: int = 0, limit: int = 1000) -> list[int]:
        """The ids of quarantined records after ``after``, oldest first."""
        ...

    def dismiss_quarantined(self, ids: Sequence[int], by: Actor | None = None) -> list[int]:
        """Delete these quarantined records; the ids that were there."""
        ...

    def release_quarantined(
        self, item_id: int, record: Record, received_at: str, by: Actor | None = None
    ) -> str | None:
        """Store what a quarantined record now parses into and drop its row, in one transaction:
        "stored", "duplicate", or None when the row has gone."""
        ...

    def quarantine_usage(self) -> tuple[int, int]:
        """What the quarantine costs, in bytes (bodies, texts and a fixed overhead per row), and its rows."""
        ...

    def readings(self, urls: Sequence[str]) -> Readings:
        """What a monitoring scrape reads: the quarantine's size, the feed's head, each URL's backlog."""
        ...

    def trim_quarantine(self, max_bytes: int | None, before: str | None) -> tuple[int, int]:
        """Drop the oldest unauthenticated records past ``max_bytes``, and all received before ``before``."""
        ...

    def suppression(self, address: str, now: datetime | None = None) -> Suppression | None:
        """The suppression in force of a normalized address, or None when it may be mailed."""
        ...

    def suppressions(
        self, after: str | None = None, limit: int | None = None, contains: str | None = None,
        now: datetime | None = None,
    ) -> list[Suppression]:  # fmt: skip
        """The suppressions in force, by address: after the address ``after``, at most ``limit``, of the
        addresses that hold ``contains`` when given."""
        ...

    def check(self, addresses: str | Iterable[object], now: datetime | None = None) -> list[CheckResult]:
        """May each address be mailed, and if not why: one result per address, in order."""
        ...

    def add_action(self, address: str, action: Action, audit: AuditEntry | None = None) -> None:
        """Suppress or lift by hand; ``audit``, the entry that says who did it, commits with it."""
        ...

    def record_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the audit trail on its own (for an action outside the database)."""
        ...

    def audit(
        self,
        limit: int = AUDIT_LIMIT,
        cursor: str | None = None,
        action: AuditAction | None = None,
        target: str | None = None,
    ) -> AuditPage:
        """A page of the audit trail, newest first."""
        ...

    def expire_suppressions(self, now: datetime) -> int: ...

    def changes(self, after: int = 0, limit: int = 100) -> list[Change]:
        """The change feed after ``after``, oldest first."""
        ...

    def sequence(self, limit: int = 10_000) -> int: ...

    def register_webhooks(self, urls: Sequence[str]) -> None: ...

    def fill_outbox(self, url: str, now: str, limit: int = 1000, kinds: Sequence[str] | None = None) -> int: ...

    def claim_deliveries(self, url: str, now: str, lease_until: str, limit: int = 50) -> list[Delivery]: ...

    def delivered(self, delivery: Delivery, now: str) -> None: ...

    def delivery_failed(
        self, delivery: Delivery, now: str, status: int | None, error: str, retry_at: str | None
    ) -> None: ...

    def redeliver(self, url: str, seqs: Sequence[int] | None, now: str, by: Actor | None = None) -> list[int]:
        """Make given-up changes of ``url`` (``seqs``, or all) due again; the seqs that were."""
        ...

    def webhooks(self, urls: Sequence[str], problems: int = 20) -> list[dict[str, Any]]: ...

    def stats(self, query: StatsQuery, resolve: Resolve | None = None) -> Stats:
        """Reputation figures; by recipient domain or provider, ``resolve`` may name the provider of
        domains that no event did (the optional MX lookup)."""
        ...

    def diagnostics(self, query: DiagnosticsQuery, resolve: Resolve | None = None) -> Diagnostics:
        """The top bounce and complaint reasons, per provider."""
        ...

    def evaluate_reputation(self, policy: AlertPolicy, now: datetime) -> list[Transition]:
        """Append a change to the feed for every reputation level that moved in the window ending ``now``."""
        ...

    def prune(self, before: str) -> tuple[int, int]: ...

    def apply_retention(self, cutoffs: Cutoffs, batch: int = BATCH) -> Pruned | None:
        """Prune raw records, events and fates older than ``cutoffs``, in short batches; suppressions and
        the figures per message and per day stay. None when another process is pruning right now."""
        ...

    def forget(self, address: str, now: datetime | None = None, audit: AuditEntry | None = None) -> Erasure:
        """Erase a normalized address from everything stored; a suppression in force stays, under its
        keyed hash (the policy's ``erasure_key``, which must be set). Idempotent. ``audit`` (who did it)
        is recorded with the hash as its target, and older entries that named the address name the hash."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def open_store(
    url: str = DEFAULT_URL,
    *,
    bulk: bool = False,
    policy: Policy | None = None,
    migrate: bool = True,
    create: bool = True,
) -> Store:
    """Open the store at ``url``: ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``postgresql://...``.
    ``bulk`` tunes it for loading files rather than for answering requests. ``policy`` is the suppression
    rules the change feed announces by (default: SES-like defaults).

    ``migrate`` (the default) creates mailfate's tables, or brings them up to date. With
    ``migrate=False``, for callers that only read, nothing is created, not even a missing SQLite file:
    a database that is not mailfate's, or is behind this version's schema, raises
    :class:`~mailfate.errors.SchemaError`. With ``create=False`` a database must be mailfate's already (a
    SQLite file is never created) and raises SchemaError otherwise; ``migrate`` then brings it up to date,
    for callers that change records that must be there. A PostgreSQL server that cannot be reached raises
    :class:`~mailfate.errors.StorageError` at once, with the server's reason.

    Nothing here reads the environment: the command line and the server read the settings and pass
    them down (``mailfate.open_store`` does the same for library users)."""
    policy = policy or Policy()
    if url.startswith("sqlite://"):
        from mailfate.store.sqlite import SQLiteStore

        return SQLiteStore(url, bulk=bulk, policy=policy, migrate=migrate, create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from mailfate.store.postgres import PostgresStore

        return PostgresStore(url, policy=policy, migrate=migrate, create=create)
    raise UsageError(f"unknown database URL {url!r}: expected sqlite:///PATH or postgresql://...")
