"""Email addresses as mailfate compares them: no display name, no angle brackets, lower-cased."""

from __future__ import annotations

import re
import unicodedata

from mailfate.errors import UsageError

_BRACKETED = re.compile(r"<([^<>]*)>")


def normalize_address(raw: str) -> str:
    """``"Jane Doe" <Jane@Example.COM>`` becomes ``jane@example.com``.

    The whole address is lower-cased: SES and every major mailbox provider treat the local part
    case-insensitively, and one recipient must not split into two fates over capitalisation. For the
    same reason it is put in Unicode NFC (an accented letter typed as one code point or as two is one
    address), and a ``<`` that never closes still starts the address (``Jane <jane@example.com``).
    """
    text = raw.strip() if raw.isascii() else unicodedata.normalize("NFC", raw).strip()
    found = _BRACKETED.findall(text)
    if found:
        text = found[-1]
    elif "<" in text:
        text = text.rsplit("<", 1)[1]
    return text.strip().strip('"').strip().strip("<>").strip().lower()


def email_address(raw: str) -> str:
    """The normalized address of ``raw``, which must be an email address (what a user typed)."""
    address = normalize_address(raw)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch.isspace() or not ch.isprintable() for ch in address):
        raise UsageError(f"{raw!r} is not an email address")
    return address


#: The longest address SMTP carries (RFC 5321: a 256-octet path, less its angle brackets).
MAX_LENGTH = 254


def address_problem(address: str) -> str | None:
    """Why a normalized address cannot be mailed as it is written, or None when it can be."""
    if not address:
        return "the address is empty"
    if len(address) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if any(c.isspace() or not c.isprintable() for c in address):
        return "contains spaces or control characters"
    if "<" in address or ">" in address:
        return "contains an angle bracket"
    local, at, domain = address.rpartition("@")
    if not at:
        return "has no @"
    if not local:
        return "has nothing before the @"
    if "@" in local and not (local.startswith('"') and local.endswith('"')):
        return "has more than one @"
    if not domain or any(not label for label in domain.split(".")):
        return "has no valid domain after the @"
    return None


_DIGIT_RUN = re.compile(r"[0-9]+")


def natural_key(address: str) -> str:
    """The key that lists addresses the way a person reads them: ``user2`` before ``user10`` before
    ``user111`` before ``user1007``. Each run of digits is written with its length first (two digits;
    leading zeros dropped), so that comparing keys as text compares the numbers; the rest is as it is.
    Two addresses may share a key (``user01``, ``user1``): lists order by the key, then the address."""

    def number(run: re.Match[str]) -> str:
        digits = run.group().lstrip("0") or "0"
        return f"{len(digits):02d}{digits}"

    return _DIGIT_RUN.sub(number, address)
