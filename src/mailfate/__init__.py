"""mailfate: the true fate of every email sent through Amazon SES.

The library in four calls::

    import mailfate

    store = mailfate.open_store("sqlite:///mailfate.db")
    mailfate.ingest_bytes(store, body)            # anything SES, SNS, SQS or EventBridge delivers
    view = store.message("0100017fe7043e8e-...")  # None if never seen
    view.status, [fate.to_json() for fate in view.recipients]
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import MailfateError, PayloadError, StorageError, UsageError
from .fate import fold, summarize_event
from .ingest import ingest_bytes, ingest_stream
from .model import Event, Kind, Mail, Record, Rejected, Status
from .parse import parse_record
from .store import Store, open_store
from .views import Fate, IngestResult, MessageView, RecipientView

__all__ = [
    "Event",
    "Fate",
    "IngestResult",
    "Kind",
    "Mail",
    "MailfateError",
    "MessageView",
    "PayloadError",
    "RecipientView",
    "Record",
    "Rejected",
    "Status",
    "StorageError",
    "Store",
    "UsageError",
    "__version__",
    "fold",
    "ingest_bytes",
    "ingest_stream",
    "open_store",
    "parse_record",
    "summarize_event",
]
