"""Erasing an address (docs/privacy.md): the keyed hash that an erased suppression is kept under, and
the redaction of an address from text that other recipients share (a raw record, a message's headers).

Pure: the store finds the rows and writes them back; this says what an address becomes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from mailfate.core.addresses import normalize_address

#: What an erased address is replaced by in text kept for others: valid inside any JSON string.
ERASED = "[erased]"
#: The prefix of a kept suppression's key when it is a keyed hash rather than an address (which has an @).
HASH_PREFIX = "hmac-sha256:"
#: Characters that may continue an address: an occurrence glued to one of them is another address.
_BEFORE = r"(?:(?<![A-Za-z0-9._%+\-])|(?<=\\u[0-9A-Fa-f]{4}))"
_AFTER = r"(?![A-Za-z0-9\-_]|\.[A-Za-z0-9])"


def address_key(key: bytes, address: str) -> str:
    """The keyed hash an erased address is known by: HMAC-SHA256 of its normalized form. Without the
    key nobody can tell which address it was, nor test a guess."""
    normalized = normalize_address(address)
    digest = hmac.new(key, normalized.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest


def key_fingerprint(key: bytes) -> str:
    """What the database keeps of the key, so that a process given another key is told, not silently
    blind to the erased suppressions."""
    return hmac.new(key, b"mailfate erasure key check", hashlib.sha256).hexdigest()[:16]


def pattern(address: str) -> re.Pattern[str]:
    """The address in any letter case, where a JSON writer may have escaped any of its characters
    (``\\u0040`` for ``@``, ``\\/``), once or inside a JSON string held in another (an SNS envelope)."""
    parts = []
    for ch in normalize_address(address):
        forms = [re.escape(ch)]
        for spelled in dict.fromkeys((ch, ch.upper())):  # an escape names one case: both are the address
            if len(spelled) == 1 and ord(spelled) < 0x10000:
                forms.append(rf"\\+u{ord(spelled):04x}")
        if ch == "/":
            forms.append(r"\\+/")
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile(_BEFORE + "".join(parts) + _AFTER, re.IGNORECASE)


def redact(text: str, found: re.Pattern[str]) -> str:
    """``text`` with every occurrence of the address replaced by :data:`ERASED`."""
    return found.sub(ERASED, text)


def redact_bytes(data: bytes, found: re.Pattern[str]) -> bytes:
    """The same, on bytes kept byte for byte (invalid UTF-8 stays as it was)."""
    return found.sub(ERASED, data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def mentions(text: str | bytes | None, found: re.Pattern[str]) -> bool:
    if text is None:
        return False
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    return found.search(text) is not None


@dataclass(slots=True)
class Erasure:
    """What erasing an address removed: rows deleted, or (records) rewritten without it."""

    address: str
    records: int = 0  # raw records rewritten with the address replaced
    events: int = 0
    fates: int = 0
    messages: int = 0  # messages that had no other recipient, deleted whole
    search_terms: int = 0
    changes: int = 0
    deliveries: int = 0  # webhook deliveries still to make about it
    suppressions: int = 0  # suppressions added or lifted by hand
    quarantined: int = 0
    audit: int = 0  # entries of the audit trail rewritten to name its keyed hash instead
    #: Whether it stays suppressed, under its keyed hash.
    suppressed: bool = False

    @property
    def removed(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTED}

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "removed": self.removed, "suppressed": self.suppressed}


COUNTED = ("records", "events", "fates", "messages", "search_terms", "changes", "deliveries", "suppressions",
           "quarantined", "audit")  # fmt: skip
