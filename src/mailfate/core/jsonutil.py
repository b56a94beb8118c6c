"""Fast JSON for the ingest path (orjson), with the standard library as the fallback for odd input."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: str | bytes) -> Any:
    """Decode JSON; orjson first (twice as fast), ``json`` for what orjson refuses but JSON allows
    (lone surrogate escapes, integers beyond 64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys: the same value always gives the same text (ranks compare it)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
