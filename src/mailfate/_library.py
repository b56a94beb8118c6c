"""The library's two functions that read the environment or a store: :func:`open_store` and :func:`check`.

Kept out of ``mailfate/__init__.py`` so that the package's namespace holds what ``__all__`` lists (and
its submodules), not the names these need.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailfate.core.check import CheckResult
from mailfate.core.suppression import Policy
from mailfate.settings import Settings
from mailfate.store import Store
from mailfate.store import open_store as _open_store


def open_store(
    url: str | None = None,
    *,
    bulk: bool = False,
    policy: Policy | None = None,
    migrate: bool = True,
    create: bool = True,
) -> Store:
    """Open (and, unless ``migrate=False``, migrate) a store: ``url`` defaults to ``MAILFATE_DB``, else
    ``sqlite:///mailfate.db``; ``policy`` to the ``MAILFATE_SOFT_BOUNCE_*`` settings; ``create=False``
    refuses a database that is not mailfate's already. :func:`mailfate.store.open_store` is the same
    without reading the environment."""
    settings = Settings.from_env()
    url = url or settings.database_url
    return _open_store(url, bulk=bulk, policy=policy or settings.policy, migrate=migrate, create=create)


def check(store: Store, addresses: str | Iterable[str]) -> list[CheckResult]:
    """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order.

    Addresses are compared normalized (display name and angle brackets removed, case folded); a
    malformed one gets ``error`` and ``allowed`` False, and does not spoil the others. The answer is
    the suppression the store keeps for each address: the same as every other surface gives."""
    return store.check(addresses)
