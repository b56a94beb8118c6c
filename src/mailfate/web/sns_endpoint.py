"""``POST /sns``: the SNS HTTP/S endpoint (docs/sources/sns-https.md), as a plain ASGI app.

SNS retries a delivery that gets a 5xx or times out, and drops one that gets a 4xx. So: 200 only once
the notification is durably committed; 503 when storage or a certificate download fails (retry
later); 400 for what can never be understood (its raw body is kept in quarantine); 403 for what is not
proven to come from SNS for an allowed topic (never stored).

It is plain ASGI, not a framework endpoint, because it is the hot path: the app sends POST /sns here
directly, past the framework's middleware (see app.py).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from mailfate.core.jsonutil import loads
from mailfate.core.model import Rejected
from mailfate.errors import CertificateUnavailable, ConfirmationFailed, PayloadError, StorageError, VerificationError
from mailfate.logs import log_event, logger
from mailfate.metrics import FLUSH_SECONDS, SNS
from mailfate.sns.confirm import Confirmer
from mailfate.sns.envelope import SnsMessage, check_subscribe_url, looks_like_sns, sns_message
from mailfate.sns.verify import Verifier
from mailfate.sources.parse import parse_record
from mailfate.web.commit import CommitQueue

#: SNS never sends more to an HTTP/S endpoint (topics raised to 1 MiB cannot have HTTP subscribers).
MAX_BODY_BYTES = 256 * 1024

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _Refused(Exception):
    """A refusal; ``kind`` names its reason for the metrics (a few fixed words, where ``reason`` is the
    text the client reads); ``body`` (the bytes as received) goes to quarantine when given."""

    def __init__(
        self, status: int, kind: str, reason: str, body: bytes | None = None, authenticated: bool = False
    ) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.body = status, kind, reason, body
        self.authenticated = authenticated


@dataclass
class SnsWebhook:
    verifier: Verifier
    confirmer: Confirmer
    commits: CommitQueue
    basic_auth: tuple[str, str] | None = None
    auto_confirm: bool = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        repeated: set[str] = set()
        for k, v in scope["headers"]:
            name = _READ_HEADERS.get(k.lower())  # only the few this endpoint reads are decoded
            if name is None:
                continue
            if name in headers:
                repeated.add(name)
            headers[name] = v.decode("latin-1")
        log: dict[str, Any] = {"sns_message_id": headers.get("x-amz-sns-message-id")}
        extra: list[tuple[bytes, bytes]] = []
        refusal = ""
        try:
            try:
                if repeated & _CHECKED_HEADERS:
                    raise _Refused(
                        400, "headers", f"header {sorted(repeated & _CHECKED_HEADERS)[0]} given more than once"
                    )
                status, body = await self._handle(headers, receive, log)
            except _Refused as refused:
                refusal = refused.kind
                # Keeping the refused body may fail too: that is a storage failure (503), like any other.
                status, body = await self._refuse(refused, log)
                if status == 401:
                    extra.append((b"www-authenticate", b'Basic realm="mailfate"'))
        except StorageError as exc:
            log.update(outcome="storage_unavailable", reason=str(exc))
            status, body = 503, {"error": "storage unavailable; retry later", "status": 503}
            refusal = "storage_unavailable"
        except Exception:  # never a traceback to the client; SNS retries a 500
            logger.exception("unhandled error", extra={"path": "/sns"})
            status, body = 500, {"error": "internal error", "status": 500}
            refusal = "error"
        if status >= 400 and not refusal:
            refusal = "unstorable"  # genuine, but its key is taken by other content: kept in quarantine
        _count(log.get("outcome"), refusal, time.perf_counter() - started)
        log["status"] = status
        log_event(logging.INFO if status < 400 else logging.WARNING, "sns.request", log)
        try:
            payload = orjson.dumps(body)
        except TypeError:  # text that is not Unicode, quoted back from the request: escape it
            payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _handle(
        self, headers: Mapping[str, str], receive: Receive, log: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        self._check_auth(headers)
        body = await _read_body(headers, receive)
        try:
            envelope = loads(body)
        except ValueError as exc:
            raise _Refused(400, "not_json", f"body is not JSON: {str(exc)[:200]}", body) from exc
        if not looks_like_sns(envelope):
            raw = headers.get("x-amz-sns-rawdelivery", "").lower() == "true" or _looks_like_ses(envelope)
            reason = "raw message delivery is on: turn it off so messages can be verified" if raw else ""
            raise _Refused(400, "not_sns", reason or "not an SNS message", body)
        try:
            message = sns_message(envelope)
        except PayloadError as exc:
            raise _Refused(400, "malformed", str(exc)[:300], body) from exc
        except VerificationError as exc:
            raise _Refused(403, "signature", str(exc)) from exc
        log.update(sns_message_id=message.message_id, type=message.type, topic=message.topic.arn)
        _check_headers(headers, message)
        await self._verify(message)
        # From here on it is proven to come from SNS: what is kept of it is no longer anyone's junk.
        text = body.decode("utf-8", errors="replace")
        if message.type == "Notification":
            return await self._notification(envelope, text, log)
        return await self._confirmation(message, envelope, text, log)

    def _check_auth(self, headers: Mapping[str, str]) -> None:
        if self.basic_auth is None:
            return
        expected = base64.b64encode(f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()).decode()
        given = headers.get("authorization", "")
        # SNS sends credentials only after it has seen a 401 with a Basic challenge.
        if not hmac.compare_digest(given.encode(), f"Basic {expected}".encode()):
            raise _Refused(401, "auth", "basic authentication required")

    async def _verify(self, message: SnsMessage) -> None:
        try:
            if self.verifier.needs_fetch(message):
                await run_in_threadpool(self.verifier.verify, message)  # a download must not block the loop
            else:
                self.verifier.verify(message)
        except VerificationError as exc:
            raise _Refused(403, "signature", f"{type(exc).__name__}: {exc}") from exc
        except CertificateUnavailable as exc:
            raise _Refused(503, "certificate_unavailable", str(exc)) from exc

    async def _notification(
        self, envelope: dict[str, Any], text: str, log: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        try:
            record = parse_record(envelope, text, "sns")
        except Exception as exc:  # genuine, but not understood (or a bug): kept, never a 500
            raise _Refused(400, "unknown_shape", _reason(exc), body=text.encode(), authenticated=True) from exc
        (outcome,) = await self.commits.submit([record])
        if outcome == "quarantined":  # genuine, but its key is taken by other content, or unstorable
            log.update(outcome=outcome)
            return 400, {"error": "kept in quarantine: it cannot be stored as a fact", "status": 400}
        message_ids = sorted({e.message_id for e in record.events})
        log.update(
            ses_message_id=message_ids[0] if len(message_ids) == 1 else message_ids or None,
            kinds=sorted({e.kind.value for e in record.events}),
            recipients=len({e.recipient for e in record.events if e.recipient}),
            outcome=outcome,
        )
        return 200, {"outcome": outcome, "message_id": log["ses_message_id"]}

    async def _confirmation(
        self, message: SnsMessage, envelope: dict[str, Any], text: str, log: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        confirming = message.type == "SubscriptionConfirmation" and self.auto_confirm
        if confirming and self.confirmer.mode == "url":
            try:  # refuse a SubscribeURL that is not SNS's own before anything is stored
                check_subscribe_url(message.subscribe_url or "", message)
            except VerificationError as exc:
                raise _Refused(403, "signature", f"{type(exc).__name__}: {exc}") from exc
        try:
            record = parse_record(envelope, text, "sns")
        except Exception as exc:  # genuine, but not understood (or a bug): kept, never a 500
            raise _Refused(400, "unknown_shape", _reason(exc), body=text.encode(), authenticated=True) from exc
        (outcome,) = await self.commits.submit([record])
        action = "recorded"
        if confirming:
            try:
                action = await run_in_threadpool(self.confirmer.confirm, message)
            except ConfirmationFailed as exc:
                raise _Refused(503, "confirmation_failed", str(exc)) from exc
            except VerificationError as exc:
                raise _Refused(403, "signature", str(exc)) from exc
        log.update(outcome=outcome, action=action)
        return 200, {"outcome": outcome, "subscription": action}

    async def _refuse(self, refused: _Refused, log: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        log.update(outcome="refused", reason=refused.reason)
        if refused.body is not None:
            rejected = Rejected(refused.reason, refused.body, "sns", authenticated=refused.authenticated)
            await self.commits.submit([rejected])  # StorageError -> 503
            log["outcome"] = "quarantined"
        return refused.status, {"error": refused.reason, "status": refused.status}


async def _read_body(headers: Mapping[str, str], receive: Receive) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refused(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "disconnected", "client disconnected before the body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refused(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _count(outcome: str | None, refusal: str, seconds: float) -> None:
    if SNS.count(outcome, refusal, seconds):
        asyncio.get_running_loop().call_later(FLUSH_SECONDS, SNS.flush)


def _reason(exc: Exception) -> str:
    if isinstance(exc, PayloadError):
        return str(exc)[:300]
    logger.exception("sns.parse_failed")
    return f"cannot be understood: {type(exc).__name__}"


_CHECKED_HEADERS = frozenset({"x-amz-sns-message-type", "x-amz-sns-topic-arn", "x-amz-sns-message-id"})
#: Every request header the endpoint reads, by its lower-case name as bytes.
_READ_HEADERS = {
    name.encode(): name for name in (*_CHECKED_HEADERS, "x-amz-sns-rawdelivery", "authorization", "content-length")
}


def _looks_like_ses(document: Any) -> bool:
    """An SES event as raw message delivery posts it: no SNS envelope around it."""
    return isinstance(document, dict) and ("eventType" in document or "notificationType" in document)


def _check_headers(headers: Mapping[str, str], message: SnsMessage) -> None:
    """The x-amz-sns-* headers are not signed, but a request whose headers and body disagree is not SNS."""
    for header, value in (
        ("x-amz-sns-message-type", message.type),
        ("x-amz-sns-topic-arn", message.topic.arn),
        ("x-amz-sns-message-id", message.message_id),
    ):
        given = headers.get(header)
        if given is not None and given != value:
            raise _Refused(400, "headers", f"header {header} disagrees with the body")
