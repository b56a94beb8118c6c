"""``mailfate doctor``: check a running SES -> SNS -> mailfate setup and say what to fix.

:func:`examine` reads the account; :func:`diagnose` (pure) turns what it read into findings, each with
the fix. Every check here is one that users get wrong in practice: SHA1 topics, raw message delivery,
topics missing from the allowlist, subscriptions never confirmed, and the same events published twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailfate.aws.clients import AwsError, Clients, call, missing, pages, subscriptions
from mailfate.aws.setup import IDENTITY_TYPES

#: SES v2 event types that identity notifications also send: publishing both sends each one twice.
_IDENTITY_EVENT_TYPES = {"BOUNCE": "Bounce", "COMPLAINT": "Complaint", "DELIVERY": "Delivery"}


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # "error": notifications are lost or refused; "warning": weaker or wasteful; "ok"
    subject: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "subject": self.subject, "message": self.message, "fix": self.fix}


@dataclass(slots=True)
class Account:
    """What doctor read: the topics to check, and what publishes to them."""

    topics: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # ARN -> attributes, None: missing
    subscriptions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    identity_topics: dict[str, dict[str, str | None]] = field(default_factory=dict)  # identity -> type -> ARN
    destinations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # configuration set -> ...


def examine(clients: Clients, topics: list[str]) -> Account:
    account = Account()
    for arn in topics:
        try:
            account.topics[arn] = call(clients, "sns", "get_topic_attributes", TopicArn=arn)["Attributes"]
            account.subscriptions[arn] = subscriptions(clients, arn)
        except AwsError as exc:
            if not missing(exc):
                raise
            account.topics[arn] = None
    identities = pages(clients, "ses", "list_identities", "Identities")
    for start in range(0, len(identities), 100):  # the API takes 100 at a time
        found = call(clients, "ses", "get_identity_notification_attributes", Identities=identities[start : start + 100])
        for identity, attributes in found["NotificationAttributes"].items():
            account.identity_topics[identity] = {kind: attributes.get(f"{kind}Topic") for kind in IDENTITY_TYPES}
    sets = pages(clients, "sesv2", "list_configuration_sets", "ConfigurationSets")
    for name in sets:
        found = call(clients, "sesv2", "get_configuration_set_event_destinations", ConfigurationSetName=name)
        account.destinations[name] = found["EventDestinations"]
    return account


def diagnose(account: Account, allowlist: frozenset[str] | None, endpoint: str | None = None) -> list[Finding]:
    findings: list[Finding] = []
    if allowlist is None:
        findings.append(Finding("error", "MAILFATE_TOPIC_ARNS", "not set: POST /sns accepts any topic and "
                                "confirms no subscription", "set it to the topic ARNs below"))  # fmt: skip
    for arn, attributes in account.topics.items():
        findings.extend(_topic(arn, attributes, account.subscriptions.get(arn, []), allowlist, endpoint))
    findings.extend(_duplicates(account))
    if not findings:
        findings.append(Finding("ok", "setup", "no problem found"))
    return findings


def _topic(
    arn: str, attributes: dict[str, Any] | None, subs: list[dict[str, Any]], allowlist: frozenset[str] | None,
    endpoint: str | None,
) -> list[Finding]:  # fmt: skip
    if attributes is None:
        return [Finding("error", arn, "no such topic (or no permission to read it)",
                        "check the ARN and region, or run mailfate setup aws")]  # fmt: skip
    found = []
    if allowlist is not None and arn not in allowlist:
        found.append(Finding("error", arn, "not in MAILFATE_TOPIC_ARNS: POST /sns refuses its messages with 403",
                             f"add {arn} to MAILFATE_TOPIC_ARNS"))  # fmt: skip
    if attributes.get("SignatureVersion", "1") != "2":
        found.append(Finding("warning", arn, "signed with SHA1 (SignatureVersion 1, the SNS default)",
                             f"aws sns set-topic-attributes --topic-arn {arn} --attribute-name SignatureVersion "
                             "--attribute-value 2"))  # fmt: skip
    if not subs:
        found.append(Finding("error", arn, "no subscription: its notifications go nowhere",
                             "mailfate setup aws --endpoint https://.../sns (or --sqs)"))  # fmt: skip
    for s in subs:
        where = f"{arn} -> {s.get('Endpoint')}"
        attrs = s.get("Attributes", {})
        if attrs.get("PendingConfirmation") == "true":
            found.append(Finding("error", where, "subscription not confirmed: SNS sends nothing until it is, "
                                 "and deletes it after three days",
                                 "serve mailfate with this topic in MAILFATE_TOPIC_ARNS and MAILFATE_CONFIRM=url "
                                 "(or api), then subscribe again"))  # fmt: skip
        if s.get("Protocol") in ("http", "https") and attrs.get("RawMessageDelivery") == "true":
            found.append(Finding("error", where, "raw message delivery is on: no signature, mailfate answers 400",
                                 f"aws sns set-subscription-attributes --subscription-arn {s.get('SubscriptionArn')} "
                                 "--attribute-name RawMessageDelivery --attribute-value false"))  # fmt: skip
        if s.get("Protocol") == "http":
            found.append(Finding("warning", where, "plain http: notifications cross the internet unencrypted",
                                 "subscribe an https:// endpoint instead"))  # fmt: skip
    if endpoint and not any(s.get("Endpoint") == endpoint for s in subs):
        found.append(Finding("error", arn, f"{endpoint} is not subscribed",
                             f"mailfate setup aws --endpoint {endpoint}"))  # fmt: skip
    return found


def _duplicates(account: Account) -> list[Finding]:
    """The same events published to a checked topic by identity notifications and by a configuration
    set: mailfate counts each event once, but every one crosses SNS twice."""
    found = []
    for name, destinations in account.destinations.items():
        for d in destinations:
            target = (d.get("SnsDestination") or {}).get("TopicArn")
            if not d.get("Enabled") or target not in account.topics:
                continue
            types = set(d.get("MatchingEventTypes", []))
            for identity, topics in account.identity_topics.items():
                doubled = sorted(kind for t, kind in _IDENTITY_EVENT_TYPES.items()
                                 if t in types and topics.get(kind) in account.topics)  # fmt: skip
                if doubled:
                    found.append(Finding(
                        "warning", f"{identity} and configuration set {name}",
                        f"{', '.join(doubled)} events of mail that uses {name} are published twice: by "
                        f"identity notifications and by event destination {d.get('Name')}",
                        f"aws ses set-identity-notification-topic --identity {identity} --notification-type "
                        f"{doubled[0]} (no --sns-topic), for each of {', '.join(doubled)}"))  # fmt: skip
            missing_types = sorted({"BOUNCE", "COMPLAINT", "DELIVERY"} - types)
            if missing_types:
                found.append(Finding("warning", f"configuration set {name}",
                                     f"event destination {d.get('Name')} leaves out {', '.join(missing_types)}",
                                     "mailfate setup aws --configuration-set " + name))  # fmt: skip
    return found
