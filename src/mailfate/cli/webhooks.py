"""``mailfate webhooks``: what each outbound webhook got and what it gave up on; ``webhooks redeliver``
tries given-up changes again."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailfate.cli.base import DB_HELP, MISSING, OK, Command, cli_by, open_db, print_json, safe
from mailfate.errors import UsageError
from mailfate.outbound.names import listed, named_webhook, shown_url
from mailfate.settings import Settings


def add_commands(command: Command) -> None:
    webhooks = command("webhooks", cmd_webhooks, "outbound webhooks: delivered, waiting, given up, with the last error")
    webhooks.add_argument("--json", action="store_true", help="print the JSON array GET /api/webhooks returns")
    actions = webhooks.add_subparsers(
        dest="action", metavar="ACTION", parser_class=type(webhooks), help="redeliver given-up changes (optional)"
    )
    redeliver = actions.add_parser(
        "redeliver", help="deliver again changes given up on", description="deliver again changes given up on"
    )
    redeliver.add_argument(
        "webhook", metavar="WEBHOOK", help="its position in the list (1 first), or its URL as configured or shown"
    )
    redeliver.add_argument("seqs", metavar="SEQ", nargs="*", type=_seq, help="the changes (their seq)")
    redeliver.add_argument("--all", action="store_true", help="every change given up on for this webhook")
    redeliver.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=DB_HELP)
    redeliver.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON answer")
    redeliver.set_defaults(handler=cmd_redeliver, db_use="changes")  # changes that are there: no new database


def _seq(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**62:
        raise argparse.ArgumentTypeError(f"not a change's seq: {text!r}")
    return int(text)


def _urls(settings: Settings) -> tuple[str, ...]:
    config = settings.webhooks
    return (*config.urls, *config.alert_urls) if config else ()


def cmd_webhooks(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    urls = _urls(settings)
    if not urls:
        print("mailfate: no webhook is configured (MAILFATE_WEBHOOK_URL, MAILFATE_ALERT_URL)", file=sys.stderr)
        return MISSING
    store = open_db(args, settings)
    try:
        found = listed(store.webhooks(urls))
    finally:
        store.close()
    if args.json:
        print_json(found)
    else:
        print("\n".join(_text(w) for w in found))
    return OK


def _text(webhook: dict[str, Any]) -> str:
    lines = [
        f"{webhook['webhook']}. {safe(webhook['url'])}: {webhook['delivered']:,} delivered "
        f"(last {webhook['last_delivered_at'] or 'never'}), {webhook['pending']:,} waiting, "
        f"{webhook['failed']:,} given up"
    ]
    for failure in webhook["failures"]:
        when = f"next attempt {failure['next_attempt_at']}" if failure["state"] == "pending" else "given up"
        status = f"HTTP {failure['last_status']}" if failure["last_status"] else "no answer"
        lines.append(
            f"  seq {failure['seq']} {safe(failure['address'] or '')}: {when} after {failure['attempts']} attempts; "
            f"{status}: {safe(failure['last_error'] or '')}"
        )
    return "\n".join(lines)


def cmd_redeliver(args: argparse.Namespace) -> int:
    if args.all == bool(args.seqs):
        raise UsageError("name the changes to deliver again (their seq), or --all")
    settings = Settings.from_env()
    urls = _urls(settings)
    # A position, the URL as configured or as the list shows it; else a URL as given (one no longer
    # configured may still have changes waiting).
    typed = args.webhook
    given: str | int = int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 9 else typed
    url = named_webhook(urls, given)
    if url is None and isinstance(given, int):
        raise UsageError(f"no webhook at position {given}: {len(urls)} configured (see mailfate webhooks)")
    url = url or typed
    store = open_db(args, settings)
    try:
        by = cli_by()
        done = store.redeliver(url, None if args.all else args.seqs, by.at, by)
    finally:
        store.close()
    missing = sorted(set(args.seqs) - set(done))
    if getattr(args, "json", False):
        position = urls.index(url) + 1 if url in urls else None
        print_json({"webhook": position, "url": shown_url(url), "redelivered": done, "missing": missing})
    elif done:
        print(f"{len(done):,} changes due again for {safe(shown_url(url))}: seq {', '.join(map(str, done))}")
    for seq in missing:
        print(f"mailfate: change {seq} was not given up on for {safe(shown_url(url))}", file=sys.stderr)
    if not done and not missing:
        print(f"mailfate: nothing was given up on for {safe(shown_url(url))}", file=sys.stderr)
    return MISSING if missing or not done else OK
