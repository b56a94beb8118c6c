"""What every command shares: exit codes, the database it works on, and how it prints JSON.

Settings are read here, at the edge, and passed down: nothing below the command line reads the
environment.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from mailfate.settings import Settings
from mailfate.store import Store, open_store

#: Exit status: success; a looked-up thing does not exist (or ingest quarantined, or storage failed);
#: bad usage.
OK, MISSING, USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]
#: Registers one subcommand: ``command(name, handler, help)`` returns its parser, for its arguments.
Command = Callable[[str, Handler, str], argparse.ArgumentParser]


def open_db(args: argparse.Namespace, settings: Settings | None = None, *, bulk: bool = False) -> Store:
    """The store named by ``--db``, else by the settings (``MAILFATE_DB``), with the settings' policy."""
    settings = settings or Settings.from_env()
    return open_store(args.db or settings.database_url, bulk=bulk, policy=settings.policy)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
