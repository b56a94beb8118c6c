"""What every request passes before a handler sees it: a Host the server answers, no cross-site write,
only the query parameters its operation documents, and a bounded body.

The allowed parameters come from the OpenAPI document, the one place that lists them: a handler that
reads a parameter the document does not name cannot receive it, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailfate.logs import logger
from mailfate.web.responses import error

#: Bodies of the API's own routes (POST /sns has its own limit, 256 KiB, in sns_endpoint).
BODY_LIMIT = 64 * 1024
#: Routes that take more: a check of up to 1,000 addresses.
BODY_LIMITS = {"/api/check": 512 * 1024}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE = frozenset({b"same-origin", b"none"})
_LOGGED_HOSTS = 100  # refused hosts logged once each, up to this many


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit // 1024} KiB")


class Parameters:
    """The query parameters each operation of the OpenAPI document accepts."""

    def __init__(self, paths: Mapping[str, Mapping[str, Any]]) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, frozenset[str]]]] = []
        for template, operations in paths.items():
            # {name} matches anything, "/" included: message ids and addresses may hold one.
            pattern = "".join("(?s:.+)" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{\w+\})", template))  # fmt: skip
            allowed = {
                method.upper(): frozenset(p["name"] for p in op.get("parameters", []) if p["in"] == "query")
                for method, op in operations.items()
            }
            self._routes.append((re.compile(pattern), allowed))
        # Fixed paths before templates: /api/suppressions is not /api/suppressions/{address}.
        self._routes.sort(key=lambda route: "(?s:.+)" in route[0].pattern)

    def allowed(self, method: str, path: str) -> frozenset[str]:
        for pattern, operations in self._routes:
            if pattern.fullmatch(path):
                if method == "HEAD":
                    method = "GET"
                # A method the path does not have is a 405 later: let any of its parameters through.
                return operations.get(method) or frozenset().union(*operations.values())
        return frozenset()

    def problem(self, method: str, path: str, query: bytes) -> str | None:
        """What is wrong with the query string, or None."""
        names = [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
        allowed = self.allowed(method, path)
        for name in names:
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                return f"unknown query parameter {name!r} (this endpoint takes: {known})"
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            return f"query parameter {repeated[0]!r} given more than once"
        return None


class Guards:
    """ASGI middleware around the whole app (POST /sns included: it is cheap, a few header lookups)."""

    def __init__(self, app: ASGIApp, paths: Mapping[str, Mapping[str, Any]], hosts: Iterable[str] | None) -> None:
        self.app = app
        self.parameters = Parameters(paths)
        self.hosts = frozenset(h.lower() for h in hosts) if hosts is not None else None
        self._logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await error(*refusal)(scope, receive, send)
            return
        if scope["path"] == "/sns":  # its own limit, answered as SPEC'd 413 there
            await self.app(scope, receive, send)
            return
        limit = BODY_LIMITS.get(scope["path"], BODY_LIMIT)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await error(413, f"request body over {limit // 1024} KiB")(scope, receive, send)
            return
        await self.app(scope, _bounded(receive, limit), send)

    def _refusal(self, scope: Scope, headers: Mapping[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self.hosts is not None and not _host_allowed(host, self.hosts):
            if len(self._logged) < _LOGGED_HOSTS and host not in self._logged:
                self._logged.add(host)
                logger.warning("request for a host not served", extra={"fields": {"host": host}})
            return 400, f"host {host!r} is not one this server answers (MAILFATE_ALLOWED_HOSTS)"
        if scope["method"] not in _SAFE_METHODS and _cross_site(host, headers):
            return 403, "cross-site request refused"
        if scope["query_string"]:
            problem = self.parameters.problem(scope["method"], scope["path"], scope["query_string"])
            if problem:
                return 400, problem
        return None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"host", b"origin", b"sec-fetch-site", b"content-length"):
            found.setdefault(name, value)
    return found


def _host_allowed(host: str, allowed: frozenset[str]) -> bool:
    if host in allowed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in allowed and name != host  # a name without a port allows any port


def _cross_site(host: str, headers: Mapping[bytes, bytes]) -> bool:
    """A browser says where a request comes from; SNS and command-line clients say nothing."""
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in _SAME_SITE:
        return True
    origin = headers.get(b"origin")
    if origin is None:
        return False
    try:
        parts = urlsplit(origin.decode("latin-1"))
    except ValueError:
        return True  # anything unparsable is not our own page
    if not parts.netloc:
        return True  # "null": a sandboxed frame, a file, a redirect across sites
    return _without_default_port(parts.netloc.lower(), parts.scheme) != _without_default_port(host, parts.scheme)


def _without_default_port(netloc: str, scheme: str) -> str:
    default = {"http": ":80", "https": ":443"}.get(scheme)
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def _bounded(receive: Receive, limit: int) -> Callable[[], Any]:
    """``receive`` that raises BodyTooLarge (a 413) once the body passes ``limit`` bytes."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return bounded
