"""Fast JSON for the ingest path (orjson), with the standard library as the fallback for odd input.

JSON can spell text that no database column holds: a lone surrogate (``"\\ud800"``) is not Unicode,
and PostgreSQL refuses ``"\\u0000"``. Decoded values that go into the database pass through
:func:`storable`, which puts U+FFFD in their place (the raw record keeps the original escapes).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

#: Values nested deeper than this are refused: nothing SES sends comes near, and every recursive
#: reader (ours, the standard library's) stays far from Python's recursion limit.
MAX_DEPTH = 64

# An escape that decodes to NUL or to a surrogate; found at any level of nesting, since a JSON string
# inside a JSON string only adds backslashes in front.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def loads(data: str | bytes) -> Any:
    """Decode JSON; orjson first (twice as fast), ``json`` for what orjson refuses but JSON allows
    (lone surrogate escapes, integers beyond 64 bits). Raises ValueError for anything else, nesting
    too deep for either decoder included."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc.reason}") from exc


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys: the same value always gives the same text (ranks compare it)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits, non-string keys, lone surrogates
        return json.dumps(value, sort_keys=True, separators=(",", ":"))


def may_hold_unstorable(text: str) -> bool:
    """True when decoding ``text`` may give text a database cannot store (cheap: one regex scan)."""
    return ("\\u" in text and _UNSTORABLE_ESCAPE.search(text) is not None) or _holds_unstorable(text)


def storable_text(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE_TEXT.sub(REPLACEMENT, text) if _holds_unstorable(text) else text


def _holds_unstorable(text: str) -> bool:
    # ASCII text holds no surrogate, and two scans in C (isascii, find) are many times faster than the
    # regex's scan of a body of a few kilobytes.
    if text.isascii():
        return "\x00" in text
    return _UNSTORABLE_TEXT.search(text) is not None


def storable(value: Any, depth: int = 0) -> Any:
    """``value`` with every string (keys too) made storable; ValueError past :data:`MAX_DEPTH`."""
    if isinstance(value, str):
        return storable_text(value)
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {storable_text(str(k)): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v, depth + 1) for v in value]
    return value


def depth_within(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` levels (stops looking as soon as it does)."""
    if isinstance(value, dict):
        return limit > 0 and all(depth_within(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return limit > 0 and all(depth_within(v, limit - 1) for v in value)
    return True
