"""Test helpers: an SNS signer with a generated certificate, a real server process, a tiny HTTP client."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailfate.testing import SnsSigner as Signer

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"

__all__ = ["TOPIC", "Server", "Signer", "confirmation", "free_port", "post_sns", "request"]


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


#: The installed command, as a user runs it.
EXE = str(Path(sys.executable).with_name("mailfate"))


def at_terminal(argv: list[str], typed: bytes) -> tuple[int, str, str]:
    """``mailfate ARGV`` with a terminal for its input, on which ``typed`` is typed: its exit status,
    output and errors (a command that asks a question asks only a terminal)."""
    import pty

    terminal, tty = pty.openpty()
    try:
        process = subprocess.Popen([EXE, *argv], stdin=tty, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(terminal, typed)
        out, err = process.communicate(timeout=60)
        return process.returncode, out, err
    finally:
        os.close(terminal)
        os.close(tty)
