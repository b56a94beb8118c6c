"""``mailfate audit``: the audit trail, newest first (docs/privacy.md)."""

from __future__ import annotations

import argparse

from mailfate.cli.base import OK, Command, open_db, print_json, safe
from mailfate.core.audit import AuditAction, AuditEntry, parse_action
from mailfate.errors import UsageError
from mailfate.store.audit import AUDIT_LIMIT, AUDIT_MAX_LIMIT


def add_commands(command: Command) -> None:
    """Register the subcommand on the parser built by cli.build_parser."""
    audit = command("audit", cmd_audit, "who did what by hand, when, on what and why (newest first)")
    audit.add_argument("--json", action="store_true", help="the entries as a JSON array")
    shown = f"entries shown, 1 to {AUDIT_MAX_LIMIT} (default {AUDIT_LIMIT})"
    audit.add_argument("--limit", type=_limit, default=AUDIT_LIMIT, help=shown)
    audit.add_argument("--action", type=_action, help=", ".join(a.value for a in AuditAction))
    audit.add_argument("--target", help="only actions on this target (an address in any case; else exact)")


def _limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {raw!r}") from None
    if not 1 <= value <= AUDIT_MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {AUDIT_MAX_LIMIT}, not {value}")
    return value


def _action(raw: str) -> AuditAction:
    try:
        return parse_action(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_audit(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        target = args.target.strip() if args.target else None
        if args.target is not None and not target:
            raise UsageError("--target must not be empty")
        page = store.audit(args.limit, None, args.action, target)
    finally:
        store.close()
    if args.json:
        print_json([entry.to_json() for entry in page.entries])
    else:
        print(_text(page.entries))
    return OK


def _text(entries: list[AuditEntry]) -> str:
    if not entries:
        return "no actions recorded"
    lines = []
    for e in entries:
        detail = "  " + ", ".join(f"{k}={v}" for k, v in e.detail.items()) if e.detail else ""
        lines.append(f"{e.at}  {safe(e.actor)}  {e.action}  {safe(e.target)}{safe(detail)}")
        lines.append(f"    reason: {safe(e.reason)}")
    return "\n".join(lines)
