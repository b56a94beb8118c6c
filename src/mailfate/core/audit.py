"""The audit trail: who did what by hand, to what, when and why.

Every action an operator takes (over HTTP with a token, or on the command line) is one entry, written
in the same transaction as the action itself: an action without its entry, or an entry without its
action, cannot be committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mailfate.core.addresses import normalize_address


class AuditAction(StrEnum):
    #: An address suppressed by hand.
    SUPPRESS = "suppress"
    #: A suppression lifted by hand.
    UNSUPPRESS = "unsuppress"
    #: An address erased (right to erasure); its entries then name it by its keyed hash only.
    FORGET = "forget"
    #: A quarantined record sent through ingestion again.
    QUARANTINE_REPLAY = "quarantine_replay"
    #: A quarantined record dropped by hand.
    QUARANTINE_DISMISS = "quarantine_dismiss"
    #: A webhook delivery queued again by hand.
    WEBHOOK_REDELIVER = "webhook_redeliver"
    #: The suppression list put on the SES account-level suppression list.
    PUSH_SES = "push_ses"
    #: The SES account-level suppression list added to mailfate's.
    PULL_SES = "pull_ses"
    #: Changes made to the AWS account by ``setup aws``.
    SETUP_AWS = "setup_aws"


#: The reason recorded when an action was taken without one (a contract keeps the reason optional).
NO_REASON = "(no reason given)"
#: Longest reason kept; a longer one is refused rather than cut (the record must say what was said).
MAX_REASON = 1000


def reason_or_default(reason: str | None) -> str:
    text = (reason or "").strip()
    return text or NO_REASON


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action: ``actor`` is a token's name (HTTP) or ``cli:USER`` (the command line); ``target`` is
    what it acted on (an address, a quarantine id, a webhook URL, an AWS account and region)."""

    at: str
    actor: str
    action: AuditAction
    target: str
    reason: str = NO_REASON
    detail: Mapping[str, Any] | None = None
    id: int | None = field(default=None, compare=False)  # given by the store

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": str(self.action),
            "target": self.target,
            "reason": self.reason,
            "detail": dict(self.detail) if self.detail is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, when and why: what the entries of one action share (a dismissal of many records is an
    entry per record, each with the same actor, time and reason)."""

    name: str
    at: str
    reason: str = NO_REASON

    def entry(self, action: AuditAction, target: str, detail: Mapping[str, Any] | None = None) -> AuditEntry:
        return AuditEntry(self.at, self.name, action, target, self.reason, detail)


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first, and the cursor of the next (older) page when there is one."""

    entries: list[AuditEntry]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"entries": [e.to_json() for e in self.entries], "next_cursor": self.next_cursor}


def parse_action(raw: str) -> AuditAction:
    """An action name as given by a user; ValueError naming the known ones otherwise."""
    try:
        return AuditAction(raw.strip().lower())
    except ValueError:
        known = ", ".join(a.value for a in AuditAction)
        raise ValueError(f"action must be one of {known}, not {raw!r}") from None


def target_key(raw: str) -> str:
    """A target asked for, as entries record it: an address in any letter case, or with a display name,
    is the normalized address (as everywhere else); a URL, a quarantine id, a keyed hash, as given."""
    text = raw.strip()
    if "@" in text and "://" not in text:
        return normalize_address(text)
    return text
