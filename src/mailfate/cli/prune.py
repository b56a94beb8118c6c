"""``mailfate prune``: delete what is older than the retention (docs/privacy.md); suppressions and the
daily figures stay.

``--older-than DAYS`` prunes raw and quarantined records received over DAYS days ago, as it always has;
the retention settings (``MAILFATE_RETENTION_*_DAYS``) add events and fates, and give the raw records'
cut-off when ``--older-than`` is not given.

A cut-off under :data:`CONFIRM_BELOW_DAYS` days reaches records that the reputation window, a replay
from the quarantine or an investigation may still want: at a terminal it asks first ("y" deletes),
unless ``--yes``. Without a terminal (a script, a scheduled job, a test) nobody can answer, and
``prune --older-than DAYS`` is a contract that such callers rely on: it proceeds, and says what it
deleted, as every run does.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from datetime import UTC, datetime, timedelta

from mailfate.cli.base import MISSING, OK, Command, open_db
from mailfate.core.timestamps import format_timestamp
from mailfate.core.wording import counted
from mailfate.errors import UsageError
from mailfate.settings import Settings

#: Cut-offs more recent than this many days need confirmation.
CONFIRM_BELOW_DAYS = 7


def add_commands(command: Command) -> None:
    prune = command("prune", cmd_prune, "delete raw records older than DAYS, and what the retention settings say; "
                    "suppressions and daily figures stay", db="writes")  # fmt: skip
    prune.add_argument("--older-than", type=float, metavar="DAYS",
                       help=f"raw and quarantined records received over DAYS days ago (under {CONFIRM_BELOW_DAYS} "
                       "asks to confirm); default: MAILFATE_RETENTION_RECORDS_DAYS")  # fmt: skip
    prune.add_argument("--yes", action="store_true",
                       help=f"do not ask at a terminal about a cut-off under {CONFIRM_BELOW_DAYS} days")  # fmt: skip


def cmd_prune(args: argparse.Namespace) -> int:
    days = args.older_than
    settings = Settings.from_env()
    retention = settings.retention
    if days is None and not retention.active:
        raise UsageError("give --older-than DAYS, or set the retention (MAILFATE_RETENTION_*_DAYS)")
    if days is not None and (not math.isfinite(days) or not 0 <= days <= 36_500):
        raise UsageError("--older-than must be a number of days from 0 to 36500")
    now = datetime.now(UTC)
    cutoff = format_timestamp(now - timedelta(days=days)) if days is not None else None
    if (days is not None and days < CONFIRM_BELOW_DAYS and not args.yes and sys.stdin.isatty()
            and not _confirmed(days, cutoff or "")):  # fmt: skip
        return MISSING
    cutoffs = dataclasses.replace(retention.cutoffs(now), records=None)
    if days is None:
        cutoff = retention.cutoffs(now).records
    store = open_db(args, settings)
    try:
        if cutoff is not None:
            records, quarantined = store.prune(cutoff)
            ones = counted(quarantined, "quarantined one", "quarantined ones")
            print(f"deleted {counted(records, 'raw record')} and {ones} received before {cutoff}")
        if cutoffs.events is not None or cutoffs.fates is not None:
            pruned = store.apply_retention(cutoffs)
            if pruned is None:
                print("mailfate: another process is applying the retention right now", file=sys.stderr)
                return MISSING
            sent = cutoffs.fates or cutoffs.events
            print(f"deleted {counted(pruned.messages, 'message')} with {counted(pruned.fates, 'fate')}, and "
                  f"{counted(pruned.events, 'event')}, "
                  f"of mail sent before {sent}; suppressions and daily figures stay")  # fmt: skip
    finally:
        store.close()
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
