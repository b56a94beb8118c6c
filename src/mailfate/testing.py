"""Builders of SES events in the exact shapes SES sends, for tests, benchmarks and the demo.

The shapes follow the AWS developer guide's event-publishing and notification examples; every builder
returns the decoded SES record (a dict). Wrap it with :func:`sns_envelope` or :func:`eventbridge_event`
to get what arrives over SNS or EventBridge.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from mailfate.sns.envelope import sns_message

_PAYLOAD_KEYS = {
    "Send": "send",
    "Reject": "reject",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "DeliveryDelay": "deliveryDelay",
    "Open": "open",
    "Click": "click",
    "Rendering Failure": "failure",
    "Subscription": "subscription",
}

EVENTBRIDGE_DETAIL_TYPES = {
    "Send": "Email Sent",
    "Reject": "Email Rejected",
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
    "Delivery": "Email Delivered",
    "Open": "Email Opened",
    "Click": "Email Clicked",
    "Rendering Failure": "Email Rendering Failed",
    "DeliveryDelay": "Email Delivery Delayed",
    "Subscription": "Email Subscribed",
}


CERT_NAME = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"


@dataclass
class SnsSigner:
    """Signs SNS messages the way SNS does, with a key and a certificate made on the spot.

    Point ``MAILFATE_SNS_CERTS_DIR`` at ``folder`` and mailfate verifies what this signs, so that an
    integration test needs neither AWS nor the network.
    """

    folder: Path
    cert_name: str = CERT_NAME
    key: rsa.RSAPrivateKey = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.write_certificate(self.cert_name)

    KEY_FILE = "signing-key.pem"

    def save_key(self) -> None:
        """Keep the private key beside the certificate, so that other processes can sign too."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (self.folder / self.KEY_FILE).write_bytes(pem)

    @classmethod
    def load(cls, folder: Path) -> SnsSigner:
        key = serialization.load_pem_private_key((folder / cls.KEY_FILE).read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("not an RSA key")
        return cls(folder, key=key)

    def write_certificate(
        self, name: str, valid_from: dt.datetime | None = None, valid_to: dt.datetime | None = None,
        dns_name: str = "sns.amazonaws.com",
    ) -> None:  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - dt.timedelta(days=1))
            .not_valid_after(valid_to or now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def cert_url(self, region: str = "us-east-1", name: str | None = None) -> str:
        return f"https://sns.{region}.amazonaws.com/{name or self.cert_name}"

    def sign(self, envelope: dict[str, Any], version: str = "2", cert_url: str | None = None) -> dict[str, Any]:
        signed = dict(envelope)
        signed["SignatureVersion"] = version
        signed["SigningCertURL"] = cert_url or self.cert_url(signed["TopicArn"].split(":")[3])
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS SignatureVersion 1 is SHA1)
        data = sns_message({**signed, "Signature": ""}).string_to_sign()
        signed["Signature"] = base64.b64encode(self.key.sign(data, padding.PKCS1v15(), algorithm)).decode()
        return signed


