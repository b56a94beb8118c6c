"""Suppressions that outlive their facts (migration 0013, docs/privacy.md).

Retention prunes old fates, and ``forget`` erases an address's; a suppression they decided must still
hold. Before its facts go, the suppression in force is kept in ``kept_suppressions``: under the address
when retention prunes, under the address's keyed hash (:func:`~mailfate.core.erasure.address_key`) when
it is erased. Deciding an address again counts what is kept as facts
(:func:`~mailfate.core.suppression.suppression_of`), and reading one that has no decided suppression
looks for its hash. When an erased address comes back (a new event), its hashed suppression is kept
under the address again: the address is stored anew anyway, and its suppression must follow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mailfate.core.erasure import HASH_PREFIX, address_key, key_fingerprint
from mailfate.core.jsonutil import loads
from mailfate.core.suppression import Suppression
from mailfate.errors import ErasureKeyError
from mailfate.store.tx import Run, Transaction, chunks, marks

#: The keys of hashed rows sort between these two (an address has an @ and no such prefix).
_HASHED = f"address >= '{HASH_PREFIX}' AND address < '{HASH_PREFIX[:-1]};'"
_UPSERT = (
    "INSERT INTO kept_suppressions (address, payload, kept_at) VALUES (?, ?, ?) "
    "ON CONFLICT (address) DO UPDATE SET payload = excluded.payload, kept_at = excluded.kept_at"
)


def check_key(run: Run, key: bytes | None) -> None:
    """Raise :class:`ErasureKeyError` when the database holds hashed suppressions that ``key`` cannot
    find: a check would let an erased, suppressed address through."""
    if key is None:
        if run(f"SELECT 1 FROM kept_suppressions WHERE {_HASHED} LIMIT 1"):
            raise ErasureKeyError(
                "this database keeps suppressions of erased addresses under MAILFATE_ERASURE_KEY, which is "
                "not set: set it to the key they were erased with"
            )
        return
    stored = run("SELECT fingerprint FROM erasure_key")
    if stored and stored[0][0] != key_fingerprint(key):
        raise ErasureKeyError(
            "MAILFATE_ERASURE_KEY is not the key this database's erased addresses were hashed with: set it to that key"
        )


def erased_in_force(run: Run, addresses: Sequence[str], now: datetime, key: bytes | None) -> dict[str, Suppression]:
    """The suppressions in force at ``now`` that these (normalized) addresses have as erased addresses."""
    if not addresses:
        return {}
    if key is None:
        check_key(run, None)
        return {}
    if not run(f"SELECT 1 FROM kept_suppressions WHERE {_HASHED} LIMIT 1"):
        return {}  # nothing erased while suppressed (the usual case): no hash to make
    by_hash = {address_key(key, a): a for a in addresses}
    found = {}
    for chunk in chunks(sorted(by_hash)):
        for hashed, payload in run(
            f"SELECT address, payload FROM kept_suppressions WHERE address IN ({marks(chunk)})", chunk
        ):
            address = by_hash[hashed]
            suppression = Suppression.from_json(address, loads(payload))
            if suppression.in_force(now):
                found[address] = suppression
    return found


def erased(run: Run, addresses: Sequence[str], key: bytes) -> list[str]:
    """Those of ``addresses`` that are kept under their hash: erased while suppressed."""
    by_hash = {address_key(key, a): a for a in addresses}
    found = []
    for chunk in chunks(sorted(by_hash)):
        found += [
            by_hash[r[0]]
            for r in run(f"SELECT address FROM kept_suppressions WHERE address IN ({marks(chunk)})", chunk)
        ]
    return found


def kept_for(tx: Transaction, addresses: Sequence[str], key: bytes | None, at: str) -> dict[str, list[Suppression]]:
    """What is kept for these addresses: under each address, and under its hash (which moves to the
    address: see the module's docstring)."""
    found: dict[str, list[Suppression]] = {}
    hashes = {address_key(key, a): a for a in addresses} if key is not None else {}
    wanted = sorted({*addresses, *hashes})
    back: list[tuple[str, str, str]] = []
    for chunk in chunks(wanted):
        for name, payload in tx.execute(
            f"SELECT address, payload FROM kept_suppressions WHERE address IN ({marks(chunk)})", chunk
        ):
            address = hashes.get(name, name)
            found.setdefault(address, []).append(Suppression.from_json(address, loads(payload)))
            if name in hashes:
                back.append((name, address, payload))
    for hashed, address, payload in sorted(back):
        tx.execute("DELETE FROM kept_suppressions WHERE address = ?", (hashed,))
        tx.execute(
            "INSERT INTO kept_suppressions (address, payload, kept_at) VALUES (?, ?, ?) "
            "ON CONFLICT (address) DO NOTHING",
            (address, payload, at),
        )
    return found


def keep(tx: Transaction, rows: Sequence[tuple[str, str]], at: str) -> None:
    """Keep these (address or hash, suppression JSON) pairs, replacing what was kept under each."""
    tx.executemany(_UPSERT, [(name, payload, at) for name, payload in sorted(rows)])


def remember_key(tx: Transaction, key: bytes) -> None:
    """Record the fingerprint of the key hashes are made with, once (check_key compares it)."""
    tx.execute(
        "INSERT INTO erasure_key (id, fingerprint) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", (key_fingerprint(key),)
    )
