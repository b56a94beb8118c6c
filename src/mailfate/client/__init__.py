"""A typed client for applications that run mailfate as a service (``mailfate serve``), over its HTTP
API: :class:`Client` and its asyncio twin :class:`AsyncClient`. Only the pure core and httpx below it:
an application can use it without the server's dependencies being exercised."""

from mailfate.client.aio import AsyncClient
from mailfate.client.sync import Client
from mailfate.client.views import Message, MessageEvent, Recipient, RecipientFate, SentMessage, SuppressionJSON
from mailfate.client.wire import MessageJSON, RecipientJSON

__all__ = [
    "AsyncClient",
    "Client",
    "Message",
    "MessageEvent",
    "MessageJSON",
    "Recipient",
    "RecipientFate",
    "RecipientJSON",
    "SentMessage",
    "SuppressionJSON",
]
