"""Decoded JSON in, :class:`~mailfate.core.model.Record` out. Pure: no clock, no network, no database.

Every shape of docs/sources/files.md is unwrapped here: an SNS envelope (``Message`` a JSON string or an
object), an SQS message body or a Lambda ``Records`` batch holding one, an EventBridge event, or a bare
SES event in either format (identity notifications use ``notificationType``, configuration-set event
publishing uses ``eventType``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from mailfate.core.jsonutil import dumps, loads, may_hold_unstorable, storable
from mailfate.core.model import Kind, Mail, Record, RecordKind
from mailfate.core.timestamps import BadTimestamp, canonical_timestamp
from mailfate.errors import PayloadError
from mailfate.sources.extractors import EXTRACTORS

SNS_TYPES = {
    "Notification": RecordKind.EVENT,
    "SubscriptionConfirmation": RecordKind.SUBSCRIPTION_CONFIRMATION,
    "UnsubscribeConfirmation": RecordKind.UNSUBSCRIBE_CONFIRMATION,
}

# eventType / notificationType as SES spells them -> our Kind, and the key of the payload object.
_SES_TYPES: dict[str, tuple[Kind, str]] = {
    "Send": (Kind.SEND, "send"),
    "Reject": (Kind.REJECT, "reject"),
    "Bounce": (Kind.BOUNCE, "bounce"),
    "Complaint": (Kind.COMPLAINT, "complaint"),
    "Delivery": (Kind.DELIVERY, "delivery"),
    "DeliveryDelay": (Kind.DELIVERY_DELAY, "deliveryDelay"),
    "Open": (Kind.OPEN, "open"),
    "Click": (Kind.CLICK, "click"),
    "Rendering Failure": (Kind.RENDERING_FAILURE, "failure"),
    "RenderingFailure": (Kind.RENDERING_FAILURE, "failure"),
    "Subscription": (Kind.SUBSCRIPTION, "subscription"),
}

# Accepted, kept, and not an error: SES says hello when a topic or destination is set up.
_SES_NOTES = {"AmazonSnsSubscriptionSucceeded"}
_VALIDATION_TEXT = "Successfully validated SNS topic"
# SES receiving: mail that came in, not mail that was sent. Kept, but it has no fate to track.
_INBOUND_NOTE = "inbound mail (SES receiving Received notification): not a sending event, no fate to track"


#: Where an event's time came from when SES left it out, in the order they are tried.
TimestampSources = tuple[tuple[str, Any], ...]


def parse_record(obj: Any, body: str, transport: str = "file") -> Record:
    """Understand one decoded record, or raise :class:`PayloadError` saying why not."""
    if may_hold_unstorable(body):
        obj = _storable(obj)
    try:
        return _parse(obj, body, transport)
    except RecursionError as exc:  # a value nested too deep for some reader on the way
        raise PayloadError("nested too deeply to read") from exc


def _parse(obj: Any, body: str, transport: str) -> Record:
    if not isinstance(obj, dict):
        raise PayloadError(f"expected a JSON object, got {type(obj).__name__}")
    if "Type" in obj and "MessageId" in obj:
        return _from_sns(obj, body, transport)
    if "Body" in obj and isinstance(obj.get("Body"), str):  # an SQS message as ReceiveMessage returns it
        return _parse(_loads(obj["Body"], "SQS Body"), body, "sqs")
    records = obj.get("Records")
    if isinstance(records, list) and len(records) == 1 and isinstance(records[0], dict):
        return _from_lambda(records[0], body)
    if obj.get("source") == "aws.ses" and "detail-type" in obj:
        return _from_eventbridge(obj, body, transport)
    if "notificationType" in obj or "eventType" in obj:
        return _from_ses(obj, body, transport, key=None, fallbacks=())
    raise PayloadError("not an SNS message, an SES event, or an EventBridge event")


def _from_sns(envelope: dict[str, Any], body: str, transport: str) -> Record:
    sns_type = envelope.get("Type")
    kind = SNS_TYPES.get(sns_type) if isinstance(sns_type, str) else None
    if kind is None:
        raise PayloadError(f"unknown SNS message Type {_show(sns_type)}")
    message_id = _text(envelope, "MessageId", "SNS envelope")
    key = f"sns:{message_id}"
    transport = "sns" if transport == "file" else transport
    if kind is not RecordKind.EVENT:
        return Record(key=key, transport=transport, kind=kind, body=body, sns=envelope)
    message = envelope.get("Message")
    if isinstance(message, str):
        if message.lstrip().startswith(_VALIDATION_TEXT):
            return Record(key, transport, RecordKind.NOTE, body, sns=envelope, note=message.strip())
        inner = _loads(message, "SNS Message")
    elif isinstance(message, dict):  # some tools store the envelope with Message already decoded
        inner = message
    else:
        raise PayloadError("SNS Notification without a Message")
    if not isinstance(inner, dict):
        raise PayloadError(f"SNS Message is a JSON {type(inner).__name__}, not an SES event")
    record = _from_ses(inner, body, transport, key=key, fallbacks=(("sns", envelope.get("Timestamp")),))
    return Record(record.key, transport, record.kind, body, record.mail, record.events, envelope, record.note)


def _from_lambda(item: dict[str, Any], body: str) -> Record:
    """A one-record Lambda event, as people dump them to files: ``Records[0].Sns`` or ``.body``."""
    if isinstance(item.get("Sns"), dict):
        sns = dict(item["Sns"])
        for lambda_key, http_key in (("SigningCertUrl", "SigningCertURL"), ("SubscribeUrl", "SubscribeURL")):
            if lambda_key in sns:
                sns[http_key] = sns.pop(lambda_key)
        if sns.get("Subject") is None:
            sns.pop("Subject", None)
        return _from_sns(sns, body, "sns")
    if isinstance(item.get("body"), str):
        return _parse(_loads(item["body"], "SQS body"), body, "sqs")
    raise PayloadError("a Records batch whose record is neither SNS nor SQS")


def _from_eventbridge(event: dict[str, Any], body: str, transport: str) -> Record:
    key = f"eventbridge:{event['id']}" if isinstance(event.get("id"), str) and event["id"] else None
    transport = "eventbridge" if transport == "file" else transport
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise PayloadError("EventBridge event without a detail object")
    if "eventType" not in detail and "notificationType" not in detail:
        # Sending Status Enabled, Advisor Recommendation...: real SES events, but about the account.
        note = f"EventBridge {_show(event.get('detail-type'))}"
        return Record(key or _content_key(body), transport, RecordKind.NOTE, body, note=note)
    return _from_ses(detail, body, transport, key=key, fallbacks=(("eventbridge", event.get("time")),))


def _from_ses(ses: dict[str, Any], body: str, transport: str, key: str | None, fallbacks: TimestampSources) -> Record:
    type_name = ses.get("eventType", ses.get("notificationType"))
    key = key or _content_key(body)
    if not isinstance(type_name, str):
        raise PayloadError(f"SES event type is not a string: {_show(type_name)}")
    if type_name in _SES_NOTES:
        return Record(key, transport, RecordKind.NOTE, body, note=type_name)
    if type_name == "Received":
        return Record(key, transport, RecordKind.NOTE, body, note=_INBOUND_NOTE)
    if type_name not in _SES_TYPES:
        raise PayloadError(f"unknown SES event type {_show(type_name)}")
    kind, payload_key = _SES_TYPES[type_name]
    mail = _mail(ses.get("mail"))
    payload = ses.get(payload_key)
    if payload is None and kind in (Kind.SEND, Kind.REJECT, Kind.RENDERING_FAILURE):
        payload = {}
    if not isinstance(payload, dict):
        raise PayloadError(f"{type_name} event without its {payload_key!r} object")
    stamp, source = _event_time(kind, payload, mail, fallbacks)
    events = tuple(EXTRACTORS[kind](mail, payload, stamp, source))
    return Record(key, transport, RecordKind.EVENT, body, mail, events)


# SES gives Send, Reject and Rendering Failure no time of their own: the mail's send time is theirs.
_SENT_AT_IS_OWN = frozenset({Kind.SEND, Kind.REJECT, Kind.RENDERING_FAILURE})


def _event_time(kind: Kind, payload: dict[str, Any], mail: Mail, fallbacks: TimestampSources) -> tuple[str, str]:
    """The event's own timestamp, else the transport's (SNS ``Timestamp``, EventBridge ``time``), else
    ``mail.timestamp``; with the name of the one taken (``event`` when it is the event's own)."""
    own = _optional_timestamp(payload.get("timestamp"), f"{kind.value} timestamp")
    if own is not None:
        return own, "event"
    if kind in _SENT_AT_IS_OWN and mail.sent_at is not None:
        return mail.sent_at, "event"
    for source, value in (*fallbacks, ("mail", mail.sent_at)):
        try:
            stamp = _optional_timestamp(value, source)
        except PayloadError:
            continue  # a transport's time that is not a real instant is no fallback
        if stamp is not None:
            return stamp, source
    raise PayloadError(f"{kind.value} event without a timestamp")


def _mail(raw: Any) -> Mail:
    if not isinstance(raw, dict):
        raise PayloadError("SES event without a mail object")
    message_id = _text(raw, "messageId", "mail")
    common = raw.get("commonHeaders")
    if not isinstance(common, dict):
        common = {}
    tags = raw.get("tags")
    tags = {str(k): _strings(v) for k, v in tags.items()} if isinstance(tags, dict) else {}
    headers = raw.get("headers")
    headers = tuple(_headers(headers)) if isinstance(headers, list) else ()
    subject = common.get("subject")
    if not isinstance(subject, str):
        subject = _header(headers, "subject")
    config_set = tags.get("ses:configuration-set")
    return Mail(
        message_id=message_id,
        source=_optional_text(raw.get("source")),
        from_=_strings(common.get("from")),
        subject=subject,
        sent_at=_optional_timestamp(raw.get("timestamp"), "mail.timestamp"),
        destination=_strings(raw.get("destination")),
        tags=tags,
        headers=headers,
        configuration_set=config_set[0] if config_set else _header(headers, "x-ses-configuration-set"),
        sending_account=_optional_text(raw.get("sendingAccountId")),
    )


def _headers(raw: list[Any]) -> Iterable[dict[str, str]]:
    """Mail headers as SES lists them; anything but a name and a text value is not a header."""
    for header in raw:
        if isinstance(header, dict) and isinstance(header.get("name"), str) and isinstance(header.get("value"), str):
            yield {"name": header["name"], "value": header["value"]}


def _header(headers: tuple[dict[str, Any], ...], name: str) -> str | None:
    for header in headers:
        if str(header.get("name", "")).lower() == name:
            value = header.get("value")
            return value if isinstance(value, str) else None
    return None


def _loads(text: str, what: str) -> Any:
    try:
        value = loads(text)
    except ValueError as exc:
        raise PayloadError(f"{what} is not JSON: {str(exc)[:200]}") from exc
    return _storable(value) if may_hold_unstorable(text) else value


def _storable(value: Any) -> Any:
    try:
        return storable(value)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc


def _content_key(body: str) -> str:
    """Records with no transport id (bare SES events in files) are identified by their content."""
    return "sha256:" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where} without a {key}")
    return value


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional_timestamp(value: Any, what: str) -> str | None:
    if value is None:
        return None
    try:
        return canonical_timestamp(value)
    except BadTimestamp as exc:
        raise PayloadError(f"{what}: {exc}") from exc


def _strings(value: Any) -> list[str]:
    """A list of text as SES gives it; numbers and booleans are spelled out, anything nested is dropped."""
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return value
        return [v if isinstance(v, str) else dumps(v) for v in value if isinstance(v, str | int | float | bool)]
    if isinstance(value, str):
        return [value]
    return []


def _show(value: Any) -> str:
    """A value quoted in a reason: containers only by their type (one nested a thousand deep has no repr)."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    return repr(value)[:100]
