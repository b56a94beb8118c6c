"""The ``mailfate`` command line: thin commands over the library (SPEC section 7).

Exit status: 0 success; 1 a looked-up thing does not exist, or ``ingest`` quarantined or refused a
record, or storage failed; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import __version__, render
from .addresses import normalize_address
from .cli_aws import add_commands as add_aws_commands
from .cli_changes import add_commands as add_change_commands
from .cli_reputation import add_commands as add_reputation_commands
from .errors import MailfateError, StorageError, UsageError
from .explain import explain
from .ingest import Throttle, VerifyEnvelopes, ingest_paths
from .settings import Settings
from .store import Store, open_store
from .suppression import with_suppression
from .views import IngestResult

OK, MISSING, USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"mailfate: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mailfate", description="The true fate of every email sent through Amazon SES.")
    parser.add_argument("--version", action="version", version=f"mailfate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--db", metavar="URL", help="database URL (default: $MAILFATE_DB or sqlite:///mailfate.db)")
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, "serve POST /sns, the JSON API and the dashboard over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8025, help="port (default 8025)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    ingest = command("ingest", cmd_ingest, "store notifications from files (JSON, JSON Lines, .gz) or - for stdin")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument("--verify", action="store_true", help="check SNS signatures; quarantine what fails")

    status = command("status", cmd_status, "the fate of one message and of each of its recipients")
    status.add_argument("message_id", metavar="MESSAGE_ID")
    status.add_argument("--json", action="store_true")

    recipient = command("recipient", cmd_recipient, "every message sent to an address, and its suppression")
    recipient.add_argument("address", metavar="ADDRESS")
    recipient.add_argument("--json", action="store_true")

    explain_cmd = command("explain", cmd_explain, "what a bounce type/subtype or complaint type means")
    explain_cmd.add_argument("type", metavar="TYPE")
    explain_cmd.add_argument("subtype", metavar="SUBTYPE", nargs="?")
    explain_cmd.add_argument("--json", action="store_true")

    quarantine = command("quarantine", cmd_quarantine, "records that could not be understood, with the reason")
    quarantine.add_argument("--json", action="store_true")
    quarantine.add_argument("--limit", type=int, default=100)

    add_reputation_commands(command)
    add_change_commands(command)
    add_aws_commands(command)

    consume = command("consume", cmd_consume, "long-poll an SQS queue: store each message, then delete it")
    consume.add_argument("source", choices=["sqs"], help="where from (sqs)")
    consume.add_argument("queue_url", metavar="QUEUE_URL")
    consume.add_argument("--verify", action="store_true", help="check SNS signatures (as POST /sns does)")
    consume.add_argument("--wait", type=int, default=20, choices=range(0, 21), metavar="SECONDS",
                         help="long-poll wait, 0 to 20 (default 20)")  # fmt: skip
    consume.add_argument("--region", help="AWS region (default: from the queue URL)")

    prune = command("prune", cmd_prune, "delete raw records older than DAYS; fates and events stay")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS")

    demo = command("demo", cmd_demo, "ingest a built-in sample into a temporary database and show the fates")
    demo.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"mailfate: error: {exc}", file=sys.stderr)
        return USAGE
    except StorageError as exc:
        print(f"mailfate: storage error: {exc}", file=sys.stderr)
        return MISSING
    except MailfateError as exc:
        print(f"mailfate: error: {exc}", file=sys.stderr)
        return MISSING
    except KeyboardInterrupt:
        print("mailfate: interrupted", file=sys.stderr)
        return 130
    return code


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.db)


def cmd_ingest(args: argparse.Namespace) -> int:
    store = open_store(args.db, bulk=True)
    progress = _ProgressBar() if sys.stderr.isatty() and not args.json else None
    check = None
    if args.verify:
        settings = Settings.from_env()
        check = VerifyEnvelopes(settings.sns_certs_dir, settings.topic_arns)
    try:
        outcomes = ingest_paths(store, args.paths, stdin=sys.stdin.buffer, check=check, progress=progress)
    finally:
        store.close()
        if progress:
            progress.finish()
    total = IngestResult()
    failed = False
    for outcome in outcomes:
        if outcome.error:
            print(f"mailfate: {outcome.error}", file=sys.stderr)
            failed = True
        elif outcome.result is not None:
            total.add(outcome.result)
    if args.json:
        _print_json({**total.to_json(), "errors": [o.error for o in outcomes if o.error]})
    else:
        print(render.summary_text(total))
        if total.quarantined:
            print("see them with: mailfate quarantine", file=sys.stderr)
    return MISSING if failed or total.quarantined else OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers, db=args.db)


def cmd_consume(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .certs import CertificateCache
    from .consume import SqsConsumer, sqs_client
    from .logs import configure
    from .verify import Verifier
    from .webhooks import WebhookSender

    settings = Settings.from_env()
    configure(settings.log_level)
    verifier = None
    if args.verify:
        cache = CertificateCache(certs_dir=settings.sns_certs_dir, max_size=settings.cert_cache_size)
        verifier = Verifier(cache, settings.topic_arns)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the batch in hand, then leave
    store = open_store(args.db, policy=settings.policy)
    sender = WebhookSender(store, settings.webhooks) if settings.webhooks else None
    try:
        if sender:
            sender.start()
        consumer = SqsConsumer(store, sqs_client(args.queue_url, args.region), args.queue_url, verifier, args.wait)
        stats = consumer.run(stop)
    finally:
        if sender:
            sender.stop()
        store.close()
    print(
        f"{stats.received:,} received, {stats.stored:,} stored, {stats.duplicates:,} duplicates, "
        f"{stats.quarantined:,} quarantined",
        file=sys.stderr,
    )
    return OK


def cmd_prune(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from .timestamps import format_timestamp

    if args.older_than < 0:
        raise UsageError("--older-than must be 0 or more days")
    cutoff = format_timestamp(datetime.now(UTC) - timedelta(days=args.older_than))
    store = _store(args)
    try:
        records, quarantined = store.prune(cutoff)
    finally:
        store.close()
    print(f"deleted {records:,} raw records and {quarantined:,} quarantined ones received before {cutoff}")
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        view = store.message(args.message_id.strip())
    finally:
        store.close()
    if view is None:
        if args.json:
            _print_json({"error": f"message {args.message_id} not found", "status": 404})
        else:
            print(f"mailfate: no events for message {args.message_id}", file=sys.stderr)
        return MISSING
    if args.json:
        _print_json(view.to_json())
    else:
        print(render.message_text(view))
    return OK


def cmd_recipient(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        address = normalize_address(args.address)
        view = with_suppression(store, store.recipient(address), Settings.from_env().policy)
    finally:
        store.close()
    if args.json:
        _print_json(view.to_json())
    else:
        print(render.recipient_text(view))
    return OK


def cmd_explain(args: argparse.Namespace) -> int:
    explanation = explain(args.type, args.subtype)
    if args.json:
        _print_json(explanation.to_json())
    else:
        print(render.explanation_text(explanation))
    return OK if explanation.known else MISSING


def cmd_quarantine(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        items = store.quarantined(limit=args.limit)
    finally:
        store.close()
    if args.json:
        _print_json([item.to_json() for item in items])
    else:
        print(render.quarantine_text(items))
    return OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(as_json=args.json)


class _ProgressBar:
    """A one-line progress display on stderr, redrawn at most five times a second."""

    def __init__(self) -> None:
        self.throttle = Throttle(0.2)
        self.drawn = False

    def __call__(self, path: str, done: int, size: int, total: IngestResult) -> None:
        if not self.throttle.ready():
            return
        share = f"{100 * done / size:5.1f}% " if size else ""
        bar = ""
        if size:
            filled = int(30 * done / size)
            bar = "[" + "#" * filled + "." * (30 - filled) + "] "
        sys.stderr.write(f"\r{bar}{share}{path}: {total.records:,} records, {total.events:,} events")
        sys.stderr.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
