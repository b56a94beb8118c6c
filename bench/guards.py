"""The cost of the request guards (host, cross-site, query parameters, body size) per request, in process.

    .venv/bin/python bench/guards.py [--calls 200000]

Prints microseconds per call: a bare ASGI call, POST /sns through the guards (the hot path), and a GET
with two query parameters (checked against the OpenAPI document).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from mailfate.web.guards import Guards
from mailfate.web.openapi import PATHS

SNS_HEADERS = [
    (b"host", b"127.0.0.1:8025"),
    (b"content-type", b"text/plain; charset=UTF-8"),
    (b"x-amz-sns-message-type", b"Notification"),
    (b"x-amz-sns-topic-arn", b"arn:aws:sns:us-east-1:123456789012:ses-events"),
    (b"x-amz-sns-message-id", b"165545c9-2a5c-472c-8df2-7ff2be2b3b1b"),
    (b"content-length", b"1500"),
    (b"user-agent", b"Amazon Simple Notification Service Agent"),
]


async def app(scope: Any, receive: Any, send: Any) -> None:
    return None


async def per_call(call: Any, scope: dict[str, Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call(scope, None, None)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    guards = Guards(app, PATHS, frozenset({"localhost:8025", "127.0.0.1:8025", "[::1]:8025"}))
    sns = {"type": "http", "method": "POST", "path": "/sns", "query_string": b"", "headers": SNS_HEADERS}
    listing = {**sns, "method": "GET", "path": "/api/messages", "query_string": b"limit=5&status=bounced"}
    print(f"bare ASGI call:            {asyncio.run(per_call(app, sns, calls)):6.2f} us")
    print(f"POST /sns through guards:  {asyncio.run(per_call(guards, sns, calls)):6.2f} us")
    print(f"GET ?limit&status guarded: {asyncio.run(per_call(guards, listing, calls)):6.2f} us")


if __name__ == "__main__":
    main()
