"""``mailfate quarantine``: what could not be understood; ``quarantine replay`` parses it again with
today's code, ``quarantine dismiss`` drops it."""

from __future__ import annotations

import argparse
import sys

from mailfate.cli import render
from mailfate.cli.base import DB_HELP, MISSING, OK, Command, cli_by, open_db, print_json, safe
from mailfate.errors import UsageError
from mailfate.settings import Settings
from mailfate.sns.certs import CertificateCache
from mailfate.sns.verify import Verifier
from mailfate.sources.replay import KEPT, STORED, ReplayResult, replay_quarantine
from mailfate.sources.replay import MISSING as NOT_THERE

#: Lines of what stayed that ``replay --all`` prints at most (the count says the rest).
SHOWN = 20


def add_commands(command: Command) -> None:
    quarantine = command("quarantine", cmd_quarantine, "records that could not be understood, with the reason")
    quarantine.add_argument("--json", action="store_true", help="print a JSON array of what GET /api/quarantine lists")
    quarantine.add_argument("--limit", type=int, default=100, help="newest this many records (default 100)")
    actions = quarantine.add_subparsers(
        dest="action", metavar="ACTION", parser_class=type(quarantine), help="replay or dismiss records (optional)"
    )

    replay = _action(actions, "replay", cmd_replay, "parse records again with today's code: what parses becomes facts")
    replay.add_argument("ids", metavar="ID", nargs="*", type=_item_id, help="the records (# in the list)")
    replay.add_argument("--all", action="store_true", help="every record in the quarantine")

    dismiss = _action(actions, "dismiss", cmd_dismiss, "drop records from the quarantine for good")
    dismiss.add_argument("ids", metavar="ID", nargs="+", type=_item_id, help="the records (# in the list)")


def _action(actions: argparse._SubParsersAction, name: str, handler: object, help: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    sub: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help)
    sub.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=DB_HELP)
    # SUPPRESS: a --json given before the action stays.
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON answer")
    sub.set_defaults(handler=handler, db_use="changes")  # on records that are there: never a new database
    return sub


def _item_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**62:
        raise argparse.ArgumentTypeError(f"not a quarantined record's id: {text!r} (the number after #)")
    return int(text)


def cmd_quarantine(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    store = open_db(args)
    try:
        items = store.quarantined(limit=args.limit)
    finally:
        store.close()
    if args.json:
        print_json([item.to_json() for item in items])
    else:
        print(render.quarantine_text(items))
    return OK


def cmd_replay(args: argparse.Namespace) -> int:
    if args.all == bool(args.ids):
        raise UsageError("name the records to replay (their ids), or --all")
    settings = Settings.from_env()
    cache = CertificateCache(certs_dir=settings.sns_certs_dir, max_size=settings.cert_cache_size)
    store = open_db(args, settings)
    try:
        verifier = Verifier(cache, settings.topic_arns)
        result = replay_quarantine(store, None if args.all else args.ids, verifier, cli_by())
    finally:
        store.close()
    if getattr(args, "json", False):
        print_json(result.to_json())
    else:
        print(replay_text(result, every=not args.all))
    return MISSING if result.count(NOT_THERE) else OK


def replay_text(result: ReplayResult, every: bool) -> str:
    """Each record asked for by id; after --all, what stayed (up to :data:`SHOWN`); then the counts."""
    lines: list[str] = []
    for item in result.items:
        if not every and item.outcome not in (KEPT, NOT_THERE):
            continue
        if not every and len(lines) == SHOWN:
            lines.append(f"... and {result.count(KEPT) + result.count(NOT_THERE) - SHOWN:,} more kept")
            break
        if item.outcome == STORED:
            lines.append(f"#{item.id} stored: now facts, out of the quarantine")
        elif item.outcome == NOT_THERE:
            lines.append(f"#{item.id} not in the quarantine")
        elif item.outcome == KEPT:
            lines.append(f"#{item.id} kept: {safe(item.reason)}")
        else:
            lines.append(f"#{item.id} duplicate: its facts were stored already; out of the quarantine")
    counts = ", ".join(f"{result.count(o):,} {o}" for o in ("stored", "duplicate", "kept", "missing"))
    lines.append(f"replayed {len(result.items):,} records: {counts}")
    return "\n".join(lines)


def cmd_dismiss(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        gone = store.dismiss_quarantined(args.ids, cli_by())
    finally:
        store.close()
    missing = sorted(set(args.ids) - set(gone))
    if getattr(args, "json", False):
        print_json({"dismissed": gone, "missing": missing})
    else:
        if gone:
            print(f"dismissed {len(gone):,} records: {', '.join(f'#{i}' for i in gone)}")
        for item_id in missing:
            print(f"mailfate: #{item_id} is not in the quarantine", file=sys.stderr)
    return MISSING if missing else OK
