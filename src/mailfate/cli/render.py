"""Plain-text renderings for the command line. The JSON forms live on the view objects.

Every text that came from a record (or from whoever called the API) goes through :func:`safe`: an
escape sequence in a subject or a bounce diagnostic is printed as ``\\x1b[...``, not run by the terminal.
"""

from __future__ import annotations

from mailfate.cli.base import safe
from mailfate.core.explain import Explanation
from mailfate.core.suppression import Suppression
from mailfate.core.views import IngestResult, MessageView, QuarantineItem, RecipientView
from mailfate.core.wording import counted, noun


def message_text(view: MessageView) -> str:
    lines = [f"{safe(view.message_id)}  {view.status.value}"]
    meta = [f"sent {safe(view.sent_at)}" if view.sent_at else "", f"from {safe(view.source)}" if view.source else ""]
    if view.subject:
        meta.append(f"subject {safe(repr(view.subject))}")
    if any(meta):
        lines.append("  " + ", ".join(m for m in meta if m))
    lines.append("")
    addresses = [safe(f.address) for f in view.recipients]
    width = max((len(a) for a in addresses), default=0)
    for address, fate in zip(addresses, view.recipients, strict=True):
        flag = " (auto-reply)" if fate.summary.auto_reply else ""
        lines.append(f"  {address:<{width}}  {fate.status.value}{flag}")
        lines.append(f"  {'':<{width}}  {safe(fate.to_json()['explanation'])}")
    if view.events:
        lines += ["", "  events (by event time):"]
        for e in view.events:
            who = safe(e.recipient) if e.recipient else "(whole message)"
            lines.append(
                f"    {safe(e.timestamp)}  {e.kind:<16} {who}  via {safe(e.transport)}, received {e.received_at}"
            )
    return "\n".join(lines)


def describe(suppression: Suppression) -> str:
    """``bounce``, ``manual: asked us to stop``: the reason, with the note given by hand if any."""
    return f"{suppression.reason}: {suppression.note}" if suppression.note else suppression.reason


def recipient_text(view: RecipientView) -> str:
    if view.suppression:
        reason = describe(Suppression.from_json(view.address, view.suppression))
        head = f"{safe(view.address)}  suppressed ({safe(reason)})"
    else:
        head = f"{safe(view.address)}  not suppressed"
    lines = [head]
    if not view.messages:
        lines.append("  no messages seen for this address")
    for m in view.messages:
        body = m.fate.to_json()
        lines.append(f"  {safe(m.sent_at or '?'):<24}  {safe(m.fate.message_id)}  {body['status']}")
        lines.append(f"  {'':<24}  {safe(body['explanation'])}")
    return "\n".join(lines)


def explanation_text(e: Explanation) -> str:
    lines = [
        safe(e.topic) + ("" if e.known else "  (unknown)"),
        f"  meaning: {e.meaning}",
        f"  action:  {e.action}",
    ]
    if e.counts_toward_bounce_rate is not None:
        counts = "yes" if e.counts_toward_bounce_rate else "no"
        lines.append(f"  counts toward the SES bounce rate: {counts}")
    return "\n".join(lines)


def quarantine_text(items: list[QuarantineItem]) -> str:
    if not items:
        return "quarantine is empty"
    lines = []
    for item in items:
        where = f" {safe(item.location)}" if item.location else ""
        preview = safe(" ".join(item.to_json()["preview"].split())[:80])
        lines.append(f"#{item.id}  {item.received_at}  {item.transport}{where}\n    {safe(item.reason)}\n    {preview}")
    return "\n".join(lines)


def summary_text(result: IngestResult) -> str:
    """Each count apart, so that they add up: every record read is stored, a duplicate, or quarantined."""
    notes = f" ({result.notes:,} of them {noun(result.notes, 'a note', 'notes')})" if result.notes else ""
    return (
        f"{counted(result.records, 'record')} stored{notes}, {counted(result.duplicates, 'duplicate record')}, "
        f"{result.quarantined:,} quarantined; {counted(result.events, 'event')} stored, "
        f"{counted(result.duplicate_events, 'duplicate event')}"
    )
