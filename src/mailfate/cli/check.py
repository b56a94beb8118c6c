"""``mailfate check ADDRESS...``: may these addresses be mailed? Exit status 1 when any may not."""

from __future__ import annotations

import argparse

from mailfate.cli.base import MISSING, OK, Command, open_db, print_json, safe
from mailfate.cli.render import describe
from mailfate.core.check import CheckResult


def add_commands(command: Command) -> None:
    check = command("check", cmd_check, "may these addresses be mailed? exit status 1 when any may not")
    check.add_argument("addresses", metavar="ADDRESS", nargs="+", help="the email addresses to check")
    check.add_argument("--json", action="store_true", help="a JSON array, one answer per address")


def cmd_check(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        found = store.check(args.addresses)
    finally:
        store.close()
    if args.json:
        print_json([result.to_json() for result in found])
    else:
        print("\n".join(_line(result) for result in found))
    return OK if all(result.allowed for result in found) else MISSING


def _line(result: CheckResult) -> str:
    address = safe(result.address)  # as typed, or as a record had it: shown, never run by the terminal
    if result.error is not None:
        return f"{address}  error: {safe(result.error)}"
    s = result.suppression
    if s is None:
        return f"{address}  allowed"
    event = s.event or {}
    cause = f", {event['kind']} of {safe(event['message_id'])}" if event.get("message_id") else ""
    until = f", until {s.expires_at}" if s.expires_at else ""
    return f"{address}  suppressed ({safe(describe(s))}) since {s.since}{until}{cause}"
