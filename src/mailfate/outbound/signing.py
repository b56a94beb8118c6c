"""How outbound webhooks are signed, and how a receiver checks them (the docs show the same steps).

``Mailfate-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed by ``MAILFATE_WEBHOOK_SECRET``, of the
``Mailfate-Timestamp`` value, a dot, and the body: a receiver that also checks the timestamp is recent
cannot be fooled by a replayed delivery.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Mailfate-Signature"
TIMESTAMP_HEADER = "Mailfate-Timestamp"
CHANGE_HEADER = "Mailfate-Change"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256, keyed by the secret, of ``timestamp``, ``.`` and the body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """How a receiver checks a delivery (the docs show the same steps): compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), given)
