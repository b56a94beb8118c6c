"""``mailfate consume sqs QUEUE_URL``: long-poll an SQS queue, store, then delete.

A message is deleted only after the transaction that stored it has committed, so a consumer that dies
(even by ``kill -9``) loses nothing: its messages come back after the visibility timeout and are
recognised as duplicates. A message that cannot be understood is quarantined and then deleted, so that
it does not come back for ever. Several consumers may share a queue and a database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mailfate.core.jsonutil import loads
from mailfate.core.model import Record, Rejected
from mailfate.core.timestamps import now
from mailfate.core.views import IngestResult
from mailfate.errors import (
    CertificateUnavailable,
    MailfateError,
    PayloadError,
    StorageError,
    UsageError,
    VerificationError,
)
from mailfate.logs import logger
from mailfate.metrics import DUPLICATES, INGEST_SECONDS, RECEIVED, SQS_CONSUMED
from mailfate.sns.envelope import sns_message
from mailfate.sns.verify import Verifier
from mailfate.sources.parse import parse_record
from mailfate.store import Store

#: SQS returns at most ten messages per receive.
BATCH = 10


@dataclass
class ConsumeStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    storage_failures: int = 0


def understand_body(body: str, message_id: str, verifier: Verifier | None) -> Record | Rejected:
    """One SQS body (SNS envelope, raw SES event, EventBridge event) as a record, or why not.

    Never raises for what the body holds: one bad message of a batch must not cost the others. Only a
    signing certificate that cannot be fetched right now raises (CertificateUnavailable): that message
    stays on the queue and comes back later."""
    location = f"sqs:{message_id}"
    try:
        record = parse_record(loads(body), body, "sqs")
        if verifier is not None and record.sns is not None:
            verifier.verify(sns_message(record.sns))
    except ValueError as exc:  # PayloadError is a ValueError, and so is bad JSON
        reason = str(exc) if isinstance(exc, PayloadError) else f"body is not JSON: {exc}"
        return Rejected(reason[:500], body, "sqs", location)
    except VerificationError as exc:  # never stored as fact; kept for a person to look at
        return Rejected(f"{type(exc).__name__}: {exc}"[:500], body, "sqs", location)
    except CertificateUnavailable:
        raise
    except Exception as exc:  # a bug must not jam the queue: keep the message, say what happened
        logger.exception("sqs.understand_failed", extra={"fields": {"message_id": message_id}})
        return Rejected(f"cannot be understood: {type(exc).__name__}: {exc}"[:500], body, "sqs", location)
    return record


#: Error codes that no retry can fix: the consumer stops with one line and exit 1.
FATAL_CODES = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NonExistentQueue",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidAddress",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidParameterValue",
    }
)


class QueueUnusable(MailfateError):
    """The queue does not exist, or this identity may not use it: retrying cannot help."""


#: botocore's errors that say the local AWS configuration is missing or wrong (no credentials, a profile
#: that does not exist, ...): no retry can fix them either. (A credential provider that fails, such as
#: the instance metadata service, may recover: that is retried.)
_SETUP_ERRORS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "ProfileNotFound",
    "NoRegionError",
    "InvalidRegionError",
)

_CREDENTIALS_HINT = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role"


def _setup_problem(exc: Exception) -> str | None:
    """What is wrong with the local AWS configuration, in one line; None for any other failure."""
    if type(exc).__name__ not in _SETUP_ERRORS:
        return None
    hint = f" ({_CREDENTIALS_HINT})" if "Credential" in type(exc).__name__ else ""
    return " ".join(str(exc).split()) + hint


def check_queue_url(queue_url: str) -> None:
    """``https://sqs.<region>.amazonaws.com/<account>/<name>`` (or any http(s) URL with a queue path)."""
    try:
        parts = urlsplit(queue_url)
        usable = parts.scheme in ("https", "http") and bool(parts.hostname) and parts.path.strip("/") != ""
    except ValueError:
        usable = False
    if not usable:
        raise QueueUnusable(f"{queue_url!r} is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")


