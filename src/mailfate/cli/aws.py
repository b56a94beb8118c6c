"""``mailfate setup aws`` and ``mailfate doctor``: wiring AWS, and checking it."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from mailfate.aws.clients import AwsError, Clients, boto3_clients, call, observe
from mailfate.aws.doctor import diagnose, examine
from mailfate.aws.setup import Step, Wiring, plan, topic_arn
from mailfate.cli.base import Command, cli_actor, safe
from mailfate.core.audit import NO_REASON, AuditAction, AuditEntry
from mailfate.core.timestamps import format_timestamp
from mailfate.logs import redact_url
from mailfate.settings import Settings
from mailfate.store import Store, open_store

OK, PROBLEMS = 0, 1


def add_commands(command: Command) -> None:
    setup = command("setup", cmd_setup, "create or fix the SNS topic, SES event publishing and subscription", db="none")

    setup.add_argument("target", choices=["aws"], help="what to set up (aws)")
    where = setup.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", metavar="URL", help="https URL of this server's POST /sns")
    where.add_argument("--sqs", metavar="QUEUE", nargs="?", const="mailfate-ses-events",
                       help="deliver to an SQS queue instead (default name mailfate-ses-events)")  # fmt: skip
    setup.add_argument("--topic", default="mailfate-ses-events", help="SNS topic name (default mailfate-ses-events)")
    source = setup.add_mutually_exclusive_group()
    source.add_argument("--configuration-set", default=None, metavar="NAME",
                        help="SES configuration set that publishes every event type (default mailfate)")  # fmt: skip
    source.add_argument("--identity", metavar="IDENTITY",
                        help="instead: Bounce, Complaint, Delivery notifications of this identity")  # fmt: skip
    setup.add_argument("--region", help="AWS region (default: boto3's)")
    setup.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    doctor = command("doctor", cmd_doctor, "check the AWS side of a running setup and say what to fix", db="none")
    doctor.add_argument("--topic", action="append", metavar="ARN",
                        help="topic to check (repeatable; default: MAILFATE_TOPIC_ARNS)")  # fmt: skip
    doctor.add_argument("--endpoint", metavar="URL", help="also check that this endpoint is subscribed")
    doctor.add_argument("--region", help="AWS region (default: boto3's)")
    doctor.add_argument("--json", action="store_true", help="print the findings as a JSON array")


def cmd_setup(args: argparse.Namespace) -> int:
    wiring = Wiring(
        topic=args.topic,
        endpoint=args.endpoint,
        queue=args.sqs,
        configuration_set=None if args.identity else (args.configuration_set or "mailfate"),
        identity=args.identity,
    )
    wiring.check()
    clients = boto3_clients(args.region)
    observed = observe(clients, wiring)
    steps = plan(wiring, observed)
    arn = topic_arn(wiring, observed)
    if not steps:
        print("Nothing to change: the setup is already as asked.")
    elif args.dry_run:
        print("Plan:")
        for n, step in enumerate(steps, 1):
            print(f"  {_line(n, step)}")
    if args.dry_run:
        print("Dry run: nothing was changed.")
        return OK
    if steps:
        # The audit trail is opened first: a database that cannot record them stops before any change.
        store = _audit_store(args)
        try:
            print("Changes, each as it is made:")
            made = _apply(clients, steps)
            if store is not None:
                store.record_audit(_setup_entry(wiring, clients, steps, made))
                print(f"mailfate: the changes made are recorded in the audit trail of {redact_url(store.url)}",
                      file=sys.stderr)  # fmt: skip
            else:
                print("mailfate: the changes made are not recorded in an audit trail: name its database with --db "
                      "or MAILFATE_DB", file=sys.stderr)  # fmt: skip
        finally:
            if store is not None:
                store.close()
        if made < len(steps):
            return PROBLEMS
    print(f"\nSet this where mailfate runs:\n  MAILFATE_TOPIC_ARNS={arn}")
    if wiring.queue:
        after = observe(clients, wiring)
        print(f"Then run:\n  mailfate consume sqs {after.queue_url} --verify")
    else:
        print("mailfate confirms the subscription when SNS calls the endpoint (MAILFATE_CONFIRM=url, the default).")
    if wiring.configuration_set:
        print(f"Send with the configuration set {wiring.configuration_set} (or make it the identity's default).")
    return OK


def _line(n: int, step: Step) -> str:
    return f"{n}. {step.why}  [{step.service} {step.operation}]"


def _audit_store(args: argparse.Namespace) -> Store | None:
    """The database named by --db or MAILFATE_DB, whose audit trail records the changes; None when none
    is named (setup often runs from a laptop, away from the database: no file is made up for it)."""
    settings = Settings.from_env()
    url = getattr(args, "db", None) or settings.db
    return open_store(url, policy=settings.policy) if url else None


def _setup_entry(wiring: Wiring, clients: Clients, steps: list[Step], made: int) -> AuditEntry:
    region = getattr(getattr(clients("sns"), "meta", None), "region_name", None) or "default region"
    target = f"AWS {region}: topic {wiring.topic}" + (f", queue {wiring.queue}" if wiring.queue else "")
    detail = {
        "region": region,
        "made": [f"{step.service} {step.operation}" for step in steps[:made]],
        "not_made": [f"{step.service} {step.operation}" for step in steps[made:]],
    }
    return AuditEntry(
        format_timestamp(datetime.now(UTC)), cli_actor(), AuditAction.SETUP_AWS, target, NO_REASON, detail
    )


def _apply(clients: Clients, steps: list[Step]) -> int:
    """Make each call in order, saying so as it is done; at the first failure say which step failed, why
    (AWS's code and message), and what was left undone, and stop. Returns the steps made."""
    for n, step in enumerate(steps, 1):
        print(f"  {_line(n, step)} ...", end=" ", flush=True)
        try:
            call(clients, step.service, step.operation, **step.params)
        except AwsError as exc:
            print("FAILED", flush=True)
            print(f"mailfate: error: step {n} of {len(steps)} failed: {safe(exc)}", file=sys.stderr)
            print(f"mailfate: {n - 1} of {len(steps)} steps were made; not done:", file=sys.stderr)
            for later, left in enumerate(steps[n - 1 :], n):
                print(f"  {_line(later, left)}", file=sys.stderr)
            print("mailfate: fix the cause and run the same command again: it makes only what is missing.",
                  file=sys.stderr)  # fmt: skip
            return n - 1
        print("done", flush=True)
    return len(steps)


def cmd_doctor(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    topics = args.topic or sorted(settings.topic_arns or [])
    account = examine(boto3_clients(args.region), topics)
    findings = diagnose(account, settings.topic_arns, args.endpoint)
    if args.json:
        print(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        for f in findings:
            print(f"{f.level.upper():8} {f.subject}: {f.message}")
            if f.fix:
                print(f"         fix: {f.fix}")
    problems = [f for f in findings if f.level != "ok"]
    if problems and not args.json:
        print(f"\n{len(problems)} problem{'s' if len(problems) > 1 else ''} found.", file=sys.stderr)
    return PROBLEMS if problems else OK
