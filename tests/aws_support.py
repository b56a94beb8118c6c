"""AWS for the setup and doctor tests: moto's server on 127.0.0.1, with the gaps of moto 5.2 that
setup and doctor meet filled in, and nothing else:

- SES v2 configuration-set event destinations: moto answers CreateConfigurationSet and
  GetConfigurationSet, not the event-destination operations. Those three are answered from memory.
- The SNS topic attribute ``SignatureVersion``: moto neither stores nor returns it. It is remembered
  from CreateTopic and SetTopicAttributes and added to what GetTopicAttributes returns.
- SES identity notification topics: moto stores them but GetIdentityNotificationAttributes leaves them
  out. They are remembered from SetIdentityNotificationTopic and added to its answer.

botocore's call events make this possible on real clients: every call still goes over HTTP to moto,
except the three event-destination operations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

_ANSWERED = {
    "sesv2": ("CreateConfigurationSetEventDestination", "UpdateConfigurationSetEventDestination",
              "GetConfigurationSetEventDestinations"),
}  # fmt: skip
_COMPLETED = {
    "sns": ("CreateTopic", "SetTopicAttributes", "GetTopicAttributes"),
    "ses": ("SetIdentityNotificationTopic", "GetIdentityNotificationAttributes"),
}


class MotoGaps:
    def __init__(self) -> None:
        self.destinations: dict[str, dict[str, dict[str, Any]]] = {}  # configuration set -> name -> destination
        self.signature_versions: dict[str, str] = {}  # topic ARN -> version
        self.identity_topics: dict[str, dict[str, str]] = {}  # identity -> notification type -> topic ARN

    def attach(self, client: Any, service: str) -> None:
        events = client.meta.events
        for operation in _ANSWERED.get(service, ()):
            events.register(f"before-parameter-build.{service}.{operation}", _keep_params)
            events.register(f"before-call.{service}.{operation}", self._answer)
        for operation in _COMPLETED.get(service, ()):
            events.register(f"before-parameter-build.{service}.{operation}", _keep_params)
            events.register(f"after-call.{service}.{operation}", self._complete)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["mailfate_params"]
        found = self.destinations.setdefault(params["ConfigurationSetName"], {})
        body: dict[str, Any] = {}
        if model.name == "GetConfigurationSetEventDestinations":
            body = {"EventDestinations": [{"Name": n, **d} for n, d in sorted(found.items())]}
        else:
            found[params["EventDestinationName"]] = dict(params["EventDestination"])
        parsed = {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}
        return AWSResponse("https://sesv2.invalid", 200, {}, None), parsed

    def _complete(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context["mailfate_params"]
        match model.name:
            case "CreateTopic" if "SignatureVersion" in params.get("Attributes", {}):
                self.signature_versions[parsed["TopicArn"]] = params["Attributes"]["SignatureVersion"]
            case "SetTopicAttributes" if params["AttributeName"] == "SignatureVersion":
                self.signature_versions[params["TopicArn"]] = params["AttributeValue"]
            case "GetTopicAttributes" if params["TopicArn"] in self.signature_versions:
                parsed["Attributes"]["SignatureVersion"] = self.signature_versions[params["TopicArn"]]
            case "SetIdentityNotificationTopic":
                topics = self.identity_topics.setdefault(params["Identity"], {})
                if params.get("SnsTopic"):
                    topics[params["NotificationType"]] = params["SnsTopic"]
                else:
                    topics.pop(params["NotificationType"], None)
            case "GetIdentityNotificationAttributes":
                for identity, attributes in parsed["NotificationAttributes"].items():
                    for kind, arn in self.identity_topics.get(identity, {}).items():
                        attributes[f"{kind}Topic"] = arn


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["mailfate_params"] = dict(params)


def clients_factory(endpoint: str, gaps: MotoGaps) -> Callable[[str | None], Any]:
    """A stand-in for mailfate.aws.clients.boto3_clients that talks to moto at ``endpoint``."""

    def factory(region: str | None) -> Callable[[str], Any]:
        session = boto3.session.Session(
            region_name=region or "us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        cache: dict[str, Any] = {}

        def client(service: str) -> Any:
            if service not in cache:
                cache[service] = session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]
                gaps.attach(cache[service], service)
            return cache[service]

        return client

    return factory
