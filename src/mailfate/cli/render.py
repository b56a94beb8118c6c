"""Plain-text renderings for the command line. The JSON forms live on the view objects."""

from __future__ import annotations

from mailfate.core.explain import Explanation
from mailfate.core.suppression import Suppression
from mailfate.core.views import IngestResult, MessageView, QuarantineItem, RecipientView


def message_text(view: MessageView) -> str:
    lines = [f"{view.message_id}  {view.status.value}"]
    meta = [f"sent {view.sent_at}" if view.sent_at else "", f"from {view.source}" if view.source else ""]
    if view.subject:
        meta.append(f"subject {view.subject!r}")
    if any(meta):
        lines.append("  " + ", ".join(m for m in meta if m))
    lines.append("")
    width = max((len(f.address) for f in view.recipients), default=0)
    for fate in view.recipients:
        flag = " (auto-reply)" if fate.summary.auto_reply else ""
        lines.append(f"  {fate.address:<{width}}  {fate.status.value}{flag}")
        lines.append(f"  {'':<{width}}  {fate.to_json()['explanation']}")
    if view.events:
        lines += ["", "  events (by event time):"]
        for e in view.events:
            who = e.recipient or "(whole message)"
            lines.append(f"    {e.timestamp}  {e.kind:<16} {who}  via {e.transport}, received {e.received_at}")
    return "\n".join(lines)


def describe(suppression: Suppression) -> str:
    """``bounce``, ``manual: asked us to stop``: the reason, with the note given by hand if any."""
    return f"{suppression.reason}: {suppression.note}" if suppression.note else suppression.reason


def recipient_text(view: RecipientView) -> str:
    if view.suppression:
        head = f"{view.address}  suppressed ({describe(Suppression.from_json(view.address, view.suppression))})"
    else:
        head = f"{view.address}  not suppressed"
    lines = [head]
    if not view.messages:
        lines.append("  no messages seen for this address")
    for m in view.messages:
        body = m.fate.to_json()
        lines.append(f"  {m.sent_at or '?':<24}  {m.fate.message_id}  {body['status']}")
        lines.append(f"  {'':<24}  {body['explanation']}")
    return "\n".join(lines)


def explanation_text(e: Explanation) -> str:
    lines = [
        e.topic + ("" if e.known else "  (unknown)"),
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
        where = f" {item.location}" if item.location else ""
        preview = item.to_json()["preview"].strip().replace("\n", " ")[:80]
        lines.append(f"#{item.id}  {item.received_at}  {item.transport}{where}\n    {item.reason}\n    {preview}")
    return "\n".join(lines)


def summary_text(result: IngestResult) -> str:
    """Each count apart, so that they add up: every record read is stored, a duplicate, or quarantined."""
    notes = f" ({result.notes:,} of them notes)" if result.notes else ""
    return (
        f"{result.records:,} records stored{notes}, {result.duplicates:,} duplicate records, "
        f"{result.quarantined:,} quarantined; {result.events:,} events stored, "
        f"{result.duplicate_events:,} duplicate events"
    )
