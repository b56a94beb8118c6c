"""mailfate: the true fate of every email sent through Amazon SES.

The library in four calls::

    import mailfate

    store = mailfate.open_store("sqlite:///mailfate.db")
    mailfate.ingest_bytes(store, body)            # anything SES, SNS, SQS or EventBridge delivers
    view = store.message("0100017fe7043e8e-...")  # None if never seen
    view.status, [fate.to_json() for fate in view.recipients]
    [r.allowed for r in mailfate.check(store, ["jane@example.com", "bob@example.com"])]
"""

from mailfate._library import check, open_store
from mailfate._version import __version__
from mailfate.client import AsyncClient, Client
from mailfate.core.check import CheckResult
from mailfate.core.fate import fold, summarize_event
from mailfate.core.model import Event, Kind, Mail, Record, Rejected, Status
from mailfate.core.suppression import Policy, Suppression
from mailfate.core.views import Fate, IngestResult, MessageView, RecipientView
from mailfate.errors import (
    BadRequest,
    Forbidden,
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
from mailfate.sources.ingest import ingest_bytes, ingest_stream
from mailfate.sources.parse import parse_record
from mailfate.store import Store

__all__ = [
    "AsyncClient",
    "BadRequest",
    "CheckResult",
    "Client",
    "Event",
    "Fate",
    "Forbidden",
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
