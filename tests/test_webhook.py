"""POST /sns against a real `mailfate serve` process on 127.0.0.1: the response table of docs/sources/sns-https.md."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest

from mailfate.errors import ConfirmationFailed
from mailfate.sns.confirm import Confirmer
from mailfate.sns.envelope import sns_message
from mailfate.testing import event, sns_envelope

from .conftest import GENUINE
from .support import TOPIC, Server, Signer, confirmation, free_port, post_sns, request

pytestmark = pytest.mark.server
Start = Callable[..., Server]


def delivery(message_id: str = "m-1", sns_id: str | None = None) -> dict[str, Any]:
    ses = event("Delivery", message_id, ["a@example.com"], "2026-11-20T10:00:01Z")
    return sns_envelope(ses, topic_arn=TOPIC, message_id=sns_id)


def stored(server: Server, message_id: str) -> dict[str, Any] | None:
    response = request(server.port, "GET", f"/api/messages/{message_id}")
    return response.json() if response.status == 200 else None


def quarantine(server: Server) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = request(server.port, "GET", "/api/quarantine").json()
    return items


def record_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count: int = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return count


class TestResponseTable:
    def test_stored_then_duplicate(self, servers: Start, signer: Signer, tmp_path: Path) -> None:
        """200 and stored; the same notification again: 200, stored once."""
        server = servers()
        signed = signer.sign(delivery(sns_id="aaaaaaaa-0000-4000-8000-000000000001"))
        first = post_sns(server.port, signed)
        assert first.status == 200, first.body
        assert first.json()["outcome"] == "stored"
        again = post_sns(server.port, signed)
        assert again.status == 200
        assert again.json()["outcome"] == "duplicate"
        body = stored(server, "m-1")
        assert body is not None
        assert body["status"] == "delivered"
        assert len(body["events"]) == 1
        assert record_count(tmp_path / "server.db") == 1

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"hello", "not JSON"),
            (b'{"Type": "Notification"', "not JSON"),
            (b"[1, 2, 3]", "not an SNS message"),
            (
                json.dumps(event("Send", "m-2", ["a@example.com"], "2026-11-20T10:00:00Z")).encode(),
                "raw message delivery",
            ),
        ],
    )
    def test_unparseable_is_400_and_quarantined(self, servers: Start, body: bytes, reason: str) -> None:
        server = servers()
        response = post_sns(server.port, body)
        assert response.status == 400
        assert reason in response.json()["error"]
        assert response.json()["status"] == 400
        (item,) = quarantine(server)
        assert item["preview"] == body.decode()[:300]
        assert reason in item["reason"]

    def test_raw_delivery_is_explained(self, servers: Start) -> None:
        server = servers()
        body = json.dumps(event("Send", "m-2", ["a@example.com"], "2026-11-20T10:00:00Z")).encode()
        response = post_sns(server.port, body, {"x-amz-sns-rawdelivery": "true"})
        assert response.status == 400
        assert "raw message delivery" in response.json()["error"]

    def test_genuine_but_unknown_ses_shape_is_400_and_quarantined(self, servers: Start, signer: Signer) -> None:
        server = servers()
        envelope = delivery()
        envelope["Message"] = json.dumps({"eventType": "Teleport", "mail": {"messageId": "m-3"}})
        response = post_sns(server.port, signer.sign(envelope))
        assert response.status == 400
        assert "unknown SES event type" in quarantine(server)[0]["reason"]

    @pytest.mark.parametrize("header", ["x-amz-sns-message-type", "x-amz-sns-topic-arn", "x-amz-sns-message-id"])
    def test_headers_disagreeing_with_body(self, servers: Start, signer: Signer, header: str, tmp_path: Path) -> None:
        server = servers()
        response = post_sns(server.port, signer.sign(delivery()), {header: "something-else"})
        assert response.status == 400
        assert header in response.json()["error"]
        assert stored(server, "m-1") is None
        assert quarantine(server) == []

    def test_bad_signature_is_403_and_not_stored(self, servers: Start, signer: Signer, tmp_path: Path) -> None:
        server = servers()
        signed = signer.sign(delivery())
        signed["Message"] = signed["Message"].replace("a@example.com", "b@example.com")
        response = post_sns(server.port, signed)
        assert response.status == 403
        assert "SignatureInvalid" in response.json()["error"]
        assert stored(server, "m-1") is None
        assert record_count(tmp_path / "server.db") == 0
        assert any(line.get("status") == 403 for line in server.logs())  # the attempt is logged

    def test_missing_signature(self, servers: Start, signer: Signer) -> None:
        server = servers()
        signed = signer.sign(delivery())
        del signed["Signature"]
        assert post_sns(server.port, signed).status == 403
        assert stored(server, "m-1") is None

    def test_refused_certificate_url(self, servers: Start, signer: Signer) -> None:
        server = servers()
        signed = signer.sign(delivery(), cert_url="https://sns.s3.amazonaws.com/SimpleNotificationService-0123.pem")
        response = post_sns(server.port, signed)
        assert response.status == 403
        assert "CertificateUrlRejected" in response.json()["error"]

    def test_topic_not_allowed(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_TOPIC_ARNS": "arn:aws:sns:us-east-1:123456789012:other"})
        response = post_sns(server.port, signer.sign(delivery()))
        assert response.status == 403
        assert "TopicNotAllowed" in response.json()["error"]

    def test_every_topic_when_no_allowlist(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_TOPIC_ARNS": ""})
        assert post_sns(server.port, signer.sign(delivery())).status == 200
        assert any("MAILFATE_TOPIC_ARNS is not set" in line["event"] for line in server.logs())

    def test_genuine_messages_refused_with_todays_clock(self, servers: Start) -> None:
        """AWS-signed messages whose certificates have expired: 403 over HTTP, nothing stored."""
        server = servers({"MAILFATE_SNS_CERTS_DIR": str(GENUINE / "certs"), "MAILFATE_TOPIC_ARNS": ""}, certs=False)
        for name in ("django-ses-identity-bounce.json", "aws-java-v2-sigv2.json", "perl-2019-1.json"):
            response = post_sns(server.port, json.loads((GENUINE / name).read_text()))
            assert response.status == 403, name
            assert "CertificateInvalid" in response.json()["error"]

    def test_basic_auth(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_BASIC_AUTH": "sns:s3cr3t-pw"})
        signed = signer.sign(delivery())
        missing = post_sns(server.port, signed)
        assert missing.status == 401
        assert missing.headers["www-authenticate"].startswith("Basic")
        wrong = post_sns(server.port, signed, {"Authorization": "Basic " + base64.b64encode(b"sns:nope").decode()})
        assert wrong.status == 401
        right = post_sns(server.port, signed, {"Authorization": "Basic " + base64.b64encode(b"sns:s3cr3t-pw").decode()})
        assert right.status == 200
        assert "s3cr3t-pw" not in server.log.read_text()

    def test_body_too_large(self, servers: Start, signer: Signer) -> None:
        server = servers()
        envelope = delivery()
        envelope["Message"] = envelope["Message"][:-1] + ', "pad": "' + "x" * 262_144 + '"}'
        response = post_sns(server.port, signer.sign(envelope))
        assert response.status == 413
        assert quarantine(server) == []

    def test_storage_unavailable_is_503_then_retry_succeeds(
        self, servers: Start, signer: Signer, tmp_path: Path
    ) -> None:
        """When the database refuses the write: 503 (SNS retries); once it recovers, the retry is stored."""
        server = servers()
        db = tmp_path / "server.db"
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TRIGGER broken BEFORE INSERT ON records BEGIN SELECT RAISE(FAIL, 'disk full'); END")
        signed = signer.sign(delivery())
        failed = post_sns(server.port, signed)
        assert failed.status == 503
        assert "storage unavailable" in failed.json()["error"]
        assert stored(server, "m-1") is None
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER broken")
        assert post_sns(server.port, signed).status == 200
        assert stored(server, "m-1") is not None

    def test_certificate_not_fetchable_now_is_503(self, servers: Start, signer: Signer) -> None:
        """No pinned certificate and no way to download it: 503 so that SNS retries later.

        The download goes through a proxy on 127.0.0.1 that refuses connections: no traffic leaves.
        """
        closed = free_port()
        proxy = f"http://127.0.0.1:{closed}"
        server = servers({"HTTPS_PROXY": proxy, "https_proxy": proxy}, certs=False)
        response = post_sns(server.port, signer.sign(delivery()))
        assert response.status == 503
        assert "signing certificate" in response.json()["error"]


class Canary(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<ConfirmSubscriptionResponse/>")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canary() -> Iterator[int]:
    Canary.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class TestSubscriptions:
    def test_ssrf_canary_receives_nothing(self, servers: Start, signer: Signer, canary: int) -> None:
        """Crafted SubscribeURL and SigningCertURL pointing at a server on loopback: nothing is fetched."""
        server = servers({"MAILFATE_CONFIRM": "url"})
        base = f"http://127.0.0.1:{canary}"
        attempts = [
            signer.sign(confirmation(SubscribeURL=f"{base}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=x")),
            signer.sign(confirmation(SubscribeURL=f"https://sns.us-east-1.amazonaws.com@127.0.0.1:{canary}/")),
            signer.sign(delivery(), cert_url=f"{base}/SimpleNotificationService-0123.pem"),
            signer.sign(confirmation(), cert_url=f"https://127.0.0.1:{canary}/SimpleNotificationService-0123.pem"),
        ]
        unsigned = confirmation(SubscribeURL=f"{base}/confirm")  # not signed at all
        for attempt in [*attempts, unsigned]:
            response = post_sns(server.port, attempt)
            assert response.status == 403, response.body
        assert Canary.hits == []

    def test_confirmation_recorded_when_off(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_CONFIRM": "off"})
        response = post_sns(server.port, signer.sign(confirmation()))
        assert response.status == 200
        assert response.json() == {"outcome": "stored", "subscription": "recorded"}

    def test_unsubscribe_confirmation_recorded(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_CONFIRM": "url"})
        response = post_sns(server.port, signer.sign(confirmation(sns_type="UnsubscribeConfirmation")))
        assert response.status == 200
        assert response.json()["subscription"] == "recorded"

    def test_no_auto_confirm_without_allowlist(self, servers: Start, signer: Signer) -> None:
        """Any topic may be subscribed to our URL: without an allowlist nothing is confirmed."""
        server = servers({"MAILFATE_CONFIRM": "url", "MAILFATE_TOPIC_ARNS": ""})
        response = post_sns(server.port, signer.sign(confirmation()))
        assert response.status == 200
        assert response.json()["subscription"] == "recorded"

    def test_confirmation_for_other_topic_refused(self, servers: Start, signer: Signer) -> None:
        server = servers({"MAILFATE_CONFIRM": "url"})
        other = "arn:aws:sns:us-east-1:999999999999:not-ours"
        response = post_sns(server.port, signer.sign(confirmation(topic=other)))
        assert response.status == 403


def test_one_structured_log_line_per_notification(servers: Start, signer: Signer) -> None:
    server = servers({"MAILFATE_API_TOKEN": "tok-123456"})
    post_sns(server.port, signer.sign(delivery(sns_id="bbbbbbbb-0000-4000-8000-000000000002")))
    lines = [line for line in server.logs() if line["event"] == "sns.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["sns_message_id"] == "bbbbbbbb-0000-4000-8000-000000000002"
    assert line["ses_message_id"] == "m-1"
    assert line["kinds"] == ["Delivery"]
    assert line["outcome"] == "stored"
    assert line["status"] == 200
    assert "tok-123456" not in server.log.read_text()


def test_api_confirmation_through_boto3(servers: Start, signer: Signer, moto: str) -> None:
    """MAILFATE_CONFIRM=api calls ConfirmSubscription(TopicArn, Token) and fetches no URL."""
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_SNS": moto}
    client = boto3.client("sns", region_name="us-east-1", endpoint_url=moto,
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    topic = client.create_topic(Name="ses-events")["TopicArn"]
    missing = "arn:aws:sns:us-east-1:123456789012:deleted-topic"
    server = servers({**aws, "MAILFATE_CONFIRM": "api", "MAILFATE_TOPIC_ARNS": f"{topic},{missing}"})

    response = post_sns(server.port, signer.sign(confirmation(topic=topic, SubscribeURL="https://127.0.0.1/x")))
    assert response.status == 200, response.body
    assert response.json()["subscription"] == "confirmed"

    # ConfirmSubscription fails for a topic moto does not have: 503, so that SNS sends it again.
    failed = post_sns(server.port, signer.sign(confirmation(topic=missing, MessageId="another-id")))
    assert failed.status == 503
    assert "ConfirmSubscription failed" in failed.json()["error"]


def test_url_confirmation_gets_only_the_checked_url(signer: Signer) -> None:
    """MAILFATE_CONFIRM=url: the one GET is of SNS's own confirmation URL (the transport is a seam here:
    no test may reach AWS)."""
    fetched: list[str] = []
    confirmer = Confirmer("url", get=lambda url: fetched.append(url) or 200)
    message = sns_message(signer.sign(confirmation()))
    assert confirmer.confirm(message) == "confirmed"
    assert fetched == [message.subscribe_url]
    failing = Confirmer("url", get=lambda url: 500)
    with pytest.raises(ConfirmationFailed):
        failing.confirm(message)
