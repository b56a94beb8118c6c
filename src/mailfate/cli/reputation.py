"""``mailfate suppressions``, ``suppress``, ``unsuppress`` and ``stats`` (docs/suppression-and-reputation.md)."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from typing import Any

from mailfate.aws.ses_suppression import pull, push, sesv2_client
from mailfate.cli.base import MISSING, OK, USAGE, Command, cli_actor, open_db, print_json, safe
from mailfate.cli.render import describe
from mailfate.core import spreadsheet
from mailfate.core.addresses import email_address
from mailfate.core.audit import MAX_REASON, NO_REASON, AuditAction, AuditEntry, reason_or_default
from mailfate.core.stats import Stats, StatsQuery
from mailfate.core.suppression import Action, Suppression
from mailfate.core.timestamps import format_timestamp
from mailfate.core.wording import counted
from mailfate.errors import UsageError
from mailfate.settings import Settings

CSV_COLUMNS = ("email", "reason", "since", "expires_at", "event_kind", "message_id", "note")


def add_commands(command: Command) -> None:
    """Register the subcommands on the parser built by cli.build_parser."""
    listing = command("suppressions", cmd_suppressions, "the suppressed addresses, with reason and cause")
    fmt = listing.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="a JSON array")
    fmt.add_argument("--csv", action="store_true", help="CSV another mailer can import")
    listing.add_argument("--pull-ses", action="store_true", help="first add the SES account-level list")
    listing.add_argument("--push-ses", action="store_true", help="then put bounce and complaint ones on it")
    listing.add_argument("--region", help="AWS region for --pull-ses/--push-ses (default: boto3's)")

    add = command("suppress", cmd_suppress, "suppress an address by hand", db="writes")
    add.add_argument("address", metavar="ADDRESS", help="the email address to suppress")
    add.add_argument("--reason", default=None, help="why (kept with the suppression and in the audit trail)")

    lift = command("unsuppress", cmd_unsuppress, "lift a suppression; later events may suppress again", db="writes")
    lift.add_argument("address", metavar="ADDRESS", help="the suppressed email address")
    lift.add_argument(
        "--reason", default=None, help="why (kept with the lift and in the audit trail); asked for at a terminal"
    )

    stats = command("stats", cmd_stats, "bounce and complaint rates against the SES thresholds")
    stats.add_argument("--json", action="store_true", help="print the object GET /api/stats returns")
    stats.add_argument("--since", help="send time from (ISO 8601; default 7 days before --until)")
    stats.add_argument("--until", help="send time before (ISO 8601; default now)")
    stats.add_argument(
        "--group-by", help="configuration_set, sending_domain, day, tag:NAME, recipient_domain or provider"
    )


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_suppressions(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # Pulling adds to the database; pulling and pushing are recorded in the audit trail.
    store = open_db(args, settings, writes=args.pull_ses or args.push_ses)
    try:
        if args.pull_ses:
            client = sesv2_client(args.region)
            pulled = pull(client)
            for address, action in pulled:
                store.add_action(address, action)
            store.record_audit(_ses_entry(AuditAction.PULL_SES, client, {"addresses": len(pulled)}))
            pulled_n = counted(len(pulled), "address", "addresses")
            print(f"pulled {pulled_n} from the SES account-level suppression list", file=sys.stderr)
        found = store.suppressions()
        if args.push_ses:
            client = sesv2_client(args.region)
            pushed = push(client, found)
            detail = {"addresses": pushed.sent, "simulator_left_out": pushed.simulator}
            store.record_audit(_ses_entry(AuditAction.PUSH_SES, client, detail))
            simulator = counted(pushed.simulator, "mailbox simulator address", "mailbox simulator addresses")
            left = f"; {simulator} left out" if pushed.simulator else ""
            sent = counted(pushed.sent, "address", "addresses")
            print(f"put {sent} on the SES account-level suppression list{left}", file=sys.stderr)
    finally:
        store.close()
    if args.json:
        print_json([s.to_item() for s in found])
    elif args.csv:  # data for another program: not escaped for a terminal, but safe in a spreadsheet
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in found:
            event = s.event or {}
            writer.writerow(spreadsheet.row([s.address, s.reason, s.since, s.expires_at, event.get("kind"),
                                             event.get("message_id"), s.note]))  # fmt: skip
    else:
        print(_table(found))
    return OK


def _ses_entry(action: AuditAction, client: Any, detail: dict[str, int]) -> AuditEntry:
    """The audit entry of a push or a pull: its target is the account-level list of the client's region."""
    region = getattr(getattr(client, "meta", None), "region_name", None) or "default region"
    target = f"SES account-level suppression list ({region})"
    return AuditEntry(format_timestamp(_now()), cli_actor(), action, target, NO_REASON, detail)


def cmd_suppress(args: argparse.Namespace) -> int:
    address = email_address(args.address)
    reason = _given_reason(args.reason)
    store = open_db(args)
    try:
        at = format_timestamp(_now())
        audit = AuditEntry(at, cli_actor(), AuditAction.SUPPRESS, address, reason_or_default(reason))
        store.add_action(address, Action("suppress", at, reason), audit)
        current = store.suppression(address)
    finally:
        store.close()
    print(f"{address} suppressed ({safe(describe(current)) if current else 'manual'})")
    return OK


