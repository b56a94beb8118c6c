"""``mailfate changes``: the change feed as JSON Lines, once or following it."""

from __future__ import annotations

import argparse
import sys
import time

from mailfate.cli.base import CUT_OFF, OK, Command, json_safe, open_db, reader_gone
from mailfate.core.jsonutil import dumps
from mailfate.errors import UsageError

#: How often ``--follow`` asks for new changes.
FOLLOW_SECONDS = 1.0


def add_commands(command: Command) -> None:
    changes = command("changes", cmd_changes, "changes of fates and suppressions, oldest first, as JSON Lines")
    changes.add_argument("--after", type=int, default=0, metavar="SEQ", help="only changes after this number")
    changes.add_argument("--follow", action="store_true", help="keep printing new changes until interrupted")
    changes.add_argument("--limit", type=int, default=1000, help="changes read per query (default 1000)")


def cmd_changes(args: argparse.Namespace) -> int:
    if args.after < 0:
        raise UsageError("--after must be 0 or more")
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    store = open_db(args)
    after = args.after
    try:
        while True:
            page = store.changes(after, args.limit)
            for change in page:
                sys.stdout.write(json_safe(dumps(change.to_json())) + "\n")
            sys.stdout.flush()
            if page:
                after = page[-1].seq
            if len(page) == args.limit:
                continue  # more is waiting: no sleep
            if not args.follow:
                return OK
            if _wait_for_more():
                return CUT_OFF  # the reader has gone (| head -1): nobody wants more
    finally:
        store.close()


def _wait_for_more() -> bool:
    """Sleep until the next poll of the feed, watching the reader: True as soon as it has gone."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    while time.monotonic() < deadline:
        if reader_gone():
            return True
        time.sleep(0.1)
    return reader_gone()
