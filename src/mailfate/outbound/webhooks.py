"""Outbound webhooks: POST each change of the feed, signed, to every ``MAILFATE_WEBHOOK_URL``.

The sender is a thread beside the server (or ``consume``). It takes its work from the durable outbox
(:mod:`mailfate.store.outbox`), so a crash or a restart loses nothing: changes committed but not yet
sent are sent after the restart, and a change whose sender died mid-request is sent again when its
lease runs out. Receivers therefore must expect duplicates; a duplicate carries the same ``seq``.
"""

from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from mailfate._version import __version__
from mailfate.core.jsonutil import dumps
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import StorageError
from mailfate.logs import logger, redact_url
from mailfate.outbound.signing import CHANGE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from mailfate.store import Store
from mailfate.store.outbox import Delivery

#: Idle senders look for new changes this often (changes may come from other processes).
POLL_SECONDS = 0.5
#: How often suppressions that expire with time are looked for.
EXPIRY_SECONDS = 60.0
#: Requests in flight at once per sender (each to a different address's queue).
PARALLEL = 8


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    urls: tuple[str, ...]
    secret: str
    timeout: float = 10.0
    retry_for: timedelta = timedelta(hours=24)
    backoff: float = 10.0  # seconds before the first retry; doubling after each failure
    max_backoff: float = 3600.0


def retryable(status: int | None) -> bool:
    """Whether a failed delivery is tried again: not when the receiver refused the change itself."""
    if status is None or status in (408, 429):
        return True
    return not 400 <= status < 500


def backoff(attempts: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds until the next attempt after ``attempts`` failures: exponential, capped, with jitter
    (half fixed, half random) so that receivers coming back are not hit by every sender at once."""
    delay: float = min(cap, base * 2.0 ** min(attempts - 1, 30))
    return delay / 2 + rng() * delay / 2


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # None: no HTTP answer at all
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def client(config: WebhookConfig) -> httpx.Client:
    """One pooled client per sender: a connection per receiver stays open between deliveries.
    Redirects are not followed: the receiver's URL is configured, not found."""
    return httpx.Client(
        follow_redirects=False,
        timeout=config.timeout,
        limits=httpx.Limits(max_connections=PARALLEL * len(config.urls), max_keepalive_connections=PARALLEL),
        headers={"User-Agent": f"mailfate/{__version__}", "Content-Type": "application/json"},
    )


def post(http: httpx.Client, url: str, body: bytes, secret: str, seq: int) -> Outcome:
    """POST one signed change; read at most 64 KiB of the answer."""
    timestamp = str(int(time.time()))
    url, credentials = _without_credentials(url)
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        CHANGE_HEADER: str(seq),
    }
    try:
        # https://user:password@host/...: sent as basic auth, as browsers and curl do
        with http.stream("POST", url, content=body, headers=headers, auth=credentials) as response:
            for _ in response.iter_raw(65536):
                break
            if 200 <= response.status_code < 300:
                return Outcome(response.status_code)
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return Outcome(response.status_code, f"answered {response.status_code}", retry_after)
    except httpx.HTTPError as exc:  # refused, reset, timed out, DNS
        return Outcome(None, f"no answer: {exc or type(exc).__name__}")


def _without_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), (user, password)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare from webhook receivers, and our backoff is a fine substitute


class WebhookSender:
    """Delivers the outbox of every configured URL until stopped."""

    def __init__(self, store: Store, config: WebhookConfig) -> None:
        self.store = store
        self.config = config
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop(): no waiting out the poll
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="mailfate-webhook")
        self._http = client(config)
        self._next_expiry = 0.0

    def start(self) -> None:
        self.store.register_webhooks(self.config.urls)
        self._thread = threading.Thread(target=self._run, name="mailfate-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except StorageError as exc:
                logger.warning("webhook sender cannot reach storage", extra={"fields": {"error": str(exc)}})
                busy = 0
            except Exception:  # the sender must outlive any one bad round; the outbox keeps the work
                logger.exception("webhook sender round failed")
                busy = 0
            if not busy:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def run_once(self) -> int:
        """One round: announce expired suppressions, fill each outbox, deliver what is due. How many
        deliveries were attempted."""
        now = datetime.now(UTC)
        if time.monotonic() >= self._next_expiry:
            self.store.expire_suppressions(now)
            self._next_expiry = time.monotonic() + EXPIRY_SECONDS
        attempted = 0
        for url in self.config.urls:
            stamp = format_timestamp(now)
            self.store.fill_outbox(url, stamp)
            # Long enough for one request; a sender that dies mid-request frees its changes soon after.
            lease = format_timestamp(now + timedelta(seconds=self.config.timeout + 5))
            due = self.store.claim_deliveries(url, stamp, lease, limit=PARALLEL * 4)
            attempted += len(due)
            for _ in self._pool.map(self._deliver, due):
                pass
        return attempted

    def _deliver(self, delivery: Delivery) -> None:
        seq = delivery.change.seq
        body = dumps(delivery.change.to_json()).encode()
        outcome = post(self._http, delivery.url, body, self.config.secret, seq)
        now = datetime.now(UTC)
        if outcome.ok:
            self.store.delivered(delivery, format_timestamp(now))
            return
        retry_at = None
        first = delivery.first_attempt_at or format_timestamp(now)
        if retryable(outcome.status) and format_timestamp(now - self.config.retry_for) < first:
            delay = backoff(delivery.attempts + 1, self.config.backoff, self.config.max_backoff)
            if outcome.retry_after is not None:
                delay = min(max(delay, outcome.retry_after), self.config.max_backoff)
            retry_at = format_timestamp(now + timedelta(seconds=delay))
        self.store.delivery_failed(delivery, format_timestamp(now), outcome.status, outcome.error, retry_at)
        logger.warning(
            "webhook delivery failed",
            extra={"fields": {"url": redact_url(delivery.url), "seq": seq, "status": outcome.status,
                              "error": outcome.error, "retry_at": retry_at}},
        )  # fmt: skip
