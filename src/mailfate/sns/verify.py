"""Prove that an SNS message was signed by SNS, for a topic we accept. Raises; never returns a bool.

Order matters: cheap refusals first, and nothing is fetched for a message whose topic or certificate
URL is already wrong.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailfate.errors import CertificateInvalid, SignatureInvalid, TopicNotAllowed
from mailfate.sns.certs import CertificateCache
from mailfate.sns.envelope import SnsMessage, Topic, check_cert_url

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# Regions whose SNS signing certificates are issued for sns-signing.<region>.amazonaws.com rather than
# sns.amazonaws.com (AWS SDK for Java v2, SnsHostProvider, 2026).
_OPT_IN_SIGNING_REGIONS = frozenset(
    [
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "me-south-1",
        "me-central-1",
        "eu-south-1",
        "eu-south-2",
        "eu-central-2",
        "af-south-1",
        "il-central-1",
        "ca-west-1",
        "mx-central-1",
    ]
)


@functools.lru_cache(maxsize=256)
def signing_names(topic: Topic) -> frozenset[str]:
    """The DNS names an SNS signing certificate for this topic's region may carry."""
    if topic.partition == "aws-cn":
        return frozenset({f"sns-{topic.region}.amazonaws.com.cn"})
    if topic.partition == "aws-us-gov":
        return frozenset({"sns-us-gov-west-1.amazonaws.com", f"sns-{topic.region}.amazonaws.com"})
    names = {"sns.amazonaws.com"}
    if topic.region in _OPT_IN_SIGNING_REGIONS:
        names.add(f"sns-signing.{topic.region}.amazonaws.com")
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What verification needs from a certificate, read once per certificate rather than per message."""

    not_before: datetime
    not_after: datetime
    names: frozenset[str]
    key: Any


@functools.lru_cache(maxsize=64)  # keyed by certificate object; the certificate cache itself is bounded
def _facts(certificate: x509.Certificate) -> _Facts:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = set(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = set()
    names.update(str(a.value) for a in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME))
    return _Facts(
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
        frozenset(n.lower() for n in names),
        certificate.public_key(),
    )


def check_certificate(certificate: x509.Certificate, topic: Topic, now: datetime) -> rsa.RSAPublicKey:
    """Within its validity dates at ``now``, issued to an SNS signing name, with an RSA key."""
    facts = _facts(certificate)
    if not facts.not_before <= now <= facts.not_after:
        raise CertificateInvalid(
            f"signing certificate valid {facts.not_before:%Y-%m-%d} to {facts.not_after:%Y-%m-%d}, "
            f"not at {now:%Y-%m-%dT%H:%M:%SZ}"
        )
    if not facts.names & signing_names(topic):
        raise CertificateInvalid("signing certificate is not issued to an SNS signing name")
    if not isinstance(facts.key, rsa.RSAPublicKey):
        raise CertificateInvalid("signing certificate does not hold an RSA key")
    return facts.key


def check_signature(message: SnsMessage, key: rsa.RSAPublicKey) -> None:
    algorithm = _HASHES.get(message.signature_version)
    if algorithm is None:
        raise SignatureInvalid(f"SignatureVersion {message.signature_version!r} is neither 1 nor 2")
    try:
        signature = base64.b64decode(message.signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("Signature is not base64") from exc
    try:
        key.verify(signature, message.string_to_sign(), padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SignatureInvalid("signature does not match the message") from exc


class Verifier:
    """Checks one SNS message end to end. ``allowed_topics`` None accepts every topic."""

    def __init__(
        self,
        certificates: CertificateCache,
        allowed_topics: Iterable[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.certificates = certificates
        self.allowed_topics = frozenset(allowed_topics) if allowed_topics is not None else None
        self.clock = clock

    def check_topic(self, message: SnsMessage) -> None:
        # A valid signature proves SNS sent it, not that it is for us: anyone can subscribe our URL.
        if self.allowed_topics is not None and message.topic.arn not in self.allowed_topics:
            raise TopicNotAllowed(f"topic {message.topic.arn} is not in MAILFATE_TOPIC_ARNS")

    def verify(self, message: SnsMessage, at: datetime | None = None) -> None:
        """Raise unless ``message`` is genuine, for an allowed topic, signed by a certificate valid at
        ``at`` (default: now)."""
        if message.signature_version not in _HASHES:
            raise SignatureInvalid(f"SignatureVersion {message.signature_version!r} is neither 1 nor 2")
        self.check_topic(message)
        check_cert_url(message.signing_cert_url, message.topic)
        certificate = self.certificates.get(message.signing_cert_url)
        key = check_certificate(certificate, message.topic, at or self.clock())
        check_signature(message, key)

    def needs_fetch(self, message: SnsMessage) -> bool:
        """True when verifying would download a certificate (callers then verify off the event loop)."""
        return self.certificates.cached(message.signing_cert_url) is None
