"""``mailfate forget``: erase an address (docs/privacy.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailfate.cli.base import OK, Command, cli_actor, open_db, print_json, safe
from mailfate.core.addresses import email_address
from mailfate.core.audit import MAX_REASON, AuditAction, AuditEntry, reason_or_default
from mailfate.core.erasure import Erasure
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError
from mailfate.settings import Settings


def add_commands(command: Command) -> None:
    forget = command("forget", cmd_forget, "erase everything stored about an address; if suppressed, it stays "
                     "suppressed under a keyed hash", db="changes")  # fmt: skip
    forget.add_argument("address", metavar="ADDRESS", help="the email address to erase, in any letter case")
    forget.add_argument("--json", action="store_true", help="print the object DELETE /api/recipients/{address} returns")
    forget.add_argument("--reason", default=None, help="why (kept in the audit trail, without the address)")


def cmd_forget(args: argparse.Namespace) -> int:
    address = email_address(args.address)
    if args.reason is not None and len(args.reason) > MAX_REASON:
        raise UsageError(f"--reason is over {MAX_REASON} characters")
    settings = Settings.from_env()
    if settings.policy.erasure_key is None:
        raise UsageError(
            "forget needs MAILFATE_ERASURE_KEY, a secret of at least 16 characters: an erased address that was "
            "suppressed stays suppressed under its keyed hash (see docs/privacy.md)"
        )
    store = open_db(args, settings)
    try:
        entry = AuditEntry(format_timestamp(datetime.now(UTC)), cli_actor(), AuditAction.FORGET, address,
                           reason_or_default(args.reason))  # fmt: skip
        erasure = store.forget(address, audit=entry)
    finally:
        store.close()
    if args.json:
        print_json(erasure.to_json())
    else:
        print(describe(erasure))
    return OK


def describe(erasure: Erasure) -> str:
    """What was removed, in one line (then whether it stays suppressed)."""
    address = safe(erasure.address)
    parts = [f"{count:,} {_NAMES[name]}" for name, count in erasure.removed.items() if count]
    done = f"forgot {address}: " + ", ".join(parts) if parts else f"nothing stored about {address} any more"
    if erasure.suppressed:
        return done + "\nit stays suppressed, kept under its keyed hash only"
    return done


_NAMES = {
    "records": "raw records rewritten without it",
    "events": "events",
    "fates": "fates",
    "messages": "messages it alone received",
    "search_terms": "search terms",
    "changes": "changes of the feed",
    "deliveries": "webhook deliveries",
    "suppressions": "suppressions added or lifted by hand",
    "quarantined": "quarantined records",
    "audit": "audit entries rewritten to its keyed hash",
}
