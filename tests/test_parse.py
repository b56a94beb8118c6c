"""Every record shape of docs/sources/files.md and every event type of both SES formats, from AWS's own samples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailfate.core.model import Kind, RecordKind
from mailfate.errors import PayloadError
from mailfate.sources.parse import parse_record
from mailfate.testing import event, eventbridge_event, sns_envelope

from .conftest import GENUINE, load_sample


def parse(obj: Any) -> Any:
    return parse_record(obj, json.dumps(obj))


# sample file, kind, recipients (normalized), event timestamp, detail that must be carried over
AWS_SAMPLES = [
    ("identity-bounce-dsn", Kind.BOUNCE, ["jane@example.com"], "2016-01-27T14:59:38.237Z", ("status", "5.1.1")),
    ("identity-bounce-simulator", Kind.BOUNCE, ["bounce@simulator.amazonses.com"], "2022-04-01T21:24:49.000Z",
     ("bounce_subtype", "General")),
    ("identity-complaint-feedback", Kind.COMPLAINT, ["richard@example.com"], "2016-01-27T14:59:38.237Z",
     ("feedback_type", "abuse")),
    ("identity-delivery", Kind.DELIVERY, ["jane@example.com"], "2016-01-27T14:59:38.237Z",
     ("smtp_response", "250 ok:  Message 64111812 accepted")),
    ("event-send", Kind.SEND, ["recipient@example.com"], "2016-10-14T05:02:16.645Z", None),
    ("event-reject", Kind.REJECT, ["sender@example.com"], "2016-10-14T17:38:15.211Z", ("reason", "Bad content")),
    ("event-open", Kind.OPEN, ["recipient@example.com"], "2017-08-09T22:00:19.652Z", ("ip_address", "192.0.2.1")),
    ("event-click", Kind.CLICK, ["recipient@example.com"], "2017-08-09T23:51:25.570Z",
     ("link", "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html")),
    ("event-delivery-delay", Kind.DELIVERY_DELAY, ["recipient@example.com"], "2020-06-16T00:25:40.095Z",
     ("delay_type", "TransientCommunicationFailure")),
    ("event-bounce", Kind.BOUNCE, ["recipient@example.com"], "2017-08-05T00:41:02.669Z",
     ("diagnostic_code", "smtp; 550 5.1.1 user unknown")),
    ("event-rendering-failure", Kind.RENDERING_FAILURE, ["recipient@example.com"], "2018-01-22T18:43:06.197Z",
     ("template_name", "MyTemplate")),
    ("event-subscription", Kind.SUBSCRIPTION, ["recipient@example.com"], "2022-01-12T01:00:17.910Z",
     ("contact_list", "ContactListName")),
    ("event-complaint-simulator", Kind.COMPLAINT, ["complaint@simulator.amazonses.com"], "2022-03-28T23:59:33.564Z",
     ("user_agent", "Amazon SES Mailbox Simulator")),
    ("eventbridge-bounce", Kind.BOUNCE, ["recipient@example.com"], "2017-08-05T00:41:02.669Z",
     ("bounce_type", "Permanent")),
]  # fmt: skip


class TestAwsSamples:
    @pytest.mark.parametrize(("name", "kind", "recipients", "timestamp", "detail"), AWS_SAMPLES)
    def test_each_event_type_of_both_formats(
        self, name: str, kind: Kind, recipients: list[str], timestamp: str, detail: tuple[str, str] | None
    ) -> None:
        """Each AWS sample becomes events of the right kind, for the right recipients, at the event's own time."""
        record = parse(load_sample(name))
        assert record.kind is RecordKind.EVENT
        assert [e.kind for e in record.events] == [kind] * len(recipients)
        assert [e.recipient for e in record.events] == recipients
        assert {e.timestamp for e in record.events} == {timestamp}
        if detail:
            assert record.events[0].details[detail[0]] == detail[1]

    def test_complaint_lists_only_the_complained_recipient(self) -> None:
        """A complaint applies to complainedRecipients alone, not to every address in mail.destination."""
        record = parse(load_sample("identity-complaint-feedback"))
        assert len(record.mail.destination) == 3
        assert [e.recipient for e in record.events] == ["richard@example.com"]

    def test_mail_object_is_kept(self) -> None:
        """Source, from, subject, destination, tags, headers, configuration set, account and send time survive."""
        record = parse(load_sample("event-send"))
        mail = record.mail
        assert mail.message_id == "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
        assert mail.source == "sender@example.com"
        assert mail.from_ == ["sender@example.com"]
        assert mail.subject == "Message sent from Amazon SES"
        assert mail.destination == ["recipient@example.com"]
        assert mail.tags["myCustomTag1"] == ["myCustomTagValue1"]
        assert {
            "name": "X-SES-MESSAGE-TAGS",
            "value": "myCustomTag1=myCustomTagValue1, myCustomTag2=myCustomTagValue2",
        } in mail.headers
        assert mail.configuration_set == "ConfigSet"
        assert mail.sending_account == "123456789012"
        assert mail.sent_at == "2016-10-14T05:02:16.645Z"
        assert mail.from_domain == "example.com"

    def test_display_names_are_removed_and_spelling_kept(self) -> None:
        """'Jane Doe <Jane@Example.COM>' is compared as jane@example.com; the original spelling is kept."""
        obj = event("Delivery", "m-1", ["Jane Doe <Jane@Example.COM>"], "2026-01-01T00:00:00Z")
        (only,) = parse(obj).events
        assert only.recipient == "jane@example.com"
        assert only.recipient_raw == "Jane Doe <Jane@Example.COM>"


