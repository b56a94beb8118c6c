"""How a webhook is shown, logged and named by an operator without its secret (docs/api.md).

A webhook URL is a credential more often than not: a chat webhook's path is its key
(``https://hooks.slack.com/services/T000/B000/XXXX``), a receiver's query may hold a token, its user part
a password. So it is shown as its scheme, host and port only, and named by its position in the settings
(``MAILFATE_WEBHOOK_URL`` first, then ``MAILFATE_ALERT_URL``; 1 first), as ``/metrics`` labels it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mailfate.errors import UsageError
from mailfate.logs import redact_url

#: What stands for the part of a URL that is not shown.
MASK = "…"


def shown_url(url: str) -> str:
    """``https://hooks.slack.com/…``: the URL's scheme, host and port, everything else masked.

    Whatever does not parse as a URL with a host is masked whole: no part of it is sure to be the host."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return MASK
    if not parts.scheme or not host:
        return MASK
    shown = f"[{host}]" if ":" in host else host
    if port is not None:
        shown += f":{port}"
    hidden = parts.path.strip("/") or parts.query or parts.fragment
    return f"{parts.scheme}://{shown}/{MASK if hidden else ''}"


def named_webhook(urls: Sequence[str], given: str | int) -> str | None:
    """The configured URL that ``given`` names: its position (1 first), the URL itself, or the URL as it
    is shown (typed with ``...`` or ``…``) when that fits one webhook only; None when it names none.

    The form with only the password hidden, which earlier versions showed, is still understood."""
    if isinstance(given, int):
        return urls[given - 1] if 1 <= given <= len(urls) else None
    if given in urls:
        return given
    typed = given[:-3] + MASK if given.endswith("...") else given
    fits = list(dict.fromkeys(u for u in urls if typed in (shown_url(u), redact_url(u))))
    if len(fits) > 1:
        raise UsageError(
            f"{len(fits)} webhooks are shown as {typed[:200]}: name one by its position "
            f"({', '.join(str(urls.index(u) + 1) for u in fits)})"
        )
    return fits[0] if fits else None


def listed(webhooks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The store's webhooks (one per configured URL, in the settings' order) as they are shown: each with
    its position and its URL masked."""
    return [{"webhook": n, **w, "url": shown_url(w["url"])} for n, w in enumerate(webhooks, 1)]
