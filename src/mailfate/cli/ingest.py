"""``mailfate ingest`` and ``consume sqs``: getting notifications in (``prune``, old ones out, is beside)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mailfate.cli import render
from mailfate.cli.base import MISSING, OK, Command, open_db, print_json
from mailfate.core.views import IngestResult
from mailfate.core.wording import counted
from mailfate.errors import UsageError
from mailfate.settings import Settings
from mailfate.sources.ingest import Throttle, VerifyEnvelopes, ingest_paths

if TYPE_CHECKING:
    from mailfate.core.roles import ApiToken
    from mailfate.web.metrics import MetricsServer


def add_commands(command: Command) -> None:
    ingest = command(
        "ingest", cmd_ingest, "store notifications from files (JSON, JSON Lines, .gz) or - for stdin", db="writes"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="a file, a folder (every file under it), or -")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument("--verify", action="store_true", help="check SNS signatures; quarantine what fails")

    consume = command("consume", cmd_consume, "long-poll an SQS queue: store each message, then delete it", db="writes")
    consume.add_argument("source", choices=["sqs"], help="where from (sqs)")
    consume.add_argument("queue_url", metavar="QUEUE_URL", help="https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
    consume.add_argument("--verify", action="store_true", help="check SNS signatures (as POST /sns does)")
    consume.add_argument("--wait", type=int, default=20, choices=range(0, 21), metavar="SECONDS",
                         help="long-poll wait, 0 to 20 (default 20)")  # fmt: skip
    consume.add_argument("--region", help="AWS region (default: from the queue URL)")
    consume.add_argument("--metrics-port", type=int, metavar="PORT",
                         help="serve GET /metrics (this consumer's counters) on this port")  # fmt: skip
    consume.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                         help="address for --metrics-port (default 127.0.0.1)")  # fmt: skip


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    store = open_db(args, settings, bulk=True)
    progress = _ProgressBar() if sys.stderr.isatty() and not args.json else None
    check = None
    if args.verify:
        check = VerifyEnvelopes(settings.sns_certs_dir, settings.topic_arns)
    try:
        outcomes = ingest_paths(store, args.paths, stdin=sys.stdin.buffer, check=check, progress=progress)
    finally:
        store.close()
        if progress:
            progress.finish()
    total = IngestResult()
    failed = False
    empty = []
    for outcome in outcomes:
        if outcome.error:
            print(f"mailfate: {outcome.error}", file=sys.stderr)
            failed = True
        elif outcome.result is not None:
            total.add(outcome.result)
            if outcome.result.records + outcome.result.duplicates + outcome.result.quarantined == 0:
                # Nothing wrong was found, so this is no failure; but nothing was found at all.
                empty.append(outcome.path)
                print(f"mailfate: {outcome.path}: empty, no records in it", file=sys.stderr)
    if args.json:
        print_json({**total.to_json(), "empty": empty, "errors": [o.error for o in outcomes if o.error]})
    else:
        print(render.summary_text(total))
        if total.quarantined:
            print("see them with: mailfate quarantine", file=sys.stderr)
    return MISSING if failed or total.quarantined else OK


def cmd_consume(args: argparse.Namespace) -> int:
    import signal
    import threading

    from mailfate.logs import configure
    from mailfate.outbound.alerts import ReputationWatch
    from mailfate.outbound.webhooks import WebhookSender
    from mailfate.sns.certs import CertificateCache
    from mailfate.sns.verify import Verifier
    from mailfate.sources.sqs import SqsConsumer, check_queue_url, sqs_client

    settings = Settings.from_env()
    configure(settings.log_level)
    check_queue_url(args.queue_url)  # QueueUnusable: one line, exit 1
    metrics = _metrics_server(args.metrics_host, args.metrics_port, settings.tokens)
    client = sqs_client(args.queue_url, args.region)
    verifier = None
    if args.verify:
        cache = CertificateCache(certs_dir=settings.sns_certs_dir, max_size=settings.cert_cache_size)
        verifier = Verifier(cache, settings.topic_arns)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the batch in hand, then leave
    store = open_db(args, settings)
    sender = WebhookSender(store, settings.webhooks) if settings.webhooks else None
    watch = ReputationWatch(store, settings.alerts, settings.alert_interval)
    try:
        if metrics:
            metrics.start()
        if sender:
            sender.start()
        watch.start()
        consumer = SqsConsumer(store, client, args.queue_url, verifier, args.wait)
        consumer.check()  # a queue that does not exist, or may not be read: one line, exit 1
        stats = consumer.run(stop)
    finally:
        watch.stop()
        if sender:
            sender.stop()
        if metrics:
            metrics.stop()
        store.close()
    print(
        f"{stats.received:,} received, {stats.stored:,} stored, {counted(stats.duplicates, 'duplicate')}, "
        f"{stats.quarantined:,} quarantined",
        file=sys.stderr,
    )
    return OK


def _metrics_server(host: str, port: int | None, tokens: tuple[ApiToken, ...]) -> MetricsServer | None:
    """``--metrics-port``: bound now, so that a port in use is one line before anything starts."""
    if port is None:
        return None
    from mailfate.cli.serve import is_loopback, listen
    from mailfate.web.metrics import MetricsServer

    if not 1 <= port <= 65535:
        raise UsageError("--metrics-port must be between 1 and 65535")
    if not is_loopback(host) and not tokens:
        raise UsageError(f"refusing to serve metrics on {host} without MAILFATE_API_TOKEN or MAILFATE_API_TOKENS")
    return MetricsServer(listen(host, port, "--metrics-port"), tokens)


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
        sys.stderr.write(f"\r{bar}{share}{path}: {counted(total.records, 'record')}, {counted(total.events, 'event')}")
        sys.stderr.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