class TestEnvelopes:
    def test_genuine_sns_envelopes_carry_their_ses_event(self) -> None:
        """The two AWS-signed SES envelopes parse, keyed by the SNS MessageId."""
        bounce = parse(json.loads((GENUINE / "django-ses-identity-bounce.json").read_text()))
        assert bounce.key == "sns:71a6b82e-0f1a-58db-b902-e2ef60f87541"
        assert bounce.transport == "sns"
        assert [e.kind for e in bounce.events] == [Kind.BOUNCE]
        complaint = parse(json.loads((GENUINE / "django-ses-event-publishing-complaint.json").read_text()))
        assert [e.kind for e in complaint.events] == [Kind.COMPLAINT]
        assert complaint.sns is not None
        assert complaint.sns["Message"].endswith("\n")

    def test_sns_message_as_object(self) -> None:
        """Some tools store the envelope with Message already decoded; it means the same."""
        inner = load_sample("event-bounce")
        as_string = parse(sns_envelope(inner, message_id="11111111-2222-3333-4444-555555555555"))
        envelope = sns_envelope(inner, message_id="11111111-2222-3333-4444-555555555555")
        envelope["Message"] = inner
        as_object = parse(envelope)
        assert as_object.events == as_string.events
        assert as_object.key == as_string.key

    @pytest.mark.parametrize("wrap", ["sqs-sns", "sqs-raw", "sqs-eventbridge", "lambda-sns", "lambda-sqs"])
    def test_sqs_and_lambda_wrappers(self, wrap: str) -> None:
        """An SQS message (ReceiveMessage output or Lambda batch) holding any shape yields the same events."""
        inner = load_sample("event-delivery-delay")
        envelope = sns_envelope(inner, message_id="aaaaaaaa-0000-4000-8000-000000000001")
        bodies = {
            "sqs-sns": {"MessageId": "q1", "ReceiptHandle": "r", "Body": json.dumps(envelope)},
            "sqs-raw": {"MessageId": "q1", "ReceiptHandle": "r", "Body": json.dumps(inner)},
            "sqs-eventbridge": {"MessageId": "q1", "Body": json.dumps(eventbridge_event(inner, "eb-1"))},
            "lambda-sns": {"Records": [{"EventSource": "aws:sns", "Sns": {**envelope, "Subject": None}}]},
            "lambda-sqs": {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(envelope)}]},
        }
        record = parse(bodies[wrap])
        assert [(e.kind, e.recipient) for e in record.events] == [(Kind.DELIVERY_DELAY, "recipient@example.com")]
        if wrap in ("sqs-sns", "lambda-sns", "lambda-sqs"):
            assert record.key == "sns:aaaaaaaa-0000-4000-8000-000000000001"

    def test_topic_validation_text_is_a_note(self) -> None:
        """SES's plain-text 'Successfully validated SNS topic' notification is accepted, not an error."""
        envelope = sns_envelope({"eventType": "Send"})
        envelope["Message"] = "Successfully validated SNS topic for Amazon SES event publishing."
        record = parse(envelope)
        assert record.kind is RecordKind.NOTE
        assert record.events == ()

    def test_subscription_confirmation_is_recorded_without_events(self) -> None:
        conf = json.loads((GENUINE / "aws-java-v2-subconf.json").read_text())
        record = parse(conf)
        assert record.kind is RecordKind.SUBSCRIPTION_CONFIRMATION
        assert record.events == ()

    def test_bounce_without_recipients_is_a_message_level_event(self) -> None:
        """A bounce with an empty bouncedRecipients list is kept as an event of the whole message."""
        obj = event("Bounce", "m-2", [], "2026-01-01T00:00:00Z", destination=["a@example.com"])
        obj["bounce"]["bounceType"], obj["bounce"]["bounceSubType"] = "Undetermined", "Undetermined"
        (only,) = parse(obj).events
        assert only.recipient == ""

    def test_identity_and_event_publishing_share_event_identity(self) -> None:
        """The same delivery by two routes has one identity, so it counts once."""
        ep = event("Delivery", "m-3", ["a@example.com"], "2026-01-01T00:00:01Z")
        idn = event("Delivery", "m-3", ["a@example.com"], "2026-01-01T00:00:01Z", identity_format=True)
        assert parse(ep).events[0].identity == parse(idn).events[0].identity

    def test_loose_timestamp_of_the_aws_doc_sample(self) -> None:
        """The doc's '2018-10-08T14:05:45 +0000' form is read as UTC."""
        obj = event("Send", "m-4", ["a@example.com"], "x")
        obj["mail"]["timestamp"] = "2018-10-08T14:05:45 +0000"
        assert parse(obj).events[0].timestamp == "2018-10-08T14:05:45.000Z"


