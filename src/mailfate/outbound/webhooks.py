"""Outbound webhooks: POST each change of the feed, signed, to every ``MAILFATE_WEBHOOK_URL``.

The sender is a thread beside the server (or ``consume``). It takes its work from the durable outbox
(:mod:`mailfate.store.outbox`), so a crash or a restart loses nothing: changes committed but not yet
sent are sent after the restart, and a change whose sender died mid-request is sent again when its
lease runs out. Receivers therefore must expect duplicates; a duplicate carries the same ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from mailfate._version import __version__
from mailfate.core.alerts import chat_message
from mailfate.core.jsonutil import dumps
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import StorageError
from mailfate.logs import logger
from mailfate.outbound.names import shown_url
from mailfate.outbound.signing import CHANGE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from mailfate.store import Store
from mailfate.store.outbox import Delivery

#: Idle senders look for new changes this often (changes may come from other processes).
POLL_SECONDS = 0.5
#: How often suppressions that expire with time are looked for.
EXPIRY_SECONDS = 60.0
#: Requests in flight at once per URL (each to a different address's queue).
PARALLEL = 8
#: A claimed delivery's lease lasts its deadline (MAILFATE_WEBHOOK_TIMEOUT) and this much more (the
#: request starts right after the claim): it cannot run out while the request may still be in flight.
#: Short enough that after a crash the changes it held go out again soon.
LEASE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    urls: tuple[str, ...]
    secret: str
    #: Chat webhooks (Slack, Mattermost, Teams): each gets the reputation changes only, as a text message.
    alert_urls: tuple[str, ...] = ()
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


def client(config: WebhookConfig) -> httpx.AsyncClient:
    """One pooled client per sender: a connection per receiver stays open between deliveries.
    Redirects are not followed: the receiver's URL is configured, not found."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=config.timeout,
        limits=httpx.Limits(
            max_connections=PARALLEL * max(1, len(config.urls) + len(config.alert_urls)),
            max_keepalive_connections=PARALLEL,
        ),
        headers={"User-Agent": f"mailfate/{__version__}", "Content-Type": "application/json"},
    )


async def post(http: httpx.AsyncClient, url: str, body: bytes, secret: str | None, seq: int) -> Outcome:
    """POST one change, signed when ``secret`` is given (a chat webhook checks no signature); read at most
    64 KiB of the answer. The caller bounds the whole of it in time: httpx's own timeouts are per step (a
    receiver answering a byte a second never trips them)."""
    timestamp = str(int(time.time()))
    url, credentials = _without_credentials(url)
    headers = {TIMESTAMP_HEADER: timestamp, CHANGE_HEADER: str(seq)}
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    try:
        # https://user:password@host/...: sent as basic auth, as browsers and curl do
        async with http.stream("POST", url, content=body, headers=headers, auth=credentials) as response:
            async for _ in response.aiter_raw(65536):
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
    """Delivers the outbox of every configured URL until stopped.

    A thread runs an event loop with one lane per URL, so a receiver that hangs holds up only its own
    lane, and each delivery (connecting, sending, the whole answer) has ``timeout`` seconds, then is
    cancelled and retried later. A delivery is leased for longer than that, so another process (``serve
    --workers N``) never sends the same change while this one still may. Stopping cancels what is in
    flight at once: those changes stay leased, and are sent again when their lease runs out.
    """

    def __init__(self, store: Store, config: WebhookConfig) -> None:
        self.store = store
        self.config = config
        #: Lease of a claimed delivery: longer than its deadline, so no other sender takes it meanwhile.
        self.lease = timedelta(seconds=config.timeout + LEASE_MARGIN_SECONDS)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self.store.register_webhooks((*self.config.urls, *self.config.alert_urls))
        self._thread = threading.Thread(target=self._main, name="mailfate-webhooks", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel deliveries in flight and return within about ``timeout`` seconds, whatever the receivers do."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._ready.set()
        http = client(self.config)
        tasks = [asyncio.create_task(self._lane(http, url, chat=False)) for url in self.config.urls]
        tasks += [asyncio.create_task(self._lane(http, url, chat=True)) for url in self.config.alert_urls]
        tasks.append(asyncio.create_task(self._expire()))
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=2)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await http.aclose()

    async def _lane(self, http: httpx.AsyncClient, url: str, chat: bool) -> None:
        while True:
            try:
                busy = await self._round(http, url, chat)
            except StorageError as exc:
                logger.warning("webhook sender cannot reach storage", extra={"fields": {"error": str(exc)}})
                busy = 0
            except Exception:  # the lane must outlive any one bad round; the outbox keeps the work
                logger.exception("webhook sender round failed")
                busy = 0
            if not busy:
                await asyncio.sleep(POLL_SECONDS)

    async def _round(self, http: httpx.AsyncClient, url: str, chat: bool) -> int:
        """Fill this URL's outbox (a chat URL's with reputation changes only), lease what is due, send it;
        how many deliveries were attempted."""
        now = datetime.now(UTC)
        stamp = format_timestamp(now)
        kinds = ("reputation",) if chat else None
        await asyncio.to_thread(self.store.fill_outbox, url, stamp, 1000, kinds)
        lease = format_timestamp(now + self.lease)
        due = await asyncio.to_thread(self.store.claim_deliveries, url, stamp, lease, PARALLEL)
        results = await asyncio.gather(*(self._deliver(http, d, chat) for d in due), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return len(due)

    async def _expire(self) -> None:
        """Announce the suppressions that time has ended (no event does)."""
        while True:
            try:
                await asyncio.to_thread(self.store.expire_suppressions, datetime.now(UTC))
            except Exception:
                logger.exception("expiring suppressions failed")
            await asyncio.sleep(EXPIRY_SECONDS)

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery, chat: bool) -> None:
        seq = delivery.change.seq
        if chat:  # the text a person reads, in the JSON chat webhooks take
            body, secret = dumps(chat_message(delivery.change.payload)).encode(), None
        else:
            body, secret = dumps(delivery.change.to_json()).encode(), self.config.secret
        try:
            async with asyncio.timeout(self.config.timeout):
                outcome = await post(http, delivery.url, body, secret, seq)
        except TimeoutError:
            outcome = Outcome(None, f"no complete answer within {self.config.timeout:g} s")
        await asyncio.to_thread(self._record, delivery, outcome)

    def _record(self, delivery: Delivery, outcome: Outcome) -> None:
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
            extra={"fields": {"url": shown_url(delivery.url), "seq": delivery.change.seq, "status": outcome.status,
                              "error": outcome.error, "retry_at": retry_at}},
        )  # fmt: skip
