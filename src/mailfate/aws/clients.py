"""The AWS side of ``setup aws`` and ``doctor``: boto3 clients, reading what exists, making calls.

Every call goes through :func:`call`, so any failure reaches the user as one line that names the call
and gives AWS's error code and message (:func:`reason`), never the body of a web page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mailfate.aws.setup import DESTINATION, IDENTITY_TYPES, Observed, Wiring, topic_arn
from mailfate.errors import MailfateError, UsageError

#: Pages of one listing read at the most.
MAX_PAGES = 1000


class AwsError(MailfateError):
    """AWS refused a call or could not be reached."""


Clients = Callable[[str], Any]  # service name -> boto3 client


def boto3_clients(region: str | None) -> Clients:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(region_name=region)
    except BotoCoreError as exc:  # AWS_PROFILE names a profile that does not exist
        raise AwsError(reason(exc)) from exc
    if session.region_name is None:
        raise UsageError("no AWS region: pass --region or set AWS_REGION")
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service)  # type: ignore[call-overload]
        return cache[service]

    return client


def call(clients: Clients, service: str, operation: str, **params: Any) -> Any:
    """One AWS call; any failure becomes an AwsError that says which call failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(clients(service), operation)(**params)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"{service} {operation}: {reason(exc)}") from exc


def reason(exc: Exception) -> str:
    """Why an AWS call failed, in one line: ``Code: Message`` as AWS says it. When what answered was not
    AWS's API (a proxy's or a stand-in's HTML error page), its HTTP status instead of the page."""
    from botocore.exceptions import ClientError

    text = str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
        content_type = str(meta.get("HTTPHeaders", {}).get("content-type", ""))
        if "html" in content_type or message.lstrip().startswith("<"):
            status = meta.get("HTTPStatusCode", code)
            return f"HTTP {status}: a web page answered, not AWS's API (check the region and the endpoint)"
        text = f"{code}: {message}" if code and message else code or message or text
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= 500 else one_line[:499] + "…"


def missing(exc: AwsError) -> bool:
    """Whether a failed read means only "there is no such thing"."""
    from botocore.exceptions import ClientError

    cause = exc.__cause__
    if not isinstance(cause, ClientError):
        return False
    code = str(cause.response.get("Error", {}).get("Code", ""))
    return code in {
        "NotFound",
        "NotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "ConfigurationSetDoesNotExist",
    }


def observe(clients: Clients, w: Wiring) -> Observed:
    identity = call(clients, "sts", "get_caller_identity")
    region = clients("sns").meta.region_name
    o = Observed(account=identity["Account"], region=region)
    arn = topic_arn(w, o)
    try:
        o.topic_attributes = call(clients, "sns", "get_topic_attributes", TopicArn=arn)["Attributes"]
    except AwsError as exc:
        if not missing(exc):
            raise
    if o.topic_attributes is not None:
        o.subscriptions = subscriptions(clients, arn)
    if w.identity:
        found = call(clients, "ses", "get_identity_notification_attributes", Identities=[w.identity])
        attributes = found["NotificationAttributes"].get(w.identity, {})
        o.identity_topics = {kind: attributes.get(f"{kind}Topic") for kind in IDENTITY_TYPES}
    elif w.configuration_set:
        try:
            call(clients, "sesv2", "get_configuration_set", ConfigurationSetName=w.configuration_set)
            o.configuration_set = True
        except AwsError as exc:
            if not missing(exc):
                raise
        if o.configuration_set:
            found = call(
                clients, "sesv2", "get_configuration_set_event_destinations", ConfigurationSetName=w.configuration_set
            )
            o.destination = next((d for d in found["EventDestinations"] if d["Name"] == DESTINATION), None)
    if w.queue:
        try:
            o.queue_url = call(clients, "sqs", "get_queue_url", QueueName=w.queue)["QueueUrl"]
        except AwsError as exc:
            if not missing(exc):
                raise
        if o.queue_url:
            attributes = call(clients, "sqs", "get_queue_attributes", QueueUrl=o.queue_url, AttributeNames=["Policy"])
            policy = attributes.get("Attributes", {}).get("Policy")
            o.queue_policy = json.loads(policy) if policy else None
    return o


def pages(clients: Clients, service: str, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` of a listing that pages with NextToken (at most MAX_PAGES pages)."""
    items: list[Any] = []
    token = None
    for _ in range(MAX_PAGES):
        page = call(clients, service, operation, **params, **({"NextToken": token} if token else {}))
        items.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            break
    return items


def subscriptions(clients: Clients, arn: str) -> list[dict[str, Any]]:
    """The topic's subscriptions, each with its attributes (none while confirmation is pending)."""
    found = pages(clients, "sns", "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
    for s in found:
        if s["SubscriptionArn"].startswith("arn:"):
            s["Attributes"] = call(clients, "sns", "get_subscription_attributes", SubscriptionArn=s["SubscriptionArn"])[
                "Attributes"
            ]
        else:
            s["Attributes"] = {"PendingConfirmation": "true"}
    return found
