"""``mailfate setup aws``: wire SES -> SNS -> mailfate with the user's own credentials.

Three parts, so that a dry run and a second run are honest: :func:`mailfate.aws.clients.observe` reads what
exists, :func:`plan` (pure, here) lists the calls that would make it right, and the command makes them one
by one with :func:`mailfate.aws.clients.call`, saying each as it is done. Running it twice plans nothing
the second time; after a failure, running it again plans only what is still missing. Everything that
must not be left on (raw message delivery, the SHA1 signature version) is set explicitly rather than
trusted to a default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mailfate.errors import UsageError

#: SES v2 event types: every one (the SES v1 API knows only the first eight).
EVENT_TYPES = ("SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE",
               "DELIVERY_DELAY", "SUBSCRIPTION")  # fmt: skip
IDENTITY_TYPES = ("Bounce", "Complaint", "Delivery")
DESTINATION = "mailfate"


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the user asked for."""

    topic: str = "mailfate-ses-events"
    endpoint: str | None = None  # https URL of POST /sns; or
    queue: str | None = None  # an SQS queue name
    configuration_set: str | None = "mailfate"  # event publishing; or
    identity: str | None = None  # identity notifications for this identity

    def check(self) -> None:
        if (self.endpoint is None) == (self.queue is None):
            raise UsageError("give either --endpoint https://.../sns or --sqs")
        if self.endpoint is not None and not self.endpoint.startswith("https://"):
            raise UsageError("--endpoint must be an https:// URL (SNS signs, but TLS keeps the content private)")
        if self.identity and self.configuration_set:
            raise UsageError("choose --identity or --configuration-set: both would deliver every event twice")


@dataclass(slots=True)
class Observed:
    """What exists in the account, as far as this wiring is concerned."""

    account: str
    region: str
    topic_attributes: dict[str, str] | None = None  # None: no such topic
    subscriptions: list[dict[str, Any]] = field(default_factory=list)  # with their attributes
    configuration_set: bool = False
    destination: dict[str, Any] | None = None
    identity_topics: dict[str, str | None] = field(default_factory=dict)
    queue_url: str | None = None
    queue_policy: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Step:
    service: str
    operation: str
    params: dict[str, Any]
    why: str


def topic_arn(w: Wiring, o: Observed) -> str:
    return f"arn:aws:sns:{o.region}:{o.account}:{w.topic}"


def queue_arn(w: Wiring, o: Observed) -> str:
    return f"arn:aws:sqs:{o.region}:{o.account}:{w.queue}"


def plan(w: Wiring, o: Observed) -> list[Step]:
    """The calls that take the account from ``o`` to ``w``, in order; none when it is there."""
    arn = topic_arn(w, o)
    steps: list[Step] = []
    if o.topic_attributes is None:
        steps.append(
            Step(
                "sns",
                "create_topic",
                {"Name": w.topic, "Attributes": {"SignatureVersion": "2"}},
                f"create SNS topic {w.topic}, signed with SHA256 (SignatureVersion 2)",
            )
        )
    elif o.topic_attributes.get("SignatureVersion") != "2":
        steps.append(
            Step(
                "sns",
                "set_topic_attributes",
                {"TopicArn": arn, "AttributeName": "SignatureVersion", "AttributeValue": "2"},
                f"sign {w.topic} with SHA256 instead of SHA1 (SignatureVersion 2)",
            )
        )
    if w.identity:
        for kind in IDENTITY_TYPES:
            if o.identity_topics.get(kind) != arn:
                steps.append(
                    Step(
                        "ses",
                        "set_identity_notification_topic",
                        {"Identity": w.identity, "NotificationType": kind, "SnsTopic": arn},
                        f"send {kind} notifications of {w.identity} to {w.topic}",
                    )
                )
    elif w.configuration_set:
        steps.extend(_event_publishing(w, o, arn))
    if w.endpoint:
        steps.extend(_https_subscription(w, o, arn))
    else:
        steps.extend(_sqs_subscription(w, o, arn))
    return steps


