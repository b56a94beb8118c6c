"""Counts in the text people read: "1 record", "2 records", "1,204 records".

Every count the command line, the alerts and the dashboard print goes through one helper (this one, and
``counted`` in the dashboard's ``dom.js``), so that a single bounce is never "1 bounces".
"""

from __future__ import annotations


def noun(count: float, singular: str, plural: str | None = None) -> str:
    """``singular`` for exactly one, else ``plural`` (by default ``singular`` + "s"), as in "0 records",
    "1.5 hours"."""
    return singular if count == 1 else plural or f"{singular}s"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with thousands separators and the noun that agrees with it: ``counted(1, "soft bounce")``
    is "1 soft bounce", ``counted(2, "address", "addresses")`` is "2 addresses"."""
    return f"{count:,} {noun(count, singular, plural)}"