class SqsConsumer:
    def __init__(
        self,
        store: Store,
        client: Any,
        queue_url: str,
        verifier: Verifier | None = None,
        wait_seconds: int = 20,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.client = client
        self.queue_url = queue_url
        self.verifier = verifier
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.stats = ConsumeStats()
        self._consumed = SQS_CONSUMED.labels(queue_url.rstrip("/").rsplit("/", 1)[-1])

    def check(self) -> None:
        """Fail at once, with the reason, when the queue cannot be used (QueueUnusable), rather than
        retrying for ever; a transient failure here is left for the loop to retry."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        except ClientError as exc:
            if _code(exc) in FATAL_CODES:
                raise QueueUnusable(f"cannot use queue {self.queue_url}: {_message(exc)}") from exc
            logger.warning("sqs.check_failed", extra={"fields": {"reason": str(exc)}})
        except BotoCoreError as exc:  # no credentials is fatal; the network is left for the loop to retry
            self._fatal_setup(exc)
            logger.warning("sqs.check_failed", extra={"fields": {"reason": str(exc)}})

    def _fatal_setup(self, exc: Exception) -> None:
        problem = _setup_problem(exc)
        if problem is not None:
            raise QueueUnusable(f"cannot use queue {self.queue_url}: {problem}") from exc

    def run(self, stop: threading.Event, max_batches: int | None = None) -> ConsumeStats:
        """Consume until ``stop`` is set (after finishing the batch in hand) or ``max_batches`` ran.
        Raises QueueUnusable when the queue goes away or may no longer be read."""
        batches = 0
        failures = 0
        while not stop.is_set() and (max_batches is None or batches < max_batches):
            batches += 1
            try:
                self.consume_once()
                failures = 0
            except (StorageError, _Transient) as exc:
                # Not deleted: the messages come back after the visibility timeout. Back off meanwhile.
                failures += 1
                if isinstance(exc, StorageError):
                    self.stats.storage_failures += 1
                    logger.warning("sqs.storage_unavailable", extra={"fields": {"reason": str(exc)}})
                stop.wait(min(30.0, 0.5 * 2**failures))
        return self.stats

    def consume_once(self) -> int:
        """One receive, store and delete; returns how many messages were received."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=self.wait_seconds
            )
        except ClientError as exc:
            if _code(exc) in FATAL_CODES:
                raise QueueUnusable(f"cannot use queue {self.queue_url}: {_message(exc)}") from exc
            logger.warning("sqs.receive_failed", extra={"fields": {"reason": str(exc)}})
            raise _Transient from exc
        except BotoCoreError as exc:  # the network, a timeout: try again after a pause
            self._fatal_setup(exc)  # but credentials that went away do not come back by waiting
            logger.warning("sqs.receive_failed", extra={"fields": {"reason": str(exc)}})
            raise _Transient from exc
        messages = response.get("Messages", [])
        if not messages:
            return 0
        started = time.perf_counter()
        kept: list[dict[str, Any]] = []
        items: list[Record | Rejected] = []
        for m in messages:
            try:
                items.append(understand_body(m.get("Body", ""), m.get("MessageId", "?"), self.verifier))
                kept.append(m)
            except CertificateUnavailable as exc:  # left on the queue: it comes back after the timeout
                logger.warning("sqs.certificate_unavailable", extra={"fields": {"reason": str(exc)}})
        result = self.store.ingest(items, now()) if items else IngestResult()  # StorageError: none deleted
        self._delete(kept)
        _count(len(messages), result, time.perf_counter() - started, self._consumed)
        self.stats.received += len(messages)
        self.stats.stored += result.records
        self.stats.duplicates += result.duplicates
        self.stats.quarantined += result.quarantined
        level = logging.WARNING if result.quarantined else logging.INFO
        logger.log(level, "sqs.batch", extra={"fields": {"received": len(messages), **result.to_json()}})
        return len(messages)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        try:
            response = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            # Stored but not deleted: they will come back and be recognised as duplicates.
            logger.warning("sqs.delete_failed", extra={"fields": {"reason": str(exc)}})
            return
        if response.get("Failed"):
            logger.warning("sqs.delete_failed", extra={"fields": {"failed": len(response["Failed"])}})


def _count(received: int, result: IngestResult, seconds: float, consumed: Any) -> None:
    consumed.inc(received)
    for outcome, n in (("stored", result.records), ("duplicate", result.duplicates),
                       ("quarantined", result.quarantined)):  # fmt: skip
        if n:
            RECEIVED.labels("sqs", outcome).inc(n)
    if result.duplicates:
        DUPLICATES.labels("sqs").inc(result.duplicates)
    INGEST_SECONDS.labels("sqs").observe(seconds)


class _Transient(Exception):
    """A receive that failed for now (throttled, the network, a 5xx): the loop backs off and tries again."""


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '?')}: {error.get('Message') or 'no message'}"


def queue_region(queue_url: str) -> str | None:
    """``https://sqs.eu-west-1.amazonaws.com/123/q`` -> ``eu-west-1``; None when the URL does not say."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs":
        return parts[1]
    return None


def sqs_client(queue_url: str, region: str | None = None) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        region = region or queue_region(queue_url) or boto3.session.Session().region_name
        if region is None:
            raise UsageError("cannot tell the queue's region: pass --region or set AWS_DEFAULT_REGION")
        return boto3.client("sqs", region_name=region)
    except BotoCoreError as exc:  # a profile that does not exist, a region botocore refuses
        raise QueueUnusable(f"cannot use queue {queue_url}: {' '.join(str(exc).split())}") from exc
