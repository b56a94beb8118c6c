"""Cells of the CSV that mailfate writes (the activity export, ``suppressions --csv``), safe to open in a
spreadsheet: one rule for every file, so that no export can forget a column."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: What a spreadsheet takes as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """``value`` as CSV text; with an apostrophe in front when it would start a formula.

    Addresses and message ids come from outside too (``=1+2@example.com`` is a valid address), so every
    cell gets the rule; the times and names mailfate writes itself never start so and are unchanged.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(values: Iterable[Any]) -> list[str]:
    """A line of cells for ``csv.writer``."""
    return [cell(v) for v in values]
