"""Test helpers: an SNS signer with a generated certificate, a real server process, a tiny HTTP client."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from mailfate.sns import sns_message

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
CERT_NAME = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"


@dataclass
class Signer:
    """Signs SNS messages the way SNS does, with a key and certificate made for the test run."""

    folder: Path
    key: rsa.RSAPrivateKey = field(init=False)
    cert_name: str = CERT_NAME

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.write_certificate(self.cert_name)

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
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS SignatureVersion 1)
        data = sns_message({**signed, "Signature": ""}).string_to_sign()
        signed["Signature"] = base64.b64encode(self.key.sign(data, padding.PKCS1v15(), algorithm)).decode()
        return signed


def confirmation(topic: str = TOPIC, sns_type: str = "SubscriptionConfirmation", **overrides: str) -> dict[str, Any]:
    region = topic.split(":")[3]
    token = "2336412f37fb687f5d51e6e2425929f52e8e353134fd0284eae5672847af082a"
    message = {
        "Type": sns_type,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the "
        "SubscribeURL included in this message.",
        "SubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}",
        "Timestamp": "2026-11-20T10:00:00.000Z",
        "SignatureVersion": "2",
        "Signature": "",
        "SigningCertURL": "",
    }
    message.update(overrides)
    return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
    timeout: float = 20,
) -> Response:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        raw = conn.getresponse()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
    finally:
        conn.close()


def post_sns(port: int, envelope: dict[str, Any] | bytes, headers: Mapping[str, str] | None = None) -> Response:
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    sent = {"Content-Type": "text/plain; charset=UTF-8"}
    if isinstance(envelope, dict) and "Type" in envelope:
        sent["x-amz-sns-message-type"] = str(envelope["Type"])
        sent["x-amz-sns-topic-arn"] = str(envelope.get("TopicArn"))
        sent["x-amz-sns-message-id"] = str(envelope.get("MessageId"))
    sent.update(headers or {})
    return request(port, "POST", "/sns", body, sent)


class Server:
    """``mailfate serve`` as a real process on 127.0.0.1; stopped by its PID."""

    def __init__(self, db: str, env: Mapping[str, str], log: Path, workers: int = 1) -> None:
        self.db, self.env, self.log, self.workers = db, dict(env), log, workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Server:
        exe = Path(sys.executable).with_name("mailfate")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
        env.update(self.env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(exe), "serve", "--port", str(self.port), "--db", self.db, "--workers", str(self.workers)],
                env=env, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if request(self.port, "GET", "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """kill -9 the server (and its workers): no chance to flush or clean up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def logs(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines
