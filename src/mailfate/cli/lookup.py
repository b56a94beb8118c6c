"""``mailfate status``, ``recipient`` and ``explain``: looking things up."""

from __future__ import annotations

import argparse
import sys

from mailfate.cli import render
from mailfate.cli.base import MISSING, OK, USAGE, Command, open_db, print_json, safe
from mailfate.core.check import NotAnAddress, one_address
from mailfate.core.explain import explain


def add_commands(command: Command) -> None:
    status = command("status", cmd_status, "the fate of one message and of each of its recipients")
    status.add_argument("message_id", metavar="MESSAGE_ID", help="the SES message id (mail.messageId)")
    status.add_argument("--json", action="store_true", help="print the object GET /api/messages/{id} returns")

    recipient = command("recipient", cmd_recipient, "every message sent to an address, and its suppression")
    recipient.add_argument("address", metavar="ADDRESS", help="an email address, with or without a display name")
    recipient.add_argument("--json", action="store_true", help="print the object GET /api/recipients/{address} returns")

    explain_cmd = command(
        "explain", cmd_explain, "what a bounce type/subtype or complaint feedback type means", db="none"
    )
    explain_cmd.add_argument("type", metavar="TYPE", help="a bounce type (Transient), a feedback type, or Complaint")
    explain_cmd.add_argument("subtype", metavar="SUBTYPE", nargs="?", help="a bounce subtype; after Complaint, a type")
    explain_cmd.add_argument("--json", action="store_true", help="print the explanation as a JSON object")


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
            print(f"mailfate: no events for message {safe(args.message_id)}", file=sys.stderr)
        if "@" in args.message_id:
            hint = safe(args.message_id.strip())
            print(f"mailfate: {hint} looks like an address: try mailfate recipient {hint}", file=sys.stderr)
        return MISSING
    if args.json:
        print_json(view.to_json())
    else:
        print(render.message_text(view))
    return OK


def cmd_recipient(args: argparse.Namespace) -> int:
    try:
        address = one_address(args.address)  # before the database: a usage error whatever --db says
    except NotAnAddress as exc:
        if exc.message_id:
            given = safe(args.address.strip())
            print(f"mailfate: error: {safe(exc)}", file=sys.stderr)
            print(f"mailfate: {given} looks like a message id: try mailfate status {given}", file=sys.stderr)
            return USAGE
        raise
    store = open_db(args)
    try:
        view = store.recipient(address)
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
