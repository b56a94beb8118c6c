"""Email addresses as mailfate compares them: no display name, no angle brackets, lower-cased."""

from __future__ import annotations

import re

_BRACKETED = re.compile(r"<([^<>]*)>")


def normalize_address(raw: str) -> str:
    """``"Jane Doe" <Jane@Example.COM>`` becomes ``jane@example.com``.

    The whole address is lower-cased: SES and every major mailbox provider treat the local part
    case-insensitively, and one recipient must not split into two fates over capitalisation.
    """
    text = raw.strip()
    found = _BRACKETED.findall(text)
    if found:
        text = found[-1]
    return text.strip().strip('"').strip().lower()


def is_mailbox_simulator(address: str) -> bool:
    """SES mailbox simulator addresses are left out of reputation figures (they still get fates)."""
    return address.endswith("@simulator.amazonses.com")
