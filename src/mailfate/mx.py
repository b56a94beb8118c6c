"""The optional MX lookup (``MAILFATE_MX_LOOKUP=on``): the provider of a company domain that no event
named, from the hosts its MX records point to (``aspmx.l.google.com`` is Google's).

Off by default: everything else mailfate says about providers needs no network. When on, answers are
cached per process (a day for an answer, an hour for "no MX"), and a request waits at most a second or
so for lookups: what is not answered by then is grouped by its domain this time, and by its provider
once the answer is in the cache.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import dns.exception
import dns.resolver

from mailfate.core.providers import by_mx
from mailfate.logs import logger

_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
#: How long an answer is kept: a provider is rarely changed; "none" may be a domain still being set up.
FOUND_TTL, NONE_TTL = 86400.0, 3600.0


class MxLookup:
    """A callable that maps domains to the provider their MX hosts belong to, from its cache and, within
    ``budget`` seconds, from DNS. Thread-safe; one per process."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None = None,
        timeout: float = 2.0,
        budget: float = 1.0,
        max_size: int = 100_000,
        per_call: int = 500,
    ) -> None:
        self.resolver = dns.resolver.Resolver(configure=nameserver is None)
        if nameserver is not None:
            self.resolver.nameservers = [nameserver[0]]
            self.resolver.port = nameserver[1]
        self.resolver.lifetime = timeout
        self.budget, self.max_size, self.per_call = budget, max_size, per_call
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()  # domain -> (expires, provider or "")
        self._lock = threading.Lock()
        self._pending: dict[str, Future[None]] = {}
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="mailfate-mx")

    def __call__(self, domains: Iterable[str]) -> dict[str, str]:
        """The providers known for ``domains`` (those with none are left out)."""
        wanted = list(domains)
        found: dict[str, str] = {}
        asked: list[Future[None]] = []
        now = time.monotonic()
        for domain in wanted:
            cached = self._cached(domain, now)
            if cached is not None:
                if cached:
                    found[domain] = cached
            elif len(asked) < self.per_call and _DOMAIN.fullmatch(domain):
                asked.append(self._ask(domain))
        if asked:
            wait(asked, timeout=self.budget)
            now = time.monotonic()
            for domain in (d for d in wanted if d not in found):
                cached = self._cached(domain, now)
                if cached:
                    found[domain] = cached
        return found

    def lookup(self, domain: str) -> str:
        """The provider of one domain from DNS now ("" when its MX hosts are nobody's we know)."""
        try:
            answer = self.resolver.resolve(domain, "MX")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return ""
        hosts = [str(record.exchange).rstrip(".").lower() for record in answer]
        provider = by_mx(hosts)
        return provider.value if provider is not None else ""

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _cached(self, domain: str, now: float) -> str | None:
        with self._lock:
            entry = self._cache.get(domain)
            if entry is None or entry[0] < now:
                return None
            return entry[1]

    def _ask(self, domain: str) -> Future[None]:
        with self._lock:
            pending = self._pending.get(domain)
            if pending is None:
                pending = self._pending[domain] = self._pool.submit(self._resolve, domain)
            return pending

    def _resolve(self, domain: str) -> None:
        try:
            provider = self.lookup(domain)
        except (dns.exception.DNSException, OSError) as exc:  # a timeout: not cached, asked again later
            logger.info("mx.lookup_failed", extra={"fields": {"domain": domain, "error": str(exc)[:200]}})
            with self._lock:
                self._pending.pop(domain, None)
            return
        ttl = FOUND_TTL if provider else NONE_TTL
        with self._lock:
            self._pending.pop(domain, None)
            self._cache[domain] = (time.monotonic() + ttl, provider)
            self._cache.move_to_end(domain)
            while len(self._cache) > self.max_size:
                self._cache.popitem(last=False)


_SHARED: dict[tuple[str, int] | None, MxLookup] = {}
_SHARED_LOCK = threading.Lock()


def shared(nameserver: tuple[str, int] | None) -> MxLookup:
    """The process's lookup for ``nameserver`` (None: the system's), so that its cache is shared."""
    with _SHARED_LOCK:
        lookup = _SHARED.get(nameserver)
        if lookup is None:
            lookup = _SHARED[nameserver] = MxLookup(nameserver)
        return lookup
