"""`mailfate setup aws` and `mailfate doctor` against moto's AWS on 127.0.0.1."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailfate.aws.doctor import Account, diagnose
from mailfate.aws.setup import EVENT_TYPES
from mailfate.cli import aws as cli_aws
from mailfate.cli import main
from mailfate.store import open_store

from .aws_support import MotoGaps, clients_factory
from .conftest import moto_server
from .support import free_port, request

ENDPOINT = "https://mailfate.example.com/sns"
TOPIC = "arn:aws:sns:us-east-1:123456789012:mailfate-ses-events"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:  # one server for the module; each test resets it
        yield url


class Aws:
    """boto3 clients on moto, sharing the stand-ins of aws_support with the code under test."""

    def __init__(self, url: str) -> None:
        self.factory = clients_factory(url, MotoGaps())
        self.clients = self.factory("us-east-1")

    def __call__(self, service: str) -> Any:
        return self.clients(service)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    port = int(moto_url.rsplit(":", 1)[1])
    request(port, "POST", "/moto-api/reset")  # a fresh account for every test
    aws = Aws(moto_url)
    monkeypatch.setattr(cli_aws, "boto3_clients", aws.factory)
    for name in [n for n in os.environ if n.startswith("MAILFATE_")]:
        monkeypatch.delenv(name)
    return aws


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_setup_from_nothing_with_an_https_endpoint(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--region", "us-east-1")
    assert code == 0
    assert f"MAILFATE_TOPIC_ARNS={TOPIC}" in out
    assert aws("sns").get_topic_attributes(TopicArn=TOPIC)["Attributes"]["SignatureVersion"] == "2"
    (sub,) = aws("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("https", ENDPOINT)
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"]
    assert attributes["RawMessageDelivery"] == "false"
    assert aws("sesv2").get_configuration_set(ConfigurationSetName="mailfate")["ConfigurationSetName"] == "mailfate"
    (destination,) = aws("sesv2").get_configuration_set_event_destinations(ConfigurationSetName="mailfate")[
        "EventDestinations"
    ]
    assert destination["Enabled"] is True
    assert sorted(destination["MatchingEventTypes"]) == sorted(EVENT_TYPES)
    assert len(EVENT_TYPES) == 10
    assert destination["SnsDestination"]["TopicArn"] == TOPIC


def test_setup_twice_changes_nothing_the_second_time(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "setup", "aws", "--endpoint", ENDPOINT)[0] == 0
    code, out = run(capsys, "setup", "aws", "--endpoint", ENDPOINT)
    assert code == 0
    assert "Nothing to change" in out
    assert len(aws("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]) == 1
    assert len(aws("sns").list_topics()["Topics"]) == 1


def test_dry_run_prints_the_plan_and_changes_nothing(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--dry-run")
    assert code == 0
    assert "create SNS topic mailfate-ses-events" in out
    assert "SignatureVersion 2" in out
    assert "raw delivery off" in out
    assert "publish every event type of mailfate" in out
    assert "Dry run: nothing was changed." in out
    assert aws("sns").list_topics()["Topics"] == []
    assert aws("sesv2").list_configuration_sets()["ConfigurationSets"] == []


def test_setup_fixes_what_was_wired_wrong(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    sns = aws("sns")
    arn = sns.create_topic(Name="mailfate-ses-events")["TopicArn"]  # SignatureVersion 1: the SNS default
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=ENDPOINT, Attributes={"RawMessageDelivery": "true"})
    _, out = run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--dry-run")
    assert "instead of SHA1" in out
    assert "turn raw message delivery off" in out
    assert run(capsys, "setup", "aws", "--endpoint", ENDPOINT)[0] == 0
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "2"
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"]
    assert attributes["RawMessageDelivery"] == "false"


def test_setup_with_sqs(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "setup", "aws", "--sqs", "ses-feedback")
    assert code == 0
    url = aws("sqs").get_queue_url(QueueName="ses-feedback")["QueueUrl"]
    assert f"mailfate consume sqs {url} --verify" in out
    policy = json.loads(
        aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == TOPIC
    (sub,) = aws("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("sqs", "arn:aws:sqs:us-east-1:123456789012:ses-feedback")
    # And the wiring carries messages: what the topic publishes lands in the queue, signed.
    aws("sns").publish(TopicArn=TOPIC, Message='{"notificationType": "Delivery"}')
    got = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(got[0]["Body"])["TopicArn"] == TOPIC
    assert "Nothing to change" in run(capsys, "setup", "aws", "--sqs", "ses-feedback")[1]


def test_setup_with_identity_notifications(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws("ses").verify_domain_identity(Domain="example.com")
    assert run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--identity", "example.com")[0] == 0
    attributes = aws("ses").get_identity_notification_attributes(Identities=["example.com"])["NotificationAttributes"]
    for kind in ("Bounce", "Complaint", "Delivery"):
        assert attributes["example.com"][f"{kind}Topic"] == TOPIC
    assert aws("sesv2").list_configuration_sets()["ConfigurationSets"] == []  # one path only
    assert "Nothing to change" in run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--identity", "example.com")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "http://plain.example/sns"], "https://"),
        (["--endpoint", ENDPOINT, "--identity", "a.example", "--configuration-set", "x"], "not allowed with"),
    ],
)
def test_setup_usage_errors(aws: Aws, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    try:
        code = main(["setup", "aws", *args])
    except SystemExit as exc:  # argparse refuses some combinations itself
        code = int(str(exc.code))
    assert code == 2
    assert message in capsys.readouterr().err
    assert aws("sns").list_topics()["Topics"] == []


# -- doctor ---------------------------------------------------------------------------------------


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, str]]]:
    code = main(["doctor", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_doctor_finds_a_clean_setup_clean(
    aws: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "setup", "aws", "--endpoint", ENDPOINT)
    monkeypatch.setenv("MAILFATE_TOPIC_ARNS", TOPIC)
    code, findings = doctor(capsys, "--endpoint", ENDPOINT)
    assert code == 0
    assert [f["level"] for f in findings] == ["ok"]


def test_doctor_finds_each_misconfiguration(
    aws: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sns = aws("sns")
    sha1 = sns.create_topic(Name="old-sha1")["TopicArn"]
    sns.subscribe(TopicArn=sha1, Protocol="https", Endpoint=ENDPOINT, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=sha1, Protocol="http", Endpoint="http://plain.example/sns")
    lonely = sns.create_topic(Name="lonely", Attributes={"SignatureVersion": "2"})["TopicArn"]
    # The same bounces published twice to the checked topic: identity notifications and a configuration set.
    aws("ses").verify_domain_identity(Domain="example.com")
    aws("ses").set_identity_notification_topic(Identity="example.com", NotificationType="Bounce", SnsTopic=sha1)
    aws("sesv2").create_configuration_set(ConfigurationSetName="marketing")
    publish_some = {"Enabled": True, "MatchingEventTypes": ["BOUNCE", "SEND"], "SnsDestination": {"TopicArn": sha1}}
    aws("sesv2").create_configuration_set_event_destination(
        ConfigurationSetName="marketing", EventDestinationName="to-mailfate", EventDestination=publish_some
    )
    monkeypatch.setenv("MAILFATE_TOPIC_ARNS", sha1)  # lonely is checked, but not allowed
    code, findings = doctor(capsys, "--topic", sha1, "--topic", lonely, "--topic", TOPIC, "--endpoint", ENDPOINT)
    assert code == 1
    said = [(f["level"], f["subject"], f["message"]) for f in findings]

    def found(level: str, subject: str, words: str) -> bool:
        return any(lv == level and subject in sj and words in msg for lv, sj, msg in said)

    assert found("warning", sha1, "SHA1")
    assert found("error", sha1, "raw message delivery is on")
    assert found("warning", "http://plain.example/sns", "plain http")
    assert found("error", lonely, "not in MAILFATE_TOPIC_ARNS")
    assert found("error", lonely, "no subscription")
    assert found("error", lonely, f"{ENDPOINT} is not subscribed")
    assert found("error", TOPIC, "no such topic")
    assert found("warning", "example.com and configuration set marketing", "Bounce events of mail that uses")
    assert found("warning", "configuration set marketing", "leaves out COMPLAINT, DELIVERY")
    assert all(f["fix"] for f in findings)  # every problem comes with its fix


def test_doctor_without_an_allowlist(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = doctor(capsys)
    assert code == 1
    assert findings[0]["subject"] == "MAILFATE_TOPIC_ARNS"


def test_doctor_on_a_subscription_still_pending() -> None:
    """moto confirms every subscription at once, so this one is read as SNS returns it before confirmation."""
    pending = {"SubscriptionArn": "PendingConfirmation", "Protocol": "https", "Endpoint": ENDPOINT,
               "Attributes": {"PendingConfirmation": "true"}}  # fmt: skip
    account = Account(topics={TOPIC: {"SignatureVersion": "2"}}, subscriptions={TOPIC: [pending]})
    (finding,) = diagnose(account, frozenset({TOPIC}), ENDPOINT)
    assert finding.level == "error"
    assert "not confirmed" in finding.message
    assert "MAILFATE_CONFIRM" in finding.fix


def test_aws_unreachable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setattr(cli_aws, "boto3_clients", clients_factory(closed, MotoGaps()))
    monkeypatch.setenv("MAILFATE_TOPIC_ARNS", TOPIC)
    code = main(["doctor"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("mailfate: error: sns get_topic_attributes:")
    assert "Traceback" not in err


# -- a step that fails -----------------------------------------------------------------------------------


def test_a_failed_step_says_which_why_and_what_is_left(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS refuses the queue name at step 4: steps 1-3 are done and said so, step 5 is left, named."""
    code = main(["setup", "aws", "--sqs", "bad name!"])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "Changes, each as it is made:"
    assert [line.rsplit(" ", 1)[1] for line in lines[1:]] == ["done", "done", "done", "FAILED"]
    assert "create SQS queue bad name!" in lines[4]
    first, *rest = err.splitlines()
    assert first == (
        "mailfate: error: step 4 of 5 failed: sqs create_queue: InvalidParameterValue: "
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
    )
    assert rest[0] == "mailfate: 3 of 5 steps were made; not done:"
    assert rest[1].startswith("  4. create SQS queue bad name!")
    assert rest[2].startswith("  5. subscribe queue bad name! to mailfate-ses-events")
    assert "run the same command again" in rest[3]
    assert len(aws("sns").list_topics()["Topics"]) == 1  # what was said done is done