def mail(
    message_id: str,
    destination: Sequence[str],
    sent_at: str = "2026-11-20T10:00:00.000Z",
    subject: str = "Your receipt",
    source: str = "shop@example.com",
    configuration_set: str | None = "transactional",
    tags: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    all_tags: dict[str, list[str]] = {"ses:from-domain": [source.rsplit("@", 1)[-1]]}
    if configuration_set:
        all_tags["ses:configuration-set"] = [configuration_set]
    all_tags.update(tags or {})
    return {
        "timestamp": sent_at,
        "source": source,
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": list(destination),
        "headersTruncated": False,
        "commonHeaders": {"from": [source], "to": list(destination), "subject": subject},
        "tags": all_tags,
    }


def event(
    event_type: str,
    message_id: str,
    recipients: Sequence[str],
    timestamp: str,
    *,
    destination: Sequence[str] | None = None,
    identity_format: bool = False,
    sent_at: str | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """An SES event of ``event_type`` (``Bounce``, ``Delivery``, ``Rendering Failure``...).

    ``recipients`` are the addresses the event lists (for Bounce, Complaint, Delivery, DeliveryDelay);
    ``destination`` defaults to them. ``payload`` adds or overrides fields of the event's own object.
    Send, Reject and Rendering Failure carry no time of their own: ``timestamp`` is the mail's send time.
    """
    if sent_at is None:
        sent_at = timestamp if event_type in ("Send", "Reject", "Rendering Failure") else "2026-11-20T10:00:00.000Z"
    body = dict(_payload(event_type, recipients, timestamp))
    body.update(payload)
    record: dict[str, Any] = {
        ("notificationType" if identity_format else "eventType"): event_type,
        "mail": mail(message_id, destination if destination is not None else recipients, sent_at=sent_at),
        _PAYLOAD_KEYS[event_type]: body,
    }
    if identity_format:
        record["mail"].pop("tags", None)
    return record


def _payload(event_type: str, recipients: Sequence[str], timestamp: str) -> dict[str, Any]:
    feedback = f"0100{uuid.uuid5(uuid.NAMESPACE_URL, event_type + timestamp + ','.join(recipients)).hex}-000000"
    match event_type:
        case "Bounce":
            return {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": r,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                    for r in recipients
                ],
                "timestamp": timestamp,
                "feedbackId": feedback,
                "reportingMTA": "dsn; mta.example.net",
            }
        case "Complaint":
            return {
                "complainedRecipients": [{"emailAddress": r} for r in recipients],
                "timestamp": timestamp,
                "feedbackId": feedback,
                "complaintSubType": None,
                "userAgent": "ExampleISP Feedback Loop (V0.01)",
                "complaintFeedbackType": "abuse",
                "arrivalDate": timestamp,
            }
        case "Delivery":
            return {
                "timestamp": timestamp,
                "processingTimeMillis": 546,
                "recipients": list(recipients),
                "smtpResponse": "250 ok:  Message 64111812 accepted",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            }
        case "DeliveryDelay":
            return {
                "timestamp": timestamp,
                "delayType": "TransientCommunicationFailure",
                "expirationTime": timestamp,
                "delayedRecipients": [
                    {
                        "emailAddress": r,
                        "status": "4.4.1",
                        "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
                    }
                    for r in recipients
                ],
            }
        case "Open":
            return {"ipAddress": "192.0.2.1", "timestamp": timestamp, "userAgent": "Mozilla/5.0"}
        case "Click":
            return {
                "ipAddress": "192.0.2.1",
                "timestamp": timestamp,
                "userAgent": "Mozilla/5.0",
                "link": "https://example.com/receipt",
                "linkTags": None,
            }
        case "Reject":
            return {"reason": "Bad content"}
        case "Rendering Failure":
            return {
                "templateName": "Receipt",
                "errorMessage": "Attribute 'name' is not present in the rendering data.",
            }
        case "Subscription":
            return {
                "contactList": "Customers",
                "timestamp": timestamp,
                "source": "UnsubscribeHeader",
                "newTopicPreferences": {"unsubscribeAll": True, "topicSubscriptionStatus": []},
                "oldTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": []},
            }
    return {}


def bounce_event(
    message_id: str,
    recipients: Sequence[str],
    timestamp: str,
    bounce_type: str,
    subtype: str,
    status: str | None = None,
    diagnostic: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    record = event("Bounce", message_id, recipients, timestamp, **kwargs)
    body = record["bounce"]
    body["bounceType"], body["bounceSubType"] = bounce_type, subtype
    for item in body["bouncedRecipients"]:
        item.pop("status", None)
        item.pop("diagnosticCode", None)
        if status is not None:
            item["status"] = status
        if diagnostic is not None:
            item["diagnosticCode"] = diagnostic
    return record


def sns_envelope(
    ses_record: dict[str, Any],
    topic_arn: str = "arn:aws:sns:us-east-1:123456789012:ses-events",
    message_id: str | None = None,
    timestamp: str = "2026-11-20T10:00:01.000Z",
) -> dict[str, Any]:
    """An unsigned SNS Notification envelope around ``ses_record`` (sign it with a test signer)."""
    envelope = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": json.dumps(ses_record),
        "Timestamp": timestamp,
    }
    if "eventType" in ses_record:
        envelope["Subject"] = "Amazon SES Email Event Notification"
    return envelope


def eventbridge_event(ses_record: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": EVENTBRIDGE_DETAIL_TYPES[ses_record["eventType"]],
        "source": "aws.ses",
        "account": "123456789012",
        "time": ses_record["mail"]["timestamp"],
        "region": "us-east-1",
        "resources": [],
        "detail": ses_record,
    }
