"""The activity list (docs/api.md): one row per recipient of a message, newest first, and its CSV form."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mailfate.core import spreadsheet
from mailfate.core.views import Fate


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One recipient of one message: its fate, and what the list shows of the message."""

    fate: Fate
    subject: str | None
    source: str | None
    sent_at: str | None
    configuration_set: str | None
    tags: dict[str, list[str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.fate.message_id,
            **self.fate.to_json(),
            "subject": self.subject,
            "source": self.source,
            "sent_at": self.sent_at,
            "configuration_set": self.configuration_set,
            "tags": self.tags,
        }


@dataclass(frozen=True, slots=True)
class ActivityPage:
    rows: list[ActivityRow]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"activity": [row.to_json() for row in self.rows], "next_cursor": self.next_cursor}


#: The columns of the CSV export, in order.
CSV_COLUMNS = (
    "sent_at",
    "message_id",
    "address",
    "status",
    "auto_reply",
    "bounce_type",
    "bounce_subtype",
    "bounce_status",
    "diagnostic_code",
    "complaint_type",
    "subject",
    "source",
    "configuration_set",
    "last_event_at",
)


def csv_values(row: ActivityRow) -> list[str]:
    s = row.fate.summary
    bounce = _object(s.bounce)
    complaint = _object(s.complaint_info)
    return spreadsheet.row([
        row.sent_at, row.fate.message_id, row.fate.address, s.status.value, "true" if s.auto_reply else "false",
        bounce.get("type"), bounce.get("subtype"), bounce.get("status"), bounce.get("diagnostic_code"),
        complaint.get("feedback_type"), row.subject, row.source, row.configuration_set, s.last_event_at,
    ])  # fmt: skip


def _object(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


def csv_text(rows: Iterable[ActivityRow], header: bool = False) -> str:
    """Rows of the export as CSV text (RFC 4180 line ends), the header first when asked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(csv_values(row))
    return out.getvalue()
