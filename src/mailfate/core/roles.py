"""Who may do what over HTTP: API tokens, each with a name and a scope.

A ``read`` token reads (the API's lists and lookups, the dashboard, the metrics); an ``admin`` token
also acts (suppress, lift, erase, replay, dismiss, redeliver). The name is what the audit trail records
as the actor, so that the secret itself is never written anywhere.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    #: Reads everything the API, the dashboard and the metrics show; changes nothing.
    READ = "read"
    #: Reads, and acts by hand: every write route of the API.
    ADMIN = "admin"


#: The name the single ``MAILFATE_API_TOKEN`` goes by (an admin token, as it always was).
DEFAULT_NAME = "default"
#: The actor of a request when no token is configured (a server on loopback without one).
ANONYMOUS = "anonymous"

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


@dataclass(frozen=True, slots=True)
class ApiToken:
    """One token: its ``name`` (shown, recorded), its ``scope``, and its ``secret`` (never shown)."""

    name: str
    scope: Scope
    secret: str = field(repr=False)  # a repr in a log or a traceback must not carry it

    def may(self, needed: Scope) -> bool:
        return self.scope is Scope.ADMIN or needed is Scope.READ


class TokenListError(ValueError):
    """``MAILFATE_API_TOKENS`` is malformed; the message never holds a secret."""


def parse_tokens(raw: str) -> tuple[ApiToken, ...]:
    """``name:scope:token,...`` into tokens. Each part must be there, the scope must be known, and no
    two entries may share a name or a secret (one secret with two scopes would be ambiguous)."""
    found: list[ApiToken] = []
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue  # a trailing comma
        name, _, rest = entry.partition(":")
        scope, _, secret = rest.partition(":")
        name, scope = name.strip(), scope.strip().lower()
        # By position only: a malformed entry may be a bare secret, or have its parts in the wrong order.
        where = f"entry {position}"
        if not name or not scope or not secret:
            raise TokenListError(f"{where} must be name:scope:token, with none of the three empty")
        if not set(name) <= _NAME_CHARS:
            raise TokenListError(f"{where}: a name is letters, digits and . _ - @ only")
        if scope not in {s.value for s in Scope}:
            raise TokenListError(f"{where}: scope must be read or admin (the second part)")
        found.append(ApiToken(name, Scope(scope), secret))
    check_distinct(found)
    return tuple(found)


def check_distinct(tokens: Sequence[ApiToken]) -> None:
    names = [t.name for t in tokens]
    for name in names:
        if names.count(name) > 1:
            raise TokenListError(f"the name {name!r} is given to more than one token")
    first: dict[str, str] = {}
    for token in tokens:
        if token.secret in first:
            raise TokenListError(f"tokens {first[token.secret]!r} and {token.name!r} have the same secret")
        first[token.secret] = token.name


def identify(tokens: Iterable[ApiToken], given: str) -> ApiToken | None:
    """The token whose secret is ``given``, or None. Every secret is compared, in constant time each,
    whichever matches: how long this takes does not tell which token (or how much of one) was right."""
    given_bytes = given.encode()
    match: ApiToken | None = None
    for token in tokens:
        if hmac.compare_digest(given_bytes, token.secret.encode()):
            match = token  # no early exit
    return match
