"""``mailfate prune``: delete old raw records; events, fates and suppressions stay.

A cut-off under :data:`CONFIRM_BELOW_DAYS` days reaches records that the reputation window, a replay
from the quarantine or an investigation may still want: at a terminal it asks first ("y" deletes),
unless ``--yes``. Without a terminal (a script, a scheduled job, a test) nobody can answer, and
``prune --older-than DAYS`` is a contract that such callers rely on: it proceeds, and says what it
deleted, as every run does.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime, timedelta

from mailfate.cli.base import MISSING, OK, Command, open_db
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError

#: Cut-offs more recent than this many days need confirmation.
CONFIRM_BELOW_DAYS = 7


def add_commands(command: Command) -> None:
    prune = command("prune", cmd_prune, "delete raw records older than DAYS; events, fates and suppressions stay",
                    db="writes")  # fmt: skip
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                       help=f"received over DAYS days ago (under {CONFIRM_BELOW_DAYS} asks to confirm)")  # fmt: skip
    prune.add_argument("--yes", action="store_true",
                       help=f"do not ask at a terminal about a cut-off under {CONFIRM_BELOW_DAYS} days")  # fmt: skip


def cmd_prune(args: argparse.Namespace) -> int:
    days = args.older_than
    if not math.isfinite(days) or not 0 <= days <= 36_500:
        raise UsageError("--older-than must be a number of days from 0 to 36500")
    cutoff = format_timestamp(datetime.now(UTC) - timedelta(days=days))
    if days < CONFIRM_BELOW_DAYS and not args.yes and sys.stdin.isatty() and not _confirmed(days, cutoff):
        return MISSING
    store = open_db(args)
    try:
        records, quarantined = store.prune(cutoff)
    finally:
        store.close()
    print(f"deleted {records:,} raw records and {quarantined:,} quarantined ones received before {cutoff}")
    return OK


def _confirmed(days: float, cutoff: str) -> bool:
    """Asked at a terminal: whether the person there typed y."""
    what = f"every raw and quarantined record received before {cutoff} ({days:g} days ago)"
    print(f"This deletes {what}; events, fates and suppressions stay.", file=sys.stderr)
    print("Delete them? [y/N] ", end="", file=sys.stderr, flush=True)  # stdout stays for results
    answer = sys.stdin.readline()
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("mailfate: nothing deleted", file=sys.stderr)
    return False
