"""Versioned schema migrations, applied by mailfate itself when a store opens for writing.

A store opened for reading only (``open_store(url, migrate=False)``) applies nothing: it checks that the
database is mailfate's and fully migrated (:func:`check_schema`), so that a read command pointed at the
wrong database changes nothing in it (see docs/cli.md, "Which commands may change a database"). One
opened to change what is there (``create=False``) checks that it is mailfate's, then upgrades it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Collection
from importlib import resources

from mailfate.errors import SchemaError
from mailfate.logs import redact_url
from mailfate.store.tx import Transaction

#: A data step that SQL alone cannot take, run right after the named migration's statements.
AfterMigration = Callable[[Transaction, str], None]

#: The first migration: a ``schema_migrations`` table without it belongs to some other tool.
FIRST = "0001_initial"


def migrations(dialect: str) -> list[tuple[str, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("mailfate.store").joinpath("migrations", dialect)
    scripts = sorted((entry.name, entry.read_text()) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), text) for name, text in scripts]


def apply_migrations(tx: Transaction, dialect: str, now_sql: str, after: AfterMigration, where: str) -> None:
    """Apply, inside ``tx``, every migration not yet recorded in schema_migrations."""
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in tx.execute("SELECT version FROM schema_migrations")}
    if done and FIRST not in done:
        raise SchemaError(f"{where} is not a mailfate database: its schema_migrations table is another tool's")
    for name, script in migrations(dialect):
        if name not in done:
            for statement in statements(script):
                tx.execute(statement)
            after(tx, name)
            tx.execute(f"INSERT INTO schema_migrations VALUES (?, {now_sql})", (name,))


#: Who refuses to create a database, in the errors that say so: a store opened for reading only, or
#: one opened to change records that must already be there (``open_store(..., create=False)``).
READER, CHANGER = "a command that only reads", "a command that changes what is stored"


def check_schema(
    applied: Collection[str] | None, dialect: str, where: str, url: str, *, upgrades: bool = False
) -> None:
    """Raise :class:`SchemaError` unless every shipped migration is among ``applied`` (None: the database
    has no ``schema_migrations`` table at all); with ``upgrades``, unless mailfate's first one is (the
    caller brings the rest). One line each, naming what to run, with ``url``."""
    if applied is None or FIRST not in applied:
        raise SchemaError(
            f"{where} is not a mailfate database, and {CHANGER if upgrades else READER} creates nothing in it: "
            f"check --db, or create mailfate's tables there with: {migrate_command(url)}"
        )
    if upgrades:
        return
    behind = [name for name, _ in migrations(dialect) if name not in applied]
    if behind:
        raise SchemaError(
            f"{where} holds an older mailfate schema ({len(behind)} migration{'s' if len(behind) > 1 else ''} "
            f"behind, next {behind[0]}), and a command that only reads does not upgrade it: "
            f"run {migrate_command(url)} (or any command that writes)"
        )


def migrate_command(url: str) -> str:
    """The command that migrates the database at ``url``, ready to paste (its password hidden, if any)."""
    return f"mailfate migrate --db {shlex.quote(redact_url(url))}"


#: What the splitter must see whole: a quoted string, a dollar-quoted body, or a word that opens or
#: closes a block (``BEGIN ... END`` of a trigger, ``CASE ... END``).
_TOKENS = re.compile(r"'(?:[^']|'')*'|\$\$.*?\$\$|\b(?:BEGIN|CASE|END)\b|;", re.IGNORECASE | re.DOTALL)


def statements(script: str) -> list[str]:
    """A migration script split into statements at each ``;`` outside a string, a ``$$`` body (a
    PostgreSQL function) and a ``BEGIN ... END`` block (an SQLite trigger), whose own statements end
    in semicolons too. Comment lines are dropped."""
    text = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    found: list[str] = []
    start = depth = 0
    for token in _TOKENS.finditer(text):
        word = token.group().upper()
        if word in ("BEGIN", "CASE"):
            depth += 1
        elif word == "END":
            depth = max(0, depth - 1)
        elif word == ";" and depth == 0:
            found.append(text[start : token.start()].strip())
            start = token.end()
    found.append(text[start:].strip())
    return [statement for statement in found if statement]
