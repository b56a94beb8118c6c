"""The ``mailfate`` command line (the commands are in the modules beside this one; docs/cli.md).

Exit status: 0 success; 1 a looked-up thing does not exist, or ``ingest`` quarantined or refused a
record, or the database could not be used; 2 bad usage; 141 output cut off by a reader that stopped
reading (``| head``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from mailfate._version import __version__
from mailfate.cli import (
    audit,
    aws,
    changes,
    check,
    demo,
    ingest,
    insights,
    lookup,
    migrate,
    privacy,
    prune,
    quarantine,
    reputation,
    serve,
    webhooks,
)
from mailfate.cli.base import CUT_OFF, DB_HELP, MISSING, USAGE, DbUse, Handler, safe
from mailfate.errors import MailfateError, SchemaError, StorageError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"mailfate: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mailfate", description="The true fate of every email sent through Amazon SES.")
    parser.add_argument("--version", action="version", version=f"mailfate {__version__}")
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(
        name: str, handler: Handler, help: str, *, db: DbUse = "reads", db_help: str | None = None
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        # SUPPRESS: given after the command it wins; not given, the one before the command stays. Where
        # there is no database it is still accepted (scripts pass --db to every command), and ignored.
        shown = argparse.SUPPRESS if db == "none" else db_help or DB_HELP
        sub.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=shown)
        sub.set_defaults(handler=handler, db_use=db)
        return sub

    groups = (serve, ingest, prune, privacy, lookup, quarantine, check, reputation, insights, changes, webhooks, aws)
    for group in (*groups, demo, migrate):
        group.add_commands(command)
    audit.add_commands(command)  # the audit trail, after the rest
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a reader that has gone is found here, not at exit
    except BrokenPipeError:
        return _cut_off()
    except UsageError as exc:
        print(f"mailfate: error: {safe(exc)}", file=sys.stderr)
        return USAGE
    except SchemaError as exc:  # not mailfate's database: no "storage error", nothing failed
        print(f"mailfate: {safe(exc)}", file=sys.stderr)
        return MISSING
    except StorageError as exc:
        print(f"mailfate: storage error: {safe(exc)}", file=sys.stderr)
        return MISSING
    except MailfateError as exc:
        print(f"mailfate: error: {safe(exc)}", file=sys.stderr)
        return MISSING
    except KeyboardInterrupt:
        print("mailfate: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        aws = _aws_failure(exc)
        if aws is None:
            raise  # a bug: its traceback is what a report needs
        print(f"mailfate: error: AWS: {safe(aws)}", file=sys.stderr)
        return MISSING
    return code


def _aws_failure(exc: Exception) -> str | None:
    """The one-line reason of a botocore error that a command did not turn into its own message (each
    AWS path does; this is the net under them), else None."""
    if not type(exc).__module__.startswith("botocore"):
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    from mailfate.aws.clients import reason

    return reason(exc) if isinstance(exc, (BotoCoreError, ClientError)) else None


def _cut_off() -> int:
    """The reader of standard output has gone (``| head``): end quietly, as a program killed by SIGPIPE
    would, but without Python's "Exception ignored ... BrokenPipeError" when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return CUT_OFF


if __name__ == "__main__":
    raise SystemExit(main())
