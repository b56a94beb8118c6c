"""Confirming an SNS subscription, only ever for a verified message from an allowed topic.

``url`` GETs the SubscribeURL, but only when it is exactly SNS's confirmation URL for the same topic and
token (the rule in envelope.py), so a crafted message can never make us request anything else (SSRF).
``api`` calls ``ConfirmSubscription(TopicArn, Token)`` through boto3 and fetches no URL at all.
``off`` only records the message; an operator confirms by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mailfate.errors import ConfirmationFailed
from mailfate.sns.certs import sns_http
from mailfate.sns.envelope import SnsMessage, check_subscribe_url

CONFIRM_TIMEOUT_SECONDS = 5.0

Get = Callable[[str], int]


def get_url(url: str) -> int:
    """GET a checked SubscribeURL without following redirects; return the HTTP status."""
    try:
        with sns_http().stream("GET", url, timeout=CONFIRM_TIMEOUT_SECONDS) as response:
            return response.status_code
    except httpx.HTTPError as exc:
        raise ConfirmationFailed(f"cannot reach SubscribeURL: {exc or type(exc).__name__}") from exc


def sns_client(region: str) -> Any:
    import boto3  # imported here: most deployments never confirm through the API

    return boto3.client("sns", region_name=region)


class Confirmer:
    def __init__(self, mode: str, get: Get = get_url, client: Callable[[str], Any] = sns_client) -> None:
        self.mode = mode
        self._get = get
        self._client = client

    def confirm(self, message: SnsMessage) -> str:
        """Confirm the subscription; return what was done ("confirmed" or "recorded")."""
        if self.mode == "off":
            return "recorded"
        if self.mode == "api":
            return self._confirm_api(message)
        check_subscribe_url(message.subscribe_url or "", message)
        status = self._get(message.subscribe_url or "")
        if status != 200:
            raise ConfirmationFailed(f"SubscribeURL answered {status}")
        return "confirmed"

    def _confirm_api(self, message: SnsMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client(message.topic.region).confirm_subscription(
                TopicArn=message.topic.arn, Token=message.token or "", AuthenticateOnUnsubscribe="true"
            )
        except (BotoCoreError, ClientError) as exc:
            raise ConfirmationFailed(f"ConfirmSubscription failed: {exc}") from exc
        return "confirmed"