def test_an_html_error_page_is_never_printed(moto_url: str, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """moto has no SES v2 event destinations: without the stand-in, step 3 gets moto's HTML 404 page."""
    import boto3

    port = int(moto_url.rsplit(":", 1)[1])
    request(port, "POST", "/moto-api/reset")

    def plain(region: str | None) -> Any:
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        made: dict[str, Any] = {}
        return lambda service: made.setdefault(service, session.client(service, endpoint_url=moto_url))

    monkeypatch.setattr(cli_aws, "boto3_clients", plain)
    code = main(["setup", "aws", "--endpoint", ENDPOINT])
    out, err = capsys.readouterr()
    assert code == 1
    assert "<" not in err
    assert "html" not in err.lower()
    assert err.splitlines()[0] == (
        "mailfate: error: step 3 of 4 failed: sesv2 create_configuration_set_event_destination: "
        "HTTP 404: a web page answered, not AWS's API (check the region and the endpoint)"
    )
    assert "  4. subscribe https://mailfate.example.com/sns" in err
    assert out.splitlines()[-1].endswith("FAILED")


@pytest.mark.parametrize("command", [["doctor"], ["setup", "aws", "--endpoint", "https://mail.example.com/sns"]])
def test_a_profile_that_does_not_exist_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "nope")
    code = main([*command, "--region", "us-east-1"])
    assert (code, capsys.readouterr().err) == (1, "mailfate: error: The config profile (nope) could not be found\n")


