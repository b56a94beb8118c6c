"""Everything mailfate raises on purpose.

::

    MailfateError
    ├── PayloadError (ValueError)          a record we cannot understand: quarantined, HTTP 400
    ├── VerificationError                  not proven to come from SNS for an allowed topic: HTTP 403
    │   ├── SignatureInvalid
    │   ├── CertificateUrlRejected
    │   ├── CertificateInvalid
    │   └── TopicNotAllowed
    ├── HeaderMismatch                     x-amz-sns-* headers disagree with the body: HTTP 400
    ├── CertificateUnavailable             the signing certificate cannot be fetched now: HTTP 503
    ├── ConfirmationFailed                 confirming a subscription failed for now: HTTP 503
    ├── StorageError                       the database failed; nothing was acknowledged: HTTP 503
    │   ├── StorageBusy                    another writer held the database too long: HTTP 503
    │   ├── UnstorableData                 the database refused a value: that record goes to quarantine
    │   ├── RecordRace                     another writer stored a new record key meanwhile: written again
    │   ├── ErasureKeyError                erased addresses' suppressions need MAILFATE_ERASURE_KEY, the same one
    │   └── SchemaError                    not a mailfate database, or an older schema a reader may not upgrade
    ├── RecordConflict                     a record key already stored with other content: quarantined
    ├── UsageError                         the caller asked for something impossible: exit 2 / HTTP 400
    └── ServiceError                       mailfate.Client: the service refused or failed a request
        ├── BadRequest                     400: the request was wrong (the message says how)
        ├── Unauthorized                   401: the bearer token is missing or wrong
        ├── Forbidden                      403: the token may only read, and this writes
        ├── NotFound                       404: no such message, or no suppression to lift
        └── ServiceUnavailable             5xx, or no answer at all: try again later
"""

from __future__ import annotations


class MailfateError(Exception):
    """Base of every error mailfate raises on purpose."""


class PayloadError(MailfateError, ValueError):
    """A record that is not an SNS message, an SES event, or an EventBridge event we understand."""


class VerificationError(MailfateError):
    """An SNS message that could not be proven genuine and meant for us. Never stored as fact."""


class SignatureInvalid(VerificationError):
    """The signature is missing, malformed, of an unknown version, or does not match."""


class CertificateUrlRejected(VerificationError):
    """``SigningCertURL`` is not exactly an SNS certificate URL for the topic's region."""


class CertificateInvalid(VerificationError):
    """The certificate is not a usable X.509 RSA certificate, or is outside its validity dates."""


class TopicNotAllowed(VerificationError):
    """``TopicArn`` is not in ``MAILFATE_TOPIC_ARNS``."""


class HeaderMismatch(MailfateError):
    """The ``x-amz-sns-*`` headers say something other than the body."""


class CertificateUnavailable(MailfateError):
    """The signing certificate could not be fetched right now; the sender should retry."""


class ConfirmationFailed(MailfateError):
    """A SubscriptionConfirmation could not be confirmed right now; SNS should send it again."""


class StorageError(MailfateError):
    """The store could not durably record what it was given."""


class StorageBusy(StorageError):
    """Another writer (maybe another process) held the database longer than a write may wait."""


class UnstorableData(StorageError):
    """The database refused a value of the batch (not the database failing): the record that carries
    it is found and quarantined, and the others are stored."""


class RecordRace(StorageError):
    """Another writer committed one of the batch's new record keys between the check and the insert
    (PostgreSQL, several processes): the batch is rolled back and written again, when that key is seen
    as stored (a duplicate, or a conflict to quarantine). Left unhandled it is a storage error: the
    sender retries, and nothing was acknowledged that was not stored."""


class ErasureKeyError(StorageError):
    """Suppressions of erased addresses are kept under a keyed hash, and the key is missing or another:
    an address cannot be checked (it might be an erased, suppressed one)."""


class RecordConflict(MailfateError):
    """Records whose key (SNS MessageId, EventBridge id) is stored already, or earlier in the same
    batch, with different content. Raised before anything is committed; ``items`` are their positions
    in the batch, which go to quarantine when it is written again."""

    def __init__(self, items: dict[int, str]) -> None:
        super().__init__(f"{len(items)} records reuse a stored key with different content")
        self.items = items


class SchemaError(StorageError):
    """The database holds no mailfate schema, or an older one, and the caller may not migrate it."""


class UsageError(MailfateError):
    """A bad argument: an unknown database URL, a malformed cursor, an impossible option."""


class ServiceError(MailfateError):
    """What a mailfate service answered instead of the result (:class:`mailfate.Client`).

    ``status`` is the HTTP status (None when there was no answer); the message is the service's own
    ``error`` text."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BadRequest(ServiceError):
    """400: the service refused the request as it was made."""


class Unauthorized(ServiceError):
    """401: ``MAILFATE_API_TOKEN`` is set on the service and the token given is missing or wrong."""


class Forbidden(ServiceError):
    """403: the token's scope is ``read`` and the call writes (suppress, unsuppress): an admin token is needed."""


class NotFound(ServiceError):
    """404: the message was never seen, or the address is not suppressed (``unsuppress``)."""


class ServiceUnavailable(ServiceError):
    """5xx (its storage is down, it is overloaded), or the service could not be reached: retry later."""
