"""Counts in words: one helper for every count the command line and the alerts print."""

from __future__ import annotations

import pytest

from mailfate.core.wording import counted, noun


@pytest.mark.parametrize(
    ("count", "singular", "plural", "expected"),
    [
        (0, "record", None, "0 records"),
        (1, "record", None, "1 record"),
        (2, "soft bounce", None, "2 soft bounces"),
        (1_204, "record", None, "1,204 records"),
        (1, "address", "addresses", "1 address"),
        (3, "address", "addresses", "3 addresses"),
    ],
)
def test_counted_agrees_with_its_number(count: int, singular: str, plural: str | None, expected: str) -> None:
    assert counted(count, singular, plural) == expected


def test_noun_alone_for_a_number_written_otherwise() -> None:
    assert [noun(n, "hour") for n in (1, 1.0, 0.5, 24)] == ["hour", "hour", "hours", "hours"]
