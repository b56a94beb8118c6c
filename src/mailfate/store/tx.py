"""What every part of the SQL store runs statements through: a transaction, a reader, and chunking.

Kept apart from the store classes so that the feed, the outbox and the migrations can use them without
importing the store that uses them (no import cycles inside the package).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

#: Values bound in one ``IN (...)`` list at the most (SQLite allows 32,766 parameters).
CHUNK = 5000


class Transaction(Protocol):
    """A write transaction, as a backend hands it out: committed when its block ends."""

    def execute(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> int: ...


class Run(Protocol):
    """Anything that runs one statement and returns its rows: ``tx.execute`` or a store's reader."""

    def __call__(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def marks(values: Sequence[Any]) -> str:
    """``?, ?, ?``: one placeholder per value."""
    return ", ".join("?" * len(values))


def chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
