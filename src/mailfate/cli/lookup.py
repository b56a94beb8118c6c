"""``mailfate status``, ``recipient``, ``explain`` and ``quarantine``: looking things up."""

from __future__ import annotations

import argparse
import sys

from mailfate.cli import render
from mailfate.cli.base import MISSING, OK, Command, open_db, print_json
from mailfate.core.addresses import normalize_address
from mailfate.core.explain import explain


def add_commands(command: Command) -> None:
    status = command("status", cmd_status, "the fate of one message and of each of its recipients")
    status.add_argument("message_id", metavar="MESSAGE_ID")
    status.add_argument("--json", action="store_true")

    recipient = command("recipient", cmd_recipient, "every message sent to an address, and its suppression")
    recipient.add_argument("address", metavar="ADDRESS")
    recipient.add_argument("--json", action="store_true")

    explain_cmd = command("explain", cmd_explain, "what a bounce type/subtype or complaint type means")
    explain_cmd.add_argument("type", metavar="TYPE")
    explain_cmd.add_argument("subtype", metavar="SUBTYPE", nargs="?")
    explain_cmd.add_argument("--json", action="store_true")

    quarantine = command("quarantine", cmd_quarantine, "records that could not be understood, with the reason")
    quarantine.add_argument("--json", action="store_true")
    quarantine.add_argument("--limit", type=int, default=100)


def cmd_status(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        view = store.message(args.message_id.strip())
    finally:
        store.close()
    if view is None:
        if args.json:
            print_json({"error": f"message {args.message_id} not found", "status": 404})
        else:
            print(f"mailfate: no events for message {args.message_id}", file=sys.stderr)
        return MISSING
    if args.json:
        print_json(view.to_json())
    else:
        print(render.message_text(view))
    return OK


def cmd_recipient(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        view = store.recipient(normalize_address(args.address))
    finally:
        store.close()
    if args.json:
        print_json(view.to_json())
    else:
        print(render.recipient_text(view))
    return OK


def cmd_explain(args: argparse.Namespace) -> int:
    explanation = explain(args.type, args.subtype)
    if args.json:
        print_json(explanation.to_json())
    else:
        print(render.explanation_text(explanation))
    return OK if explanation.known else MISSING


def cmd_quarantine(args: argparse.Namespace) -> int:
    store = open_db(args)
    try:
        items = store.quarantined(limit=args.limit)
    finally:
        store.close()
    if args.json:
        print_json([item.to_json() for item in items])
    else:
        print(render.quarantine_text(items))
    return OK
