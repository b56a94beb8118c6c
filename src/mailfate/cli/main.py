"""The ``mailfate`` command line (the commands are in the modules beside this one).

Exit status: 0 success; 1 a looked-up thing does not exist, or ``ingest`` quarantined or refused a
record, or storage failed; 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from mailfate._version import __version__
from mailfate.cli import aws, changes, check, demo, ingest, lookup, reputation, serve
from mailfate.cli.base import MISSING, USAGE, Handler
from mailfate.errors import MailfateError, StorageError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"mailfate: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mailfate", description="The true fate of every email sent through Amazon SES.")
    parser.add_argument("--version", action="version", version=f"mailfate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--db", metavar="URL", help="database URL (default: $MAILFATE_DB or sqlite:///mailfate.db)")
        sub.set_defaults(handler=handler)
        return sub

    for group in (serve, ingest, lookup, check, reputation, changes, aws, demo):
        group.add_commands(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"mailfate: error: {exc}", file=sys.stderr)
        return USAGE
    except StorageError as exc:
        print(f"mailfate: storage error: {exc}", file=sys.stderr)
        return MISSING
    except MailfateError as exc:
        print(f"mailfate: error: {exc}", file=sys.stderr)
        return MISSING
    except KeyboardInterrupt:
        print("mailfate: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
