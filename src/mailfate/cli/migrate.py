"""``mailfate migrate``: create mailfate's tables, or bring them up to date, and nothing else.

Commands that write migrate by themselves; this one is for a database that a read command refused
(empty, or behind this version), and for deployments that migrate before starting servers.
"""

from __future__ import annotations

import argparse

from mailfate.cli.base import OK, Command, open_db
from mailfate.logs import redact_url
from mailfate.store.migrate import migrations


def add_commands(command: Command) -> None:
    command("migrate", cmd_migrate, "create mailfate's tables in the database, or bring them up to date", db="writes")


def cmd_migrate(args: argparse.Namespace) -> int:
    store = open_db(args)
    store.close()
    dialect = "postgres" if store.url.startswith("postgres") else "sqlite"
    latest = migrations(dialect)[-1][0]
    print(f"{redact_url(store.url)}: mailfate's schema is up to date ({latest})")
    return OK
