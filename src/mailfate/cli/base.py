"""What every command shares: exit codes, the database it works on, and how it prints.

Settings are read here, at the edge, and passed down: nothing below the command line reads the
environment.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from typing import Any, Literal, Protocol

from mailfate.core.audit import Actor
from mailfate.settings import Settings
from mailfate.store import Store, open_store

#: Exit status: success; a looked-up thing does not exist (or ingest quarantined, or storage failed);
#: bad usage; output cut off by a reader that stopped reading (128 + SIGPIPE, as the shell reports it).
OK, MISSING, USAGE, CUT_OFF = 0, 1, 2, 141

#: What a command does with the database named by ``--db``: only reads it (never creates or migrates
#: anything); changes records already there (replay, dismiss, redeliver: a database that is not
#: mailfate's already is refused, never created, and one behind is migrated); writes it (may create and
#: migrate); or has no database (``--db`` is accepted and ignored).
DbUse = Literal["reads", "changes", "writes", "none"]

#: The help of ``--db``, wherever it is accepted.
DB_HELP = "database URL, before or after the command (default: $MAILFATE_DB, else sqlite:///mailfate.db)"

Handler = Callable[[argparse.Namespace], int]


class Command(Protocol):
    """Registers one subcommand and returns its parser, for its arguments. ``db`` says what it does with
    the database (the default, ``reads``, never migrates); ``db_help`` replaces the usual help of ``--db``."""

    def __call__(
        self, name: str, handler: Handler, help: str, *, db: DbUse = "reads", db_help: str | None = None
    ) -> argparse.ArgumentParser: ...


def open_db(
    args: argparse.Namespace, settings: Settings | None = None, *, bulk: bool = False, writes: bool | None = None
) -> Store:
    """The store named by ``--db``, else by the settings (``MAILFATE_DB``), with the settings' policy.

    It is migrated only for a command registered with ``db="writes"`` or ``"changes"`` (or when
    ``writes`` says so), and created only for ``"writes"``: a command that only reads finds mailfate's
    current schema there, and one that changes records finds a mailfate database, or stops with a
    SchemaError."""
    settings = settings or Settings.from_env()
    use = getattr(args, "db_use", "reads")
    migrate = use in ("writes", "changes") if writes is None else writes
    url = args.db or settings.database_url
    return open_store(url, bulk=bulk, policy=settings.policy, migrate=migrate, create=use != "changes")


def cli_actor() -> str:
    """Who acts on the command line, for the audit trail: ``cli:`` and the operating system's user."""
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment and none for the uid
        user = "unknown"
    return f"cli:{user}"


def cli_by() -> Actor:
    """The actor of an action taken on the command line, now (for the audit trail)."""
    from datetime import UTC, datetime

    from mailfate.core.timestamps import format_timestamp

    return Actor(cli_actor(), format_timestamp(datetime.now(UTC)))


# Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same, less what JSON escapes by itself (C0): these may appear raw inside JSON strings.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """``text`` fit for a terminal: a record's escape sequence is shown as ``\\x1b``, never run, and
    a newline in it cannot forge a line of output."""
    return _UNSAFE.sub(_escape, str(text))


def json_safe(text: str) -> str:
    """JSON text with the control characters JSON leaves raw written as ``\\u`` escapes: the same value
    to a parser, inert in a terminal. (They can only occur inside strings, so this is exact.)"""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(value: Any) -> None:
    print(json_safe(json.dumps(value, indent=2, ensure_ascii=False)))


def reader_gone() -> bool:
    """Whether standard output is a pipe or terminal that nobody reads any more (``| head`` has exited).

    A command that waits between writes (``changes --follow``) asks this while it waits, so that it
    ends when the reader does rather than at its next write."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), 0)  # no events asked for: only errors and hang-ups are reported
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured output)
        return False