def _event_publishing(w: Wiring, o: Observed, arn: str) -> list[Step]:
    name = w.configuration_set
    wanted = {"Enabled": True, "MatchingEventTypes": list(EVENT_TYPES), "SnsDestination": {"TopicArn": arn}}
    steps = []
    if not o.configuration_set:
        steps.append(
            Step(
                "sesv2",
                "create_configuration_set",
                {"ConfigurationSetName": name},
                f"create SES configuration set {name}",
            )
        )
    current = o.destination
    params = {"ConfigurationSetName": name, "EventDestinationName": DESTINATION, "EventDestination": wanted}
    if current is None:
        steps.append(
            Step(
                "sesv2",
                "create_configuration_set_event_destination",
                params,
                f"publish every event type of {name} to {w.topic}",
            )
        )
    elif not _same_destination(current, wanted):
        steps.append(
            Step(
                "sesv2",
                "update_configuration_set_event_destination",
                params,
                f"make destination {DESTINATION} of {name} publish every event type to {w.topic}",
            )
        )
    return steps


def _same_destination(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return (
        bool(current.get("Enabled"))
        and set(current.get("MatchingEventTypes", [])) == set(wanted["MatchingEventTypes"])
        and current.get("SnsDestination", {}).get("TopicArn") == wanted["SnsDestination"]["TopicArn"]
    )


def _https_subscription(w: Wiring, o: Observed, arn: str) -> list[Step]:
    mine = [s for s in o.subscriptions if s.get("Protocol") == "https" and s.get("Endpoint") == w.endpoint]
    if not mine:
        return [
            Step(
                "sns",
                "subscribe",
                {
                    "TopicArn": arn,
                    "Protocol": "https",
                    "Endpoint": w.endpoint,
                    "ReturnSubscriptionArn": True,
                    "Attributes": {"RawMessageDelivery": "false"},
                },
                f"subscribe {w.endpoint} to {w.topic}, raw delivery off (mailfate confirms it)",
            )
        ]
    return _raw_delivery_off(mine)


def _sqs_subscription(w: Wiring, o: Observed, arn: str) -> list[Step]:
    steps = []
    q_arn = queue_arn(w, o)
    statement: dict[str, Any] = {
        "Sid": f"mailfate-{w.topic}",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": q_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": arn}},
    }
    if o.queue_url is None:
        fresh = {"Version": "2012-10-17", "Statement": [statement]}
        steps.append(
            Step(
                "sqs",
                "create_queue",
                {
                    "QueueName": w.queue,
                    "Attributes": {"Policy": json.dumps(fresh), "MessageRetentionPeriod": "1209600"},
                },
                f"create SQS queue {w.queue} (14 days) that only {w.topic} may write to",
            )
        )
    else:
        policy: dict[str, Any] = o.queue_policy or {"Version": "2012-10-17", "Statement": []}
        others = [s for s in policy.get("Statement", []) if s.get("Sid") != statement["Sid"]]
        if statement not in policy.get("Statement", []):
            merged = {**policy, "Statement": [*others, statement]}
            steps.append(
                Step(
                    "sqs",
                    "set_queue_attributes",
                    {"QueueUrl": o.queue_url, "Attributes": {"Policy": json.dumps(merged)}},
                    f"let {w.topic} send to queue {w.queue}",
                )
            )
    mine = [s for s in o.subscriptions if s.get("Protocol") == "sqs" and s.get("Endpoint") == q_arn]
    if not mine:
        steps.append(
            Step(
                "sns",
                "subscribe",
                {
                    "TopicArn": arn,
                    "Protocol": "sqs",
                    "Endpoint": q_arn,
                    "ReturnSubscriptionArn": True,
                    "Attributes": {"RawMessageDelivery": "false"},
                },
                f"subscribe queue {w.queue} to {w.topic}, raw delivery off (keeps signatures)",
            )
        )
    else:
        steps.extend(_raw_delivery_off(mine))
    return steps


def _raw_delivery_off(subscriptions: list[dict[str, Any]]) -> list[Step]:
    return [
        Step(
            "sns",
            "set_subscription_attributes",
            {"SubscriptionArn": s["SubscriptionArn"], "AttributeName": "RawMessageDelivery", "AttributeValue": "false"},
            f"turn raw message delivery off for {s['Endpoint']}: raw messages carry no signature",
        )
        for s in subscriptions
        if s.get("Attributes", {}).get("RawMessageDelivery") == "true"
    ]
