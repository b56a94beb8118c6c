"""Versioned schema migrations, applied by mailfate itself when a store opens."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from mailfate.store.tx import Transaction

#: A data step that SQL alone cannot take, run right after the named migration's statements.
AfterMigration = Callable[[Transaction, str], None]


def migrations(dialect: str) -> list[tuple[str, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("mailfate.store").joinpath("migrations", dialect)
    scripts = sorted((entry.name, entry.read_text()) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), text) for name, text in scripts]


def apply_migrations(tx: Transaction, dialect: str, now_sql: str, after: AfterMigration) -> None:
    """Apply, inside ``tx``, every migration not yet recorded in schema_migrations."""
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in tx.execute("SELECT version FROM schema_migrations")}
    for name, script in migrations(dialect):
        if name not in done:
            for statement in statements(script):
                tx.execute(statement)
            after(tx, name)
            tx.execute(f"INSERT INTO schema_migrations VALUES (?, {now_sql})", (name,))


def statements(script: str) -> list[str]:
    """A migration script split into statements (no semicolons inside our own SQL)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
