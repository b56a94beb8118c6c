"""mailfate: the true fate of every email sent through Amazon SES.

The library in four calls::

    import mailfate

    store = mailfate.open_store("sqlite:///mailfate.db")
    mailfate.ingest_bytes(store, body)            # anything SES, SNS, SQS or EventBridge delivers
    view = store.message("0100017fe7043e8e-...")  # None if never seen
    view.status, [fate.to_json() for fate in view.recipients]
    [r.allowed for r in mailfate.check(store, ["jane@example.com", "bob@example.com"])]
"""

from __future__ import annotations

from collections.abc import Iterable

from mailfate._version import __version__
from mailfate.client import AsyncClient, Client
from mailfate.core.check import CheckResult
from mailfate.core.fate import fold, summarize_event
from mailfate.core.model import Event, Kind, Mail, Record, Rejected, Status
from mailfate.core.suppression import Policy, Suppression
from mailfate.core.views import Fate, IngestResult, MessageView, RecipientView
from mailfate.errors import (
    BadRequest,
    MailfateError,
    NotFound,
    PayloadError,
    SchemaError,
    ServiceError,
    ServiceUnavailable,
    StorageError,
    Unauthorized,
    UsageError,
)
from mailfate.settings import Settings
from mailfate.sources.ingest import ingest_bytes, ingest_stream
from mailfate.sources.parse import parse_record
from mailfate.store import Store
from mailfate.store import open_store as _open_store


def open_store(
    url: str | None = None, *, bulk: bool = False, policy: Policy | None = None, migrate: bool = True
) -> Store:
    """Open (and, unless ``migrate=False``, migrate) a store: ``url`` defaults to ``MAILFATE_DB``, else
    ``sqlite:///mailfate.db``; ``policy`` to the ``MAILFATE_SOFT_BOUNCE_*`` settings.
    :func:`mailfate.store.open_store` is the same without reading the environment."""
    settings = Settings.from_env()
    return _open_store(url or settings.database_url, bulk=bulk, policy=policy or settings.policy, migrate=migrate)


def check(store: Store, addresses: str | Iterable[str]) -> list[CheckResult]:
    """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order.

    Addresses are compared normalized (display name and angle brackets removed, case folded); a
    malformed one gets ``error`` and ``allowed`` False, and does not spoil the others. The answer is
    the suppression the store keeps for each address: the same as every other surface gives."""
    return store.check(addresses)


__all__ = [
    "AsyncClient",
    "BadRequest",
    "CheckResult",
    "Client",
    "Event",
    "Fate",
    "IngestResult",
    "Kind",
    "Mail",
    "MailfateError",
    "MessageView",
    "NotFound",
    "PayloadError",
    "Policy",
    "RecipientView",
    "Record",
    "Rejected",
    "SchemaError",
    "ServiceError",
    "ServiceUnavailable",
    "Status",
    "StorageError",
    "Store",
    "Suppression",
    "Unauthorized",
    "UsageError",
    "__version__",
    "check",
    "fold",
    "ingest_bytes",
    "ingest_stream",
    "open_store",
    "parse_record",
    "summarize_event",
]
