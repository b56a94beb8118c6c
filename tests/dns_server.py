"""A tiny DNS server on 127.0.0.1 for the MX lookup tests: answers MX questions from a dict, NXDOMAIN
for other names, and counts the questions it was asked."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self, mx: dict[str, list[str]]) -> None:
        self.mx = mx
        self.asked: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port: int = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            (question,) = query.question
            name = question.name.to_text().rstrip(".").lower()
            self.asked.append(name)
            hosts = self.mx.get(name)
            if hosts is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.MX:
                records = [f"{10 * (i + 1)} {host}." for i, host in enumerate(hosts)]
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "MX", *records))
            self._socket.sendto(response.to_wire(), client)
