"""Where SNS signing certificates come from: a pinned folder, else HTTPS, through a bounded cache.

The cache keeps at most ``max_size`` certificates for ``ttl`` seconds each and never remembers a
failure: a download that failed is tried again on the next message, not refused until restart.
Validity dates are not checked here but against the clock at every verification (see verify.py).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography import x509

from mailfate.errors import CertificateInvalid, CertificateUnavailable

#: A PEM certificate is a few kilobytes; anything much larger is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 5.0

Fetch = Callable[[str], bytes]


@functools.cache
def sns_http() -> httpx.Client:
    """The one client that talks to SNS (certificates, confirmations): pooled, with a timeout on every
    step, and never following a redirect: the URL was checked, where a redirect leads was not."""
    return httpx.Client(follow_redirects=False, timeout=FETCH_TIMEOUT_SECONDS, headers={"User-Agent": "mailfate"})


def fetch_https(url: str) -> bytes:
    """Download a certificate. Only ever called with a URL that passed ``envelope.check_cert_url``."""
    data = b""
    try:
        with sns_http().stream("GET", url) as response:
            if response.status_code != 200:
                raise CertificateUnavailable(f"certificate download answered {response.status_code}")
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_CERTIFICATE_BYTES:
                    raise CertificateInvalid("the signing certificate is too large")
    except httpx.HTTPError as exc:
        raise CertificateUnavailable(f"cannot download the signing certificate: {exc or type(exc).__name__}") from exc
    return data


def load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CertificateInvalid(f"not a PEM certificate: {exc}") from exc


class CertificateCache:
    """Certificates by URL: from ``certs_dir`` when a file of the URL's name is there, else fetched."""

    def __init__(
        self,
        fetch: Fetch = fetch_https,
        certs_dir: Path | None = None,
        max_size: int = 32,
        ttl: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._certs_dir = certs_dir
        self._max_size = max_size
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, x509.Certificate]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, url: str) -> x509.Certificate | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            if self._clock() - entry[0] > self._ttl:
                del self._entries[url]
                return None
            self._entries.move_to_end(url)
            return entry[1]

    def get(self, url: str) -> x509.Certificate:
        certificate = self.cached(url)
        if certificate is not None:
            return certificate
        certificate = load_certificate(self._load(url))  # raises, and nothing is cached
        with self._lock:
            self._entries[url] = (self._clock(), certificate)
            self._entries.move_to_end(url)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
        return certificate

    def __len__(self) -> int:
        return len(self._entries)

    def _load(self, url: str) -> bytes:
        if self._certs_dir is not None:
            pinned = self._certs_dir / url.rsplit("/", 1)[-1]
            if pinned.is_file():
                return pinned.read_bytes()
        return self._fetch(url)
