"""The dashboard (docs/api.md): one static page and its assets, all served by mailfate itself.

The page holds no data: its script reads the same JSON API that everyone else uses, with the bearer
token when one is set. Assets come from the package (uPlot, MIT, is vendored under static/vendor), so
the dashboard works with no access to the internet and leaks nothing to a CDN.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC = Path(__file__).parent / "static"

#: Only our own scripts, styles, images and API: an injected script could not run, nor phone home.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


class _Assets(StaticFiles):
    """Static files with the same security headers, revalidated so an upgrade shows at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for name, value in {**SECURITY_HEADERS, "Cache-Control": "no-cache"}.items():
                    headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, with_headers)


def routes() -> list[Route | Mount]:
    return [
        Route("/", index, methods=["GET"]),
        Mount("/static", app=_Assets(directory=STATIC), name="static"),
    ]
