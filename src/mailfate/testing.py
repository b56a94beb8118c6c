"""Builders of SES events in the exact shapes SES sends, for tests, benchmarks and the demo.

The shapes follow the AWS developer guide's event-publishing and notification examples; every builder
returns the decoded SES record (a dict). Wrap it with :func:`sns_envelope` or :func:`eventbridge_event`
to get what arrives over SNS or EventBridge.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

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
