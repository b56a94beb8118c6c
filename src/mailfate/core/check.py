"""The check before sending: may each of these addresses be mailed, and if not, why. Pure.

Addresses are compared in their normalized form (:mod:`mailfate.core.addresses`). A malformed one gets
an error of its own and does not spoil the others. The answer comes from the one place that decides
suppression: the caller passes ``lookup``, which gives the suppressions in force for the addresses
asked about (the stores read the suppression they keep for each address).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mailfate.core.addresses import address_problem, normalize_address
from mailfate.core.suppression import Suppression
from mailfate.errors import UsageError

#: The most addresses one check may ask about (``POST /api/check``).
MAX_ADDRESSES = 1000

Lookup = Callable[[list[str]], Mapping[str, Suppression]]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer for one address: ``address`` normalized (as given when it is not an address)."""

    address: str
    suppression: Suppression | None = None
    error: str | None = None

    @property
    def allowed(self) -> bool:
        """True when the address may be mailed: it is an address, and it is not suppressed."""
        return self.error is None and self.suppression is None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "address": self.address,
            "allowed": self.allowed,
            "suppression": self.suppression.to_json() if self.suppression else None,
        }
        if self.error is not None:
            body["error"] = self.error
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CheckResult:
        found = body.get("suppression")
        suppression = Suppression.from_json(body["address"], found) if isinstance(found, dict) else None
        return cls(body["address"], suppression, body.get("error"))


def address_error(given: str) -> tuple[str, str | None]:
    """``given`` normalized, and why it is not an email address (None when it is one): the one rule for
    what counts as an address, whether it is checked, or looked up (``recipient``)."""
    address = normalize_address(given)
    problem = address_problem(address)
    return address or given, f"not an email address: {problem}" if problem else None


class NotAnAddress(UsageError):
    """An address was asked for and ``given`` is not one (a bad request, exit status 2). ``message_id``
    is True when it could be a message id instead (no ``@``, no spaces): the caller points to that lookup."""

    def __init__(self, given: str, error: str) -> None:
        super().__init__(f"{given!r} is {error}")
        self.given = given
        self.message_id = "@" not in given and given.strip() != "" and not any(c.isspace() for c in given.strip())


def one_address(given: str) -> str:
    """The normalized address of ``given``, or NotAnAddress (the rule of :func:`address_error`)."""
    address, error = address_error(given)
    if error is not None:
        raise NotAnAddress(given, error)
    return address


def check(given: Iterable[object], lookup: Lookup) -> list[CheckResult]:
    """One result per item of ``given``, in its order; ``lookup`` is asked once, for the valid ones."""
    parsed: list[tuple[str, str | None]] = []
    for item in given:
        if not isinstance(item, str):
            parsed.append((json.dumps(item, default=str), "not a string"))
            continue
        parsed.append(address_error(item))
    found = lookup(sorted({address for address, problem in parsed if problem is None}))
    return [
        CheckResult(address, error=problem) if problem else CheckResult(address, found.get(address))
        for address, problem in parsed
    ]
