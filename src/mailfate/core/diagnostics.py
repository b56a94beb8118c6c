"""Why mail bounces: a bounce's diagnostic code, or a complaint's feedback type, as a reason that many
recipients share (docs/insights.md).

Receiving servers write the recipient's address, queue ids, IP addresses, times and counters into
their answers, so no two raw diagnostic codes are alike. Masking those leaves the part that explains
the failure, and recipients with the same explanation group together. Pure.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

#: Reasons longer than this are cut: enough for any real server's explanation.
MAX_REASON = 300

_TYPE = re.compile(r"^\s*[A-Za-z][\w-]{0,20}\s*;\s*")  # "smtp; ", "x-postfix; "
_ADDRESS = re.compile(r"<?[^\s<>()\[\]{}\"',;:]+@[^\s<>()\[\]{}\"',;]+>?")
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.I)
_TIME = re.compile(
    r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?\b"  # dates, ISO times
    r"|\b\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?\b"  # times of day
)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
# A host name: a label with a digit in it (a server's serial number) is masked, the rest says whose it is.
_HOST = re.compile(r"(?<![\w.-])(?:[\w-]+\.)+[A-Za-z]{2,24}(?![\w-])")
# An SMTP reply code with its enhanced status (RFC 3463) and the same pair repeated on continuation lines.
_CODES = re.compile(r"\b([245]\d\d)[ -]+([245]\.\d{1,3}\.\d{1,3})\b")
_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
# A token holding a digit and at least eight characters is an id (queue ids, host names with serials).
_ID = re.compile(r"(?<![\w<])(?=[\w-]*\d)[\w-]{8,}(?![\w>])")
_NUMBER = re.compile(r"(?<![\w<#])\d+(?![\w>])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\U000f0000-\U0010ffff]+")  # and the stand-ins below
_SPACE = re.compile(r"\s+")


def normalize(diagnostic: str) -> str:
    """A diagnostic code with what differs per recipient masked: addresses, URLs' query ids, ids, IPs,
    times and numbers. The SMTP reply code and enhanced status stay: they are the reason."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", diagnostic[:4000])).strip()
    text = _TYPE.sub("", text)
    text = _ADDRESS.sub("<address>", text)
    text = _URL.sub(_url, text)
    text = _TIME.sub("<time>", text)
    text = _IPV4.sub("<ip>", text)
    text = _IPV6.sub(_ipv6, text)
    text = _HOST.sub(_host, text)
    text = _codes(text)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return chr(_KEPT + len(kept) - 1)

    text = _STATUS.sub(keep, text)
    text = _ID.sub("<id>", text)
    text = _NUMBER.sub(lambda m: m.group(0) if _reply_code(m, text) else "#", text)
    text = "".join(kept[ord(c) - _KEPT] if ord(c) >= _KEPT else c for c in text) if kept else text
    return _SPACE.sub(" ", text).strip()[:MAX_REASON]


#: Characters from here up (Unicode's private use area) stand in for the status codes while the rest is masked.
_KEPT = 0xF0000


def _ipv6(match: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "<ip>"


def _host(match: re.Match[str]) -> str:
    labels = match.group(0).split(".")
    return ".".join("#" if any(c.isdigit() for c in label) else label for label in labels)


def _url(match: re.Match[str]) -> str:
    """A URL keeps its host and path (a help page names the problem); what follows ``?`` loses its ids."""
    url = match.group(0)
    base, question, query = url.partition("?")
    if not question:
        return url
    return f"{base}?{_ID.sub('<id>', query)}"


def _codes(text: str) -> str:
    """``550-5.1.1 ... 550-5.1.1 ...`` (a multi-line answer) as one ``550 5.1.1`` at its start."""
    first = _CODES.search(text)
    if first is None:
        return text
    pair = (first.group(1), first.group(2))
    head = f"{text[: first.start()]}{pair[0]} {pair[1]}"
    rest = _CODES.sub(lambda m: "" if (m.group(1), m.group(2)) == pair else m.group(0), text[first.end() :])
    return head + rest


def _reply_code(match: re.Match[str], text: str) -> bool:
    """A three-digit SMTP reply code at the start of the answer is kept."""
    value = match.group(0)
    return match.start() == 0 and len(value) == 3 and value[0] in "245"


def bounce_reason(details: Mapping[str, Any]) -> str:
    """``Permanent/General: 550 5.1.1 <address>: user unknown``; without a diagnostic code, the
    bounce's type and subtype and the DSN status alone."""
    kind = f"{_word(details.get('bounce_type')) or 'Undetermined'}/{_word(details.get('bounce_subtype')) or '?'}"
    diagnostic = details.get("diagnostic_code")
    if isinstance(diagnostic, str) and diagnostic.strip():
        return f"{kind}: {normalize(diagnostic)}"[:MAX_REASON]
    status = details.get("status")
    if isinstance(status, str) and _STATUS.fullmatch(status.strip()):
        return f"{kind}: {status.strip()} (no diagnostic code)"
    return f"{kind} (no diagnostic code)"


def complaint_reason(details: Mapping[str, Any]) -> str:
    """``abuse``, ``fraud``...: the feedback type the mailbox provider reported, and SES's subtype."""
    feedback = _word(details.get("feedback_type")) or "no feedback type"
    subtype = _word(details.get("complaint_subtype"))
    return f"{feedback} ({subtype})" if subtype else feedback


def _word(value: Any) -> str:
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()[:60] if isinstance(value, str) else ""