BAD = [
    ([1, 2], "expected a JSON object"),
    ({"hello": "world"}, "not an SNS message"),
    ({"eventType": "Teleport", "mail": {"messageId": "x"}}, "unknown SES event type 'Teleport'"),
    ({"eventType": "Bounce", "bounce": {}}, "without a mail object"),
    ({"eventType": "Bounce", "mail": {"destination": []}, "bounce": {}}, "mail without a messageId"),
    ({"eventType": "Delivery", "mail": {"messageId": "x"}, "delivery": {"timestamp": "2020-01-01T00:00:00Z"}},
     "without recipients"),
    ({"eventType": "Delivery", "mail": {"messageId": "x"}, "delivery": {"recipients": ["a@b"]}}, "without a timestamp"),
    ({"eventType": "Open", "mail": {"messageId": "x", "timestamp": "yesterday"}, "open": {}}, "not an ISO 8601"),
    ({"Type": "Notification", "MessageId": "m", "Message": "{not json"}, "SNS Message is not JSON"),
    ({"Type": "Bogus", "MessageId": "m"}, "unknown SNS message Type"),
    ({"source": "aws.ses", "detail-type": "Email Bounced", "id": "x"}, "without a detail object"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "reason"), BAD)
def test_refusals_say_why(obj: Any, reason: str) -> None:
    """Whatever cannot be understood raises PayloadError with a reason a person can act on."""
    with pytest.raises(PayloadError, match=reason):
        parse(obj)
