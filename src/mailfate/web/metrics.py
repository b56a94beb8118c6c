"""``GET /metrics``: the Prometheus text format (docs/operations.md).

Two kinds of figures. Counters (records received, refusals, duplicates, the ingest latency histogram)
are kept by the processes that receive, in :mod:`mailfate.metrics`: with ``serve --workers N`` every
worker writes them to the run's own directory, so whichever worker answers the scrape sums them all
(another worker's latest requests reach it within :data:`~mailfate.metrics.FLUSH_SECONDS`).
Gauges whose truth is the database (the quarantine's size, the feed's head, each webhook's backlog,
the rates and levels of the alert window) are read from it at scrape time, so every process and every
machine on one database reports the same.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailfate.core.alerts import AlertPolicy, volume
from mailfate.core.roles import ApiToken, identify
from mailfate.core.stats import Figures, StatsQuery
from mailfate.core.timestamps import format_timestamp, parse_timestamp
from mailfate.core.wording import noun
from mailfate.metrics import SNS, counters
from mailfate.store import Store

#: The rates and levels cost a count over the alert window: computed at most this often per process.
REPUTATION_TTL = 15.0
#: Configuration sets with series of their own, at most: their names are whatever the sending code
#: says, and each costs five series (5,000 sets made 25,000 series, 4.4 MB a scrape).
MAX_CONFIGURATION_SETS = 50
#: How a level is said as a number (so that an alerting rule can say ``>= 1``).
LEVELS = {"healthy": 0, "under_review": 1, "pause_risk": 2}


class Metrics:
    def __init__(self, store: Store, policy: AlertPolicy, webhook_urls: Sequence[str] = ()) -> None:
        self.store = store
        self.policy = policy
        self.webhook_urls = tuple(webhook_urls)
        self._reputation: tuple[float, dict[str | None, Figures]] | None = None
        self._lock = threading.Lock()

    async def __call__(self, request: Request) -> Response:
        SNS.flush()  # this process's latest counts, on the loop that keeps them (other workers' wait <= 0.25 s)
        body = await run_in_threadpool(self.exposition)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    def exposition(self) -> bytes:
        gauges = CollectorRegistry(auto_describe=False)
        gauges.register(_DatabaseGauges(self))
        database = generate_latest(gauges)  # first: a storage failure is a 503, not half an answer
        return generate_latest(counters()) + database

    def reputation(self) -> dict[str | None, Figures]:
        """The figures of all mail (None) and of each configuration set over the alert window."""
        with self._lock:  # concurrent scrapes wait for one count rather than each running it
            cached = self._reputation
            if cached is not None and time.monotonic() - cached[0] < REPUTATION_TTL:
                return cached[1]
            now = datetime.now(UTC)
            stats = self.store.stats(
                StatsQuery(format_timestamp(now - self.policy.window), format_timestamp(now), "configuration_set")
            )
            scopes: dict[str | None, Figures] = {None: stats.totals}
            scopes.update((g.key, g) for g in stats.groups if g.key is not None)
            self._reputation = (time.monotonic(), scopes)
            return scopes


class _DatabaseGauges(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        m = self.metrics
        readings = m.store.readings(m.webhook_urls)
        yield GaugeMetricFamily(
            "mailfate_quarantine_bytes",
            "What the quarantine holds, as its size budget counts it",
            readings.quarantine_bytes,
        )
        yield GaugeMetricFamily("mailfate_quarantine_records", "Records in the quarantine", readings.quarantine_rows)
        yield GaugeMetricFamily(
            "mailfate_feed_head", "Sequence number of the last change in the feed", readings.feed_head
        )
        labels = ["webhook", "host"]
        backlog = GaugeMetricFamily(
            "mailfate_webhook_backlog",
            "Changes still to deliver to a webhook (outbox and not yet copied)",
            labels=labels,
        )
        failed = GaugeMetricFamily("mailfate_webhook_failed", "Changes a webhook was given up on", labels=labels)
        oldest = GaugeMetricFamily(
            "mailfate_webhook_oldest_pending_seconds",
            "Age of the oldest change still to deliver (0: none)",
            labels=labels,
        )
        now = datetime.now(UTC)
        for position, b in enumerate(readings.backlogs, 1):
            # A webhook by its position in the settings and its host: a chat URL's path is its secret.
            names = [str(position), urlsplit(b.url).hostname or ""]
            backlog.add_metric(names, b.pending)
            failed.add_metric(names, b.failed)
            age = (now - parse_timestamp(b.oldest_at)).total_seconds() if b.oldest_at else 0.0
            oldest.add_metric(names, max(0.0, age))
        yield from (backlog, failed, oldest)
        yield from _reputation(m.reputation(), m.policy)


def _reputation(scopes: dict[str | None, Figures], policy: AlertPolicy) -> Iterator[GaugeMetricFamily]:
    hours = policy.window.total_seconds() / 3600
    window = f" over the last {hours:g} {noun(hours, 'hour')} of sending"
    recipients = GaugeMetricFamily(
        "mailfate_reputation_recipients",
        f"Recipients sent{window} (the rates' denominator; alerts need MAILFATE_ALERT_MIN_VOLUME)",
        labels=["configuration_set"],
    )
    rate = GaugeMetricFamily(
        "mailfate_reputation_rate",
        f"Bounce and complaint rate{window}, as a fraction (configuration_set empty: all mail)",
        labels=["metric", "configuration_set"],
    )
    level = GaugeMetricFamily(
        "mailfate_reputation_level",
        f"Reputation level{window}: 0 healthy, 1 under review, 2 at risk of a pause",
        labels=["metric", "configuration_set"],
    )
    shown = watched(scopes, policy)
    for key, figures in shown:
        body = figures.to_json()
        scope = key or ""
        recipients.add_metric([scope], volume(figures))
        for metric in ("bounce", "complaint"):
            rate.add_metric([metric, scope], body[f"{metric}_rate"])
            level.add_metric([metric, scope], LEVELS[body[f"{metric}_level"]])
    yield from (recipients, rate, level)
    yield GaugeMetricFamily(
        "mailfate_reputation_configuration_sets",
        f"Configuration sets with mail{window}; those below MAILFATE_ALERT_MIN_VOLUME, and beyond the "
        f"{MAX_CONFIGURATION_SETS} largest, have no series of their own",
        sum(1 for key in scopes if key is not None),
    )


def watched(scopes: dict[str | None, Figures], policy: AlertPolicy) -> list[tuple[str | None, Figures]]:
    """The scopes with series of their own: all mail, then the configuration sets an alert may fire for
    (at least the minimum volume), the largest first, at most :data:`MAX_CONFIGURATION_SETS`."""
    sets = sorted(
        ((key, figures) for key, figures in scopes.items() if key is not None and volume(figures) >= policy.min_volume),
        key=lambda item: (-volume(item[1]), item[0] or ""),
    )
    return [(None, scopes[None]), *sets[:MAX_CONFIGURATION_SETS]]


class MetricsServer:
    """``GET /metrics`` of a process that is not ``serve`` (``consume sqs --metrics-port``): its own
    counters, on a thread, with the API's rule: when tokens are set, any of them (read or admin)."""

    def __init__(self, sock: socket.socket, tokens: Sequence[ApiToken]) -> None:
        self.tokens = tuple(tokens)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                scheme, _, given = self.headers.get("authorization", "").partition(" ")
                known = scheme.lower() == "bearer" and identify(outer.tokens, given.strip()) is not None
                if path != "/metrics":
                    self._json(404, "not found: this port serves GET /metrics only")
                elif query:
                    name = query.split("&")[0].split("=")[0]
                    self._json(400, f"unknown query parameter {name!r} (this endpoint takes: none)")
                elif outer.tokens and not known:
                    self._json(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
                else:
                    self._answer(200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(counters()))

            def _json(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
                body = json.dumps({"error": message, "status": status}).encode()
                self._answer(status, "application/json", body, headers)

            def _answer(self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # mailfate logs its own structured lines

        self.server = ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock  # bound already: a port in use was one line at start
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="mailfate-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