def cmd_unsuppress(args: argparse.Namespace) -> int:
    """Lift a suppression. At a terminal a reason is required (asked for when --reason is not given);
    from a script, which the contract lets run ``unsuppress ADDRESS`` alone, the audit trail records
    that none was given."""
    address = email_address(args.address)
    reason = _given_reason(args.reason)
    store = open_db(args)
    try:
        if store.suppression(address) is None:
            print(f"mailfate: {address} is not suppressed", file=sys.stderr)
            return MISSING
        if reason is None and sys.stdin.isatty():
            reason = _ask_reason(address)
            if reason is None:
                print("mailfate: a reason is required to lift a suppression; nothing changed", file=sys.stderr)
                return USAGE
        at = format_timestamp(_now())
        audit = AuditEntry(at, cli_actor(), AuditAction.UNSUPPRESS, address, reason_or_default(reason))
        store.add_action(address, Action("lift", at, reason), audit)
    finally:
        store.close()
    print(f"{address} no longer suppressed; events after now can suppress it again")
    return OK


def _given_reason(raw: str | None) -> str | None:
    reason = (raw or "").strip()
    if len(reason) > MAX_REASON:
        raise UsageError(f"--reason is over {MAX_REASON} characters")
    return reason or None


#: Times a terminal is asked for a reason before the command gives up.
_ASKS = 3


def _ask_reason(address: str) -> str | None:
    """Asked at a terminal: why the suppression of ``address`` is lifted. None: no answer (an empty line
    three times, or the end of input)."""
    for _ in range(_ASKS):
        print(f"Why lift the suppression of {safe(address)}? (kept in the audit trail) ", end="", file=sys.stderr,
              flush=True)  # fmt: skip
        line = sys.stdin.readline()
        if not line:  # end of input (Ctrl-D)
            print(file=sys.stderr)
            return None
        reason = line.strip()
        if reason:
            return _given_reason(reason)
    return None


def cmd_stats(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    query = StatsQuery.parse(args.since, args.until, args.group_by, _now())
    store = open_db(args, settings)
    try:
        stats = store.stats(query, settings.mx_lookup())
    finally:
        store.close()
    if args.json:
        print_json(stats.to_json())
    else:
        print(_stats_text(stats))
    return OK


def _table(found: list[Suppression]) -> str:
    if not found:
        return "no suppressed addresses"
    rows = [(safe(s.address), safe(s.reason), safe(s.since), safe(s.expires_at or "never"), safe(s.note or ""))
            for s in found]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    lines = [f"{'address':<{width}}  {'reason':<11}  {'since':<24}  {'expires':<24}  note"]
    lines += [f"{a:<{width}}  {r:<11}  {s:<24}  {e:<24}  {n}".rstrip() for a, r, s, e, n in rows]
    return "\n".join(lines)


#: What the counts mean, said once above them (docs/suppression-and-reputation.md).
_STATS_NOTE = (
    "Each recipient counts once, under its fate now: a delivery that a bounce or a complaint followed",
    "counts as that, not as delivered; auto-replies are delivered mail, counted among the delivered.",
    "Levels against SES's: bounce rate under_review from 5%, pause_risk from 10%; complaint rate",
    "under_review from 0.1%, pause_risk from 0.5%.",
)


def _stats_text(stats: Stats) -> str:
    """One block per group, each under 80 columns, rather than one row of a dozen columns per group."""
    query = stats.query
    grouped = f", by {safe(query.group_by)}" if query.group_by else ""
    lines = [f"Recipients sent from {query.since} to {query.until}{grouped}.", *_STATS_NOTE]
    blocks = [("all", stats.totals.to_json())]
    blocks += [(safe(g.key) if g.key is not None else "(none)", g.to_json()) for g in stats.groups]
    for name, body in blocks:
        provider = f" ({safe(body['provider'])})" if body.get("provider") else ""
        lines += ["", f"{name}{provider}"]
        lines.append(_cells(("sent", body["sent"]), ("delivered", body["delivered"]),
                            ("auto-replies", body["auto_replies"])))  # fmt: skip
        lines.append(_cells(("hard bounces", body["hard_bounces"]), ("soft bounces", body["soft_bounces"]),
                            ("complaints", body["complaints"])))  # fmt: skip
        lines.append(_cells(("opened", body["opens"]), ("clicked", body["clicks"])))
        lines.append(f"  {'bounce rate':<16}{body['bounce_rate']:>8.2%}  {body['bounce_level']}")
        lines.append(f"  {'complaint rate':<16}{body['complaint_rate']:>8.3%}  {body['complaint_level']}")
        if "delivery_p50_ms" in body:  # grouped by recipient: delivery times too
            p50, p95 = _millis(body["delivery_p50_ms"]), _millis(body["delivery_p95_ms"])
            lines.append(f"  {'delivery time':<16}p50 {p50}, p95 {p95}")
    return "\n".join(lines)


def _cells(*cells: tuple[str, int]) -> str:
    return "  " + "   ".join(f"{label:<14}{value:>9,}" for label, value in cells)


def _millis(value: int | None) -> str:
    return "-" if value is None else f"{value:,} ms"
