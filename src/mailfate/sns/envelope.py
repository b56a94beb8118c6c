"""SNS messages as SNS signs them: the fields, the string to sign, and the URL rules. Pure.

The rules here are why a forged message cannot pass: the certificate URL must be exactly an SNS
certificate URL in the topic's own region (so an attacker cannot point us at a certificate they
control, on S3 or any other ``*.amazonaws.com`` host), and a SubscribeURL must be exactly SNS's own
confirmation URL for the same topic (so confirming can never be turned into a request to anywhere else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mailfate.errors import CertificateUrlRejected, PayloadError, SignatureInvalid, TopicNotAllowed

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SNS_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
_SIGNATURE_FIELDS = frozenset({"SignatureVersion", "Signature", "SigningCertURL"})
_TOPIC_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_.-]{1,256})")
_CERT_PATH = re.compile(r"/SimpleNotificationService-[0-9a-f]+\.pem")


@dataclass(frozen=True, slots=True)
class Topic:
    arn: str
    partition: str
    region: str
    account: str
    name: str

    @property
    def sns_host(self) -> str:
        """The SNS endpoint of the topic's region: the only host its certificates and URLs may use."""
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"sns.{self.region}.{suffix}"


def parse_topic(arn: Any) -> Topic:
    match = _TOPIC_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        shown = repr(arn)[:100] if isinstance(arn, str) else f"of type {type(arn).__name__}"
        raise TopicNotAllowed(f"TopicArn {shown} is not an SNS topic ARN")
    return Topic(arn, *match.groups())


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """The fields of an SNS HTTP/S message that matter for verification, JSON-decoded."""

    type: str
    message_id: str
    topic: Topic
    message: str
    timestamp: str
    signature_version: str
    signature: str
    signing_cert_url: str
    subject: str | None = None
    subscribe_url: str | None = None
    token: str | None = None

    def string_to_sign(self) -> bytes:
        """``key\\nvalue\\n`` for each signed key in byte order; Subject only when present (SNS docs)."""
        values = {
            "Message": self.message,
            "MessageId": self.message_id,
            "Subject": self.subject,
            "SubscribeURL": self.subscribe_url,
            "Timestamp": self.timestamp,
            "Token": self.token,
            "TopicArn": self.topic.arn,
            "Type": self.type,
        }
        keys = _NOTIFICATION_KEYS if self.type == "Notification" else _CONFIRMATION_KEYS
        text = "".join(f"{k}\n{values[k]}\n" for k in keys if values[k] is not None)
        # SNS signs UTF-8; text that is not Unicode (a lone surrogate escape) cannot be what it signed,
        # so it is encoded as it stands and simply fails the check instead of raising here.
        return text.encode("utf-8", "surrogatepass")


def looks_like_sns(envelope: Any) -> bool:
    return isinstance(envelope, dict) and envelope.get("Type") in SNS_TYPES and "MessageId" in envelope


def sns_message(envelope: Mapping[str, Any]) -> SnsMessage:
    """Read an SNS envelope (HTTP spelling, or Lambda's ``SigningCertUrl``/``SubscribeUrl``)."""

    def text(key: str, *aliases: str, required: bool = True) -> str | None:
        # A missing or malformed signature field is a verification failure (403), not a bad payload.
        problem = SignatureInvalid if key in _SIGNATURE_FIELDS else PayloadError
        for name in (key, *aliases):
            value = envelope.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise problem(f"SNS field {name} is not a string")
                return value
        if required:
            raise problem(f"SNS message without {key}")
        return None

    sns_type = text("Type")
    if sns_type not in SNS_TYPES:
        raise PayloadError(f"unknown SNS message Type {sns_type!r}")
    confirmation = sns_type != "Notification"
    message = envelope.get("Message")
    if not isinstance(message, str):
        # Signatures cover the Message exactly as SNS sent it: a decoded object cannot be verified.
        raise PayloadError("SNS Message is not a string")
    return SnsMessage(
        type=sns_type,
        message_id=text("MessageId") or "",
        topic=parse_topic(text("TopicArn")),
        message=message,
        timestamp=text("Timestamp") or "",
        signature_version=text("SignatureVersion") or "",
        signature=text("Signature") or "",
        signing_cert_url=text("SigningCertURL", "SigningCertUrl") or "",
        subject=None if confirmation else text("Subject", required=False),
        subscribe_url=text("SubscribeURL", "SubscribeUrl") if confirmation else None,
        token=text("Token") if confirmation else None,
    )


def check_cert_url(url: str, topic: Topic) -> None:
    """``https://sns.<topic region>.amazonaws.com/SimpleNotificationService-<hex>.pem`` and nothing else."""
    if (url, topic.sns_host) not in _GOOD_CERT_URLS:
        _check_cert_url(url, topic.sns_host)
        if len(_GOOD_CERT_URLS) >= _GOOD_CERT_URLS_KEPT:
            _GOOD_CERT_URLS.clear()  # SNS uses a handful; only a flood of distinct good URLs comes here
        _GOOD_CERT_URLS.add((url, topic.sns_host))


#: The (URL, host) pairs found good: every notification of a topic carries the same one, and checking it
#: again (urlsplit and friends) cost a sixth of a verification.
_GOOD_CERT_URLS: set[tuple[str, str]] = set()
_GOOD_CERT_URLS_KEPT = 256


def _check_cert_url(url: str, sns_host: str) -> None:
    parts = _split(url, "SigningCertURL")
    if parts.hostname != sns_host or parts.netloc != sns_host:
        raise CertificateUrlRejected(f"SigningCertURL host is not {sns_host}")
    if parts.query or parts.fragment or not _CERT_PATH.fullmatch(parts.path):
        raise CertificateUrlRejected("SigningCertURL is not an SNS certificate path")


def check_subscribe_url(url: str, message: SnsMessage) -> None:
    """``https://sns.<region>.amazonaws.com/?Action=ConfirmSubscription&TopicArn=<same>&Token=<same>``."""
    parts = _split(url, "SubscribeURL")
    if parts.netloc != message.topic.sns_host or parts.path not in ("", "/") or parts.fragment:
        raise CertificateUrlRejected(f"SubscribeURL is not on {message.topic.sns_host}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    expected = {"Action": ["ConfirmSubscription"], "TopicArn": [message.topic.arn], "Token": [message.token]}
    if query != expected:
        raise CertificateUrlRejected("SubscribeURL is not a ConfirmSubscription for this topic and token")


def _split(url: str, what: str) -> Any:
    # urlsplit silently drops tabs and newlines, and would let through what no SNS URL contains.
    if not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise CertificateUrlRejected(f"{what} holds whitespace, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise CertificateUrlRejected(f"{what} is not a URL") from exc
    if parts.scheme != "https":
        raise CertificateUrlRejected(f"{what} is not https")
    if parts.username is not None or parts.password is not None or parts.port is not None:
        raise CertificateUrlRejected(f"{what} carries userinfo or a port")
    return parts
