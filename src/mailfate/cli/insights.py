"""``mailfate diagnostics``: why mail bounces, per provider (docs/insights.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailfate.cli.base import OK, Command, open_db, print_json, safe
from mailfate.core.insights import Diagnostics, DiagnosticsQuery
from mailfate.core.wording import counted
from mailfate.settings import Settings


def add_commands(command: Command) -> None:
    diagnostics = command("diagnostics", cmd_diagnostics, "the top bounce and complaint reasons, per provider")
    diagnostics.add_argument("--json", action="store_true", help="print the object GET /api/diagnostics returns")
    diagnostics.add_argument("--since", help="send time from (ISO 8601; default 7 days before --until)")
    diagnostics.add_argument("--until", help="send time before (ISO 8601; default now)")
    diagnostics.add_argument("--provider", help="only this provider (google, microsoft, yahoo, apple) or domain")
    diagnostics.add_argument("--limit", help="reasons shown, 1 to 1000 (default 20)")


def cmd_diagnostics(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    query = DiagnosticsQuery.parse(args.since, args.until, args.provider, args.limit, datetime.now(UTC))
    store = open_db(args, settings)
    try:
        found = store.diagnostics(query, settings.mx_lookup())
    finally:
        store.close()
    if args.json:
        print_json(found.to_json())
    else:
        print(_table(found))
    return OK


def _table(found: Diagnostics) -> str:
    q = found.query
    totals = found.totals
    lines = [
        f"sent {q.since} to {q.until}{f', provider {safe(q.provider)}' if q.provider else ''}: "
        f"{counted(totals['bounce'], 'hard bounce')}, {counted(totals['soft_bounce'], 'soft bounce')}, "
        f"{counted(totals['complaint'], 'complaint')}"
    ]
    if not found.reasons:
        lines.append("no bounces or complaints")
        return "\n".join(lines)
    width = max(len(safe(r.provider)) for r in found.reasons)
    lines.append(f"{'count':>8}  {'kind':<11}  {'provider':<{width}}  reason (example message)")
    for r in found.reasons:
        example = f" ({safe(r.examples[0])})" if r.examples else ""
        lines.append(f"{r.count:>8,}  {r.kind:<11}  {safe(r.provider):<{width}}  {safe(r.reason)}{example}")
    return "\n".join(lines)
