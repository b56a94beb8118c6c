"""Storage: the :class:`Store` interface and :func:`open_store`, which picks a backend by URL."""

from __future__ import annotations

from mailfate.store.base import Store, open_store

__all__ = ["Store", "open_store"]
