"""The only requests mailfate makes to SNS: certificate downloads and subscription confirmations.

Each runs against a real HTTP server on 127.0.0.1 (the URL rules that would refuse it are checked
elsewhere, before anything is fetched; here only the fetch itself is under test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from mailfate.errors import CertificateInvalid, CertificateUnavailable, ConfirmationFailed
from mailfate.sns import certs, confirm

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        if self.path == "/cert.pem":
            self._answer(200, PEM)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cert.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self._answer(200, b"A" * (certs.MAX_CERTIFICATE_BYTES + 1))
        elif self.path == "/slow":
            time.sleep(3)
            self._answer(200, PEM)
        else:
            self._answer(404, b"no")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class TestCertificateDownload:
    def test_returns_the_body(self, server: str) -> None:
        """A 200 answer is the certificate, byte for byte."""
        assert certs.fetch_https(f"{server}/cert.pem") == PEM

    def test_does_not_follow_redirects(self, server: str) -> None:
        """A redirect leads to a URL nobody checked: it is a failure, and the target is never fetched."""
        with pytest.raises(CertificateUnavailable, match="302"):
            certs.fetch_https(f"{server}/redirect")
        assert _Handler.hits == ["/redirect"]

    def test_refuses_what_is_too_large_to_be_a_certificate(self, server: str) -> None:
        """Reading stops past the size limit."""
        with pytest.raises(CertificateInvalid, match="too large"):
            certs.fetch_https(f"{server}/huge")

    def test_a_refused_connection_is_unavailable_not_invalid(self) -> None:
        """Nothing listening: retry later (503 for SNS), not a forgery (403)."""
        with pytest.raises(CertificateUnavailable):
            certs.fetch_https("http://127.0.0.1:9/cert.pem")

    def test_gives_up_after_the_timeout(self, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A server that does not answer in time is unavailable, and the wait is bounded."""
        monkeypatch.setattr(certs, "FETCH_TIMEOUT_SECONDS", 0.5)
        certs.sns_http.cache_clear()
        try:
            started = time.monotonic()
            with pytest.raises(CertificateUnavailable):
                certs.fetch_https(f"{server}/slow")
            assert time.monotonic() - started < 2.5
        finally:
            certs.sns_http.cache_clear()


class TestConfirmationRequest:
    def test_returns_the_status(self, server: str) -> None:
        assert confirm.get_url(f"{server}/cert.pem") == 200
        assert confirm.get_url(f"{server}/missing") == 404

    def test_does_not_follow_redirects(self, server: str) -> None:
        """The checked SubscribeURL is the only URL requested."""
        assert confirm.get_url(f"{server}/redirect") == 302
        assert _Handler.hits == ["/redirect"]

    def test_unreachable_is_a_failure_to_retry(self) -> None:
        with pytest.raises(ConfirmationFailed, match="cannot reach"):
            confirm.get_url("http://127.0.0.1:9/")
