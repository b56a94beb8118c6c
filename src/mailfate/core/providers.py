"""Which mailbox provider hosts a recipient, from what SES already reports: no network needed.

A consumer address says it by its domain (``gmail.com`` is Google's). A company domain hosted by one of
the large providers says it in what that provider's servers answered: the ``smtpResponse`` of a
Delivery (``250 2.0.0 OK ... - gsmtp``), the ``remoteMtaIp`` SES connected to, the ``reportingMTA`` of
a bounce the provider sent back, and the ``diagnosticCode`` of a bounce (which often names the
provider's host or help page). Domains that match nothing are grouped by themselves
(docs/insights.md); an optional MX lookup, at the edges, can recognise more.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any


class Provider(StrEnum):
    """The mailbox providers recognised by name; every other domain is a group of its own."""

    #: Gmail and Google Workspace.
    GOOGLE = "google"
    #: Outlook.com (Hotmail, Live, MSN) and Microsoft 365 / Exchange Online.
    MICROSOFT = "microsoft"
    #: Yahoo Mail and the brands it hosts (AOL, Verizon).
    YAHOO = "yahoo"
    #: iCloud Mail (icloud.com, me.com, mac.com and custom domains hosted by iCloud+).
    APPLE = "apple"


#: Consumer domains: the address alone says who hosts it.
CONSUMER_DOMAINS: dict[str, Provider] = {
    **dict.fromkeys(("gmail.com", "googlemail.com"), Provider.GOOGLE),
    **dict.fromkeys(
        ("outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "windowslive.com",
         "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es", "hotmail.nl", "hotmail.be",
         "hotmail.ca", "hotmail.com.br", "hotmail.com.ar", "hotmail.co.jp", "live.co.uk", "live.fr", "live.de",
         "live.it", "live.nl", "live.ca", "live.com.au", "live.com.mx", "outlook.fr", "outlook.de", "outlook.es",
         "outlook.it", "outlook.jp", "outlook.com.br", "outlook.co.uk"),
        Provider.MICROSOFT,
    ),
    **dict.fromkeys(
        ("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es",
         "yahoo.ca", "yahoo.com.au", "yahoo.com.br", "yahoo.com.mx", "yahoo.co.in", "yahoo.in", "aol.com", "aim.com",
         "aol.co.uk", "aol.fr", "aol.de", "verizon.net"),
        Provider.YAHOO,
    ),
    **dict.fromkeys(("icloud.com", "me.com", "mac.com"), Provider.APPLE),
}  # fmt: skip

# Host names and tokens that only a provider's own servers write. Matched as whole labels, so that
# "notgoogle.com" is nobody's. Yahoo's "dirdel" ("250 ok dirdel") is its delivery answer.
_FINGERPRINTS: tuple[tuple[Provider, re.Pattern[str]], ...] = (
    (Provider.GOOGLE, re.compile(r"(?<![\w-])(?:gsmtp|(?:[\w-]+\.)*google(?:mail)?\.com)(?![\w-])", re.I)),
    (
        Provider.MICROSOFT,
        re.compile(
            r"(?<![\w-])(?:[\w-]+\.)*(?:outlook\.com|hotmail\.com|exchangelabs\.com|outlook\.office365\.com"
            r"|mail\.live\.com|messaging\.microsoft\.com)(?![\w-])",
            re.I,
        ),
    ),
    (Provider.YAHOO, re.compile(r"(?<![\w-])(?:dirdel|(?:[\w-]+\.)*yahoo(?:dns|inc)?\.(?:com|net))(?![\w-])", re.I)),
    (Provider.APPLE, re.compile(r"(?<![\w-])(?:[\w-]+\.)*(?:icloud\.com|apple\.com)(?![\w-])", re.I)),
)
#: A substring (lower case) that each fingerprint's every match holds: ASCII text holding none of them
#: matches no fingerprint, which spares the patterns' slow scans of the common answer ("250 Ok ...").
_FINGERPRINT_HINTS = ("gsmtp", "google", "outlook", "hotmail", "exchangelabs", "live.com", "microsoft", "dirdel",
                      "yahoo", "icloud", "apple")  # fmt: skip

#: Where each provider's receiving servers live (their published inbound ranges), for ``remoteMtaIp``.
_NETWORKS: tuple[tuple[Provider, tuple[str, ...]], ...] = (
    (Provider.GOOGLE, ("142.250.0.0/15", "172.217.0.0/16", "173.194.0.0/16", "209.85.128.0/17", "74.125.0.0/16",
                       "64.233.160.0/19", "108.177.0.0/17", "2607:f8b0::/32", "2a00:1450::/32")),
    (Provider.MICROSOFT, ("40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17", "2a01:111:f400::/48")),
    (Provider.YAHOO, ("67.195.0.0/16", "98.136.0.0/16", "74.6.0.0/16", "66.218.64.0/19")),
    (Provider.APPLE, ("17.0.0.0/8",)),
)  # fmt: skip
_PARSED = tuple((provider, tuple(ipaddress.ip_network(n) for n in networks)) for provider, networks in _NETWORKS)

#: The event details that carry what the receiving side said (mailfate.sources.extractors names them).
FINGERPRINT_DETAILS = ("smtp_response", "diagnostic_code", "reporting_mta")


def recipient_domain(address: str) -> str:
    """The domain of a normalized address: what follows its first ``@`` (the stores split it the same
    way, cheaply; only a quoted local part holds another ``@``)."""
    return address.partition("@")[2] if "@" in address else address


def by_domain(domain: str) -> Provider | None:
    return CONSUMER_DOMAINS.get(domain)


def by_text(texts: Iterable[str]) -> Provider | None:
    """The provider whose fingerprint appears in what its servers said, if any one does."""
    for text in texts:
        if text.isascii():  # re.I folds some non-ASCII letters onto ASCII ones: only ASCII may skip
            lowered = text.lower()
            if not any(hint in lowered for hint in _FINGERPRINT_HINTS):
                continue
        for provider, pattern in _FINGERPRINTS:
            if pattern.search(text):
                return provider
    return None


@lru_cache(maxsize=4096)
def by_ip(text: str) -> Provider | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    for provider, networks in _PARSED:
        if any(address.version == n.version and address in n for n in networks):
            return provider
    return None


def by_mx(hosts: Iterable[str]) -> Provider | None:
    """The provider that runs these MX hosts (``aspmx.l.google.com``...), for the optional lookup."""
    return by_text(hosts)


def classify(address: str, details: Mapping[str, Any]) -> str:
    """The provider of the recipient ``address`` as one event shows it, or "" when it does not say.

    The domain decides for consumer addresses; otherwise what the receiving servers wrote. Every event
    of a consumer address gives the same answer, so merging events (the greatest answer wins) cannot
    depend on their order.
    """
    known = CONSUMER_DOMAINS.get(recipient_domain(address))
    if known is not None:
        return known.value
    texts = [v for k in FINGERPRINT_DETAILS if isinstance(v := details.get(k), str)]
    found = by_text(texts) if texts else None
    if found is None:
        ip = details.get("remote_mta_ip")
        found = by_ip(ip) if isinstance(ip, str) and len(ip) <= 64 else None
    return found.value if found is not None else ""


def group_key(domain: str, provider: str) -> str:
    """What ``group_by=provider`` groups under: the provider's name, else the domain itself."""
    return provider or domain
