"""``mailfate changes``: the change feed as JSON Lines, once or following it."""

from __future__ import annotations

import argparse
import sys
import time

from mailfate.cli.base import OK, Command, open_db
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
                sys.stdout.write(dumps(change.to_json()) + "\n")
            sys.stdout.flush()
            if page:
                after = page[-1].seq
            if len(page) == args.limit:
                continue  # more is waiting: no sleep
            if not args.follow:
                return OK
            time.sleep(FOLLOW_SECONDS)
    finally:
        store.close()
