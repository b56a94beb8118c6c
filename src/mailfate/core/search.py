"""What a message and a recipient can be found by, as *terms*; and what a search asks for (docs/api.md).

The store keeps each term with its message's send time in one index ordered by (term, send time), so
every exact filter (sender, configuration set, tag, recipient domain) reads its matches newest first
straight from the index, and a search word reads them by prefix. A term is a namespace, a colon and a
value: ``i:`` the message id, ``w:`` a word of the subject, ``a:`` the recipient address and each part
of it that follows an ``@`` or a ``.`` (so ``heidi``, ``example.com`` and ``com`` all begin one),
``s:`` the sender, ``c:`` the configuration set and ``t:`` a tag as ``name=value``. Ids, words and
addresses are lower-cased.

A search word matches when it begins a term of ``i:``, ``a:`` or ``w:``; the same test, said on the
stored row (:func:`like_patterns`), lets the store check a row that another filter found.

Pure: no I/O. The store writes the terms in the transaction that writes the message or recipient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Terms are cut at this many characters: an index key stays small whatever a value holds (and a whole
#: address, at most 254, fits).
MAX_TERM = 300
#: Subject words kept per message, and tag values per message: the first ones.
MAX_WORDS = 40
MAX_TAG_VALUES = 50
#: Words in one search at the most (each is one more condition).
MAX_TOKENS = 8

_WORD = re.compile(r"[^\W_]+")
#: The largest code point: a prefix's range of terms is [prefix, prefix + this).
TOP = "\U0010ffff"


def _term(namespace: str, value: str) -> str:
    return f"{namespace}:{value}"[:MAX_TERM]


def words(text: str | None) -> list[str]:
    """The distinct words of a subject, lower-cased, in order, at most MAX_WORDS."""
    found: dict[str, None] = {}
    for word in _WORD.findall((text or "").casefold()):
        found.setdefault(word)
        if len(found) == MAX_WORDS:
            break
    return list(found)


def subject_words(text: str | None) -> str:
    """The words of a subject as one text, each after a space: ``" order 42 confirmed"``. A word starts
    with ``w`` exactly when this text holds ``" w"`` (what the store's LIKE checks)."""
    return "".join(f" {word}" for word in words(text))


def address_parts(address: str) -> list[str]:
    """An address and each part of it that follows an @ or a dot: jane.doe@example.com, doe@example.com,
    example.com, com. A search word begins one of them when it begins a part of the address."""
    address = address.lower()  # as normalize_address stores it
    return [address, *(address[i + 1 :] for i, ch in enumerate(address) if ch in "@." and address[i + 1 :])]


def message_terms(
    message_id: str,
    subject: str | None,
    source: str | None,
    configuration_set: str | None,
    tags: Mapping[str, Sequence[str]] | None,
) -> set[str]:
    """The terms a message is found by: its id, its subject's words, its sender, set and tags."""
    found = {_term("i", message_id.lower())}
    found.update(_term("w", word) for word in words(subject))
    if source:
        found.add(sender_term(source))
    if configuration_set:
        found.add(configuration_set_term(configuration_set))
    count = 0
    for name, values in (tags or {}).items():
        if not isinstance(values, list | tuple):
            continue
        for value in values:
            if count == MAX_TAG_VALUES:
                return found
            found.add(tag_term(str(name), str(value)))
            count += 1
    return found


def recipient_terms(address: str) -> set[str]:
    return {_term("a", part) for part in address_parts(address)}


def sender_term(source: str) -> str:
    return _term("s", source.strip().casefold())


def configuration_set_term(name: str) -> str:
    return _term("c", name)


def tag_term(name: str, value: str) -> str:
    return _term("t", f"{name}={value}")


def domain_term(domain: str) -> str:
    """Recipients at a domain or under it: the domain is a part of their address (address_parts)."""
    return _term("a", domain.strip().casefold().lstrip("@"))


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a search: it matches when it begins the message id, a part of the address
    (address_parts) or, when it is one word, a word of the subject. ``ranges`` are the terms it
    matches, [low, high) each."""

    text: str
    word: str | None
    ranges: tuple[tuple[str, str], ...]


def tokens(query: str) -> tuple[Token, ...]:
    """A search, split at spaces: every token must match (at most MAX_TOKENS of them)."""
    found: list[Token] = []
    for piece in query.lower().split()[:MAX_TOKENS]:
        prefixes = [_term("i", piece), _term("a", piece)]
        parts = _WORD.findall(piece.casefold())
        word = parts[0] if len(parts) == 1 else None
        if word is not None:
            prefixes.append(_term("w", word))
        found.append(Token(piece, word, tuple((p, p + TOP) for p in sorted(set(prefixes)))))
    return tuple(found)


def like(text: str) -> str:
    """``text`` for a LIKE pattern with ESCAPE '!': its own % and _ match only themselves."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