def test_the_command_line_net_under_every_aws_path() -> None:
    """A botocore error that a command did not word itself is still one line; anything else is a bug."""
    from botocore.exceptions import EndpointConnectionError

    from mailfate.cli.main import _aws_failure

    failure = EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com/")
    assert _aws_failure(failure) == 'Could not connect to the endpoint URL: "https://sqs.eu-west-1.amazonaws.com/"'
    assert _aws_failure(ValueError("a bug")) is None


def test_setup_records_its_changes_in_the_audit_trail(aws: Aws, capsys: pytest.CaptureFixture[str],
                                                      store_url: str) -> None:  # fmt: skip
    code = main(["setup", "aws", "--endpoint", ENDPOINT, "--db", store_url])
    captured = capsys.readouterr()
    assert code == 0
    assert "recorded in the audit trail" in captured.err
    store = open_store(store_url, migrate=False)
    try:
        (entry,) = store.audit().entries
    finally:
        store.close()
    assert entry.action == "setup_aws"
    assert entry.actor.startswith("cli:")
    assert entry.target == "AWS us-east-1: topic mailfate-ses-events"
    assert entry.detail is not None
    assert entry.detail["made"][0] == "sns create_topic"
    assert entry.detail["not_made"] == []
    assert "Nothing to change" in run(capsys, "setup", "aws", "--endpoint", ENDPOINT, "--db", store_url)[1]
    store = open_store(store_url, migrate=False)
    try:
        assert len(store.audit().entries) == 1  # nothing changed, nothing recorded
    finally:
        store.close()


def test_setup_without_a_database_says_it_records_nothing(
    aws: Aws, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["setup", "aws", "--endpoint", ENDPOINT]) == 0
    assert "not recorded in an audit trail" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no database made up for it
