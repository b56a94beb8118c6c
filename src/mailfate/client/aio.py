"""``mailfate.AsyncClient``: the twin of :class:`mailfate.Client` for asyncio applications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import TypeVar

import httpx

from mailfate.client import wire
from mailfate.client.views import Message, Recipient
from mailfate.core.changes import Change
from mailfate.core.check import CheckResult
from mailfate.core.suppression import Suppression
from mailfate.errors import ServiceUnavailable

T = TypeVar("T")


class AsyncClient:
    """The same methods as :class:`mailfate.Client`, to be awaited; ``follow`` is an async iterator.
    The same limits too: a whole call within ``timeout`` seconds, at most ``max_response_bytes`` read."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        max_response_bytes: int = wire.MAX_RESPONSE_BYTES,
    ) -> None:
        self._timeout = timeout
        self._max = max_response_bytes
        self._http = httpx.AsyncClient(base_url=wire.base_url(base_url), headers=wire.headers(token), timeout=timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, call: wire.Call[T]) -> T:
        what = f"{call.method} {call.path}"
        try:
            async with asyncio.timeout(self._timeout):  # the whole call: httpx's timeout is per read
                async with self._http.stream(call.method, call.path, json=call.body) as response:
                    status, content = response.status_code, await self._read(response, call)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ServiceUnavailable(f"{what}: no whole answer within {self._timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{what}: {exc or type(exc).__name__}") from exc
        return wire.answer(call, status, content)

    async def _read(self, response: httpx.Response, call: wire.Call[T]) -> bytes:
        if int(response.headers.get("Content-Length") or 0) > self._max:
            raise wire.too_large(self._max, call.method, call.path)
        parts, size = [], 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > self._max:
                raise wire.too_large(self._max, call.method, call.path)
            parts.append(part)
        return b"".join(parts)

    async def check(self, addresses: str | Iterable[str]) -> list[CheckResult]:
        """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order."""
        return [result for call in wire.check_calls(addresses) for result in await self._call(call)]

    async def message(self, message_id: str) -> Message:
        return await self._call(wire.message(message_id))

    async def recipient(self, address: str) -> Recipient:
        return await self._call(wire.recipient(address))

    async def suppress(self, address: str, reason: str | None = None) -> Suppression:
        return await self._call(wire.suppress(address, reason))

    async def unsuppress(self, address: str, reason: str) -> None:
        await self._call(wire.unsuppress(address, reason))

    async def changes(self, after: int = 0, limit: int = 100) -> list[Change]:
        return await self._call(wire.changes(after, limit))

    async def follow(self, after: int = 0, *, poll: float = 1.0, limit: int = 100) -> AsyncIterator[Change]:
        """Every change after ``after``, then each new one as it comes (see :meth:`mailfate.Client.follow`)."""
        while True:
            found = await self.changes(after, limit)
            for change in found:
                yield change
            if found:
                after = found[-1].seq
            if len(found) < limit:
                await asyncio.sleep(poll)
