"""Plain words for what SES reported: bounce types, complaint feedback types, and a recipient's fate.

Meanings quote or closely paraphrase the AWS SES developer guide ("Bounce types", notification
contents) and the IANA feedback-type registry; the action column is AWS's recommendation where it gives
one, and mailfate's where it does not (marked as such).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mailfate.core.fate import Summary
from mailfate.core.model import Status


@dataclass(frozen=True, slots=True)
class Explanation:
    topic: str
    meaning: str
    action: str
    known: bool = True
    counts_toward_bounce_rate: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "known": self.known,
            "meaning": self.meaning,
            "action": self.action,
            "counts_toward_bounce_rate": self.counts_toward_bounce_rate,
        }


_REMOVE = (
    "Remove the address from your lists now; AWS may pause sending for accounts that keep hard-bouncing. "
    "mailfate suppresses it."
)

#: (bounceType, bounceSubType) -> (meaning, action, counts toward the SES bounce rate)
BOUNCES: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("Undetermined", "Undetermined"): (
        "The recipient's provider sent a bounce message without enough information for SES to tell why.",
        "Look at the bounce copy sent to the Return-Path address. mailfate treats it as a soft bounce, or as "
        "an automatic reply when the message was also delivered (mailfate's rule, not AWS's).",
        False,
    ),
    ("Permanent", "General"): (
        "The recipient's provider sent a hard bounce without saying why.",
        _REMOVE,
        True,
    ),
    ("Permanent", "NoEmail"): ("The address does not exist, says the recipient's provider.", _REMOVE, True),
    ("Permanent", "Suppressed"): (
        "SES did not send: the address is on the SES global suppression list for a recent history of hard "
        "bounces. It counts toward your bounce rate.",
        "Stop sending to it; it will bounce again.",
        True,
    ),
    ("Permanent", "OnAccountSuppressionList"): (
        "SES did not send: the address is on your account-level suppression list. It does not count toward "
        "your bounce rate.",
        "Keep it suppressed; take it off the account list only if you know the address is good again.",
        False,
    ),
    ("Transient", "General"): (
        "The recipient's provider sent a general temporary bounce. An out-of-office or other automatic "
        "reply can arrive as this type; SES does not count automatic replies in the bounce rate.",
        "You may send again later. If the message was also delivered, mailfate records an automatic reply, "
        "not a bounce.",
        False,
    ),
    ("Transient", "MailboxFull"): (
        "The recipient's inbox was full.",
        "You may send again once the mailbox has room; repeated soft bounces lead to suppression.",
        False,
    ),
    ("Transient", "MessageTooLarge"): (
        "The message was too large for the recipient's provider.",
        "Make the message smaller and send again.",
        False,
    ),
    ("Transient", "ContentRejected"): (
        "The recipient's provider does not allow something in the content.",
        "Change the content and send again.",
        False,
    ),
    ("Transient", "AttachmentRejected"): (
        "The recipient's provider refused an attachment (its type or its size).",
        "Remove or change the attachment and send again.",
        False,
    ),
    ("Transient", "CustomTimeoutExceeded"): (
        "SES could not deliver within the delivery time limit the sender set.",
        "Look at the reason given in the bounce; send again or extend the limit.",
        False,
    ),
}

#: complaintFeedbackType (IANA MARF registry) -> (meaning, action)
COMPLAINTS: dict[str, tuple[str, str]] = {
    "abuse": ("Unsolicited email or some other kind of abuse.", "Stop sending to this address."),
    "auth-failure": (
        "An email authentication failure report (SPF, DKIM or DMARC).",
        "Check your domain's SPF, DKIM and DMARC setup; stop sending to this address.",
    ),
    "fraud": (
        "The recipient reports fraud or phishing.",
        "Stop sending to this address; review the content.",
    ),
    "not-spam": (
        "The recipient says the message is not spam (it may correct an earlier mis-tag).",
        "Nothing to do: mailfate does not count it as a complaint.",
    ),
    "other": ("A complaint of some other kind.", "Stop sending to this address."),
    "virus": ("A virus was found in the message.", "Scan what you send; stop sending to this address."),
}


def _key(name: str) -> str:
    """A name as it is compared: any case, and ``-``, ``_`` or spaces alike, so that the notifications'
    spelling (``Transient``/``MailboxFull``, ``auth-failure``) and the SES v2 API's (``TRANSIENT``,
    ``AUTH_FAILURE``) both match."""
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def explain(type_name: str, subtype: str | None = None) -> Explanation:
    """Explain a bounce type and subtype, or a complaint feedback type (alone, or after ``Complaint``);
    any case, in either vocabulary of SES. Never raises."""
    kind, sub = _key(type_name), _key(subtype) if subtype is not None else None
    if kind == "complaint":
        if sub is None:
            return Explanation(
                "complaint",
                "The recipient marked the message as spam (or otherwise complained); the feedback type says "
                f"what kind: {', '.join(COMPLAINTS)}.",
                "Stop sending to the address; mailfate suppresses it. Run: mailfate explain Complaint TYPE",
            )
        kind, sub = sub, None
    if sub is not None:
        found = next(((t, s) for t, s in BOUNCES if _key(t) == kind and _key(s) == sub), None)
        if found:
            meaning, action, counts = BOUNCES[found]
            return Explanation(f"{found[0]}/{found[1]}", meaning, action, counts_toward_bounce_rate=counts)
        topic = f"{type_name.strip()}/{(subtype or '').strip()}"
        if kind == "permanent":
            return Explanation(
                f"Permanent/{(subtype or '').strip()}",
                "A permanent bounce of a subtype mailfate does not know; SES may have added it recently.",
                _REMOVE,
                known=False,
                counts_toward_bounce_rate=True,
            )
        return _unknown(topic)
    for name, (meaning, action) in COMPLAINTS.items():
        if _key(name) == kind:
            return Explanation(f"complaint {name}", meaning, action)
    types = sorted({t for t, _ in BOUNCES if _key(t) == kind})
    if types:
        subtypes = [s for (t, s) in BOUNCES if t == types[0]]
        return Explanation(
            types[0],
            f"A {types[0]} bounce; give the subtype for details: {', '.join(subtypes)}.",
            "Run: mailfate explain " + types[0] + " SUBTYPE",
        )
    return _unknown(type_name.strip())


def _unknown(topic: str) -> Explanation:
    known = sorted({kind for kind, _ in BOUNCES}) + sorted(COMPLAINTS)
    return Explanation(
        topic,
        "Not a bounce type, subtype or complaint feedback type that SES documents.",
        "Check the spelling; known types are " + ", ".join(known) + ".",
        known=False,
    )


def explain_fate(summary: Summary) -> str:
    """One line, in plain words, of why a recipient has the status it has."""
    status = summary.status
    bounce = json.loads(summary.bounce) if summary.bounce else {}
    kind = f"{bounce.get('type')}/{bounce.get('subtype')}" if bounce else ""
    dsn = f" ({bounce.get('status')})" if bounce.get("status") else ""
    match status:
        case Status.COMPLAINED:
            info = json.loads(summary.complaint_info or "{}")
            feedback = info.get("feedback_type") or "no feedback type"
            return f"The recipient complained ({feedback}); never send to this address again."
        case Status.BOUNCED if bounce.get("reclassified"):
            return (
                f"Hard bounce: SES called it {kind}, but its status{dsn} is a permanent failure, "
                "so it counts as a hard bounce."
            )
        case Status.BOUNCED:
            after = " after it had been delivered" if summary.engaged else ""
            return f"Hard bounce {kind}{dsn}{after}: the address does not take mail; stop sending to it."
        case Status.REJECTED:
            return "SES rejected the message before sending it (a virus was found); nothing was delivered."
        case Status.FAILED:
            return "The template could not be rendered, so SES sent nothing."
        case Status.SOFT_BOUNCED:
            return f"Soft bounce {kind}{dsn}: SES stopped retrying; sending again later may work."
        case Status.DELIVERED if summary.auto_reply:
            return f"Delivered; the {kind} bounce that came with it is an automatic reply, not a bounce."
        case Status.DELIVERED if summary.not_spam and not summary.engaged:
            return "Delivered: the recipient marked it as not spam, so it reached the mailbox."
        case Status.DELIVERED:
            seen = " and clicked" if summary.clicked else " and opened" if summary.opened else ""
            return f"Delivered to the recipient's mail server{seen}."
        case Status.DELAYED:
            delay = json.loads(summary.delay or "{}")
            reason = f" ({delay['type']})" if delay.get("type") else ""
            return f"Delivery delayed{reason}; SES is still retrying."
    return "Sent: SES accepted the message; nothing more has been heard yet."
