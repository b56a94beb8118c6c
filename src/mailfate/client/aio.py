"""``mailfate.AsyncClient``: the twin of :class:`mailfate.Client` for asyncio applications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import TypeVar

import httpx

from mailfate.client import wire
from mailfate.core.changes import Change
from mailfate.core.check import CheckResult
from mailfate.core.suppression import Suppression
from mailfate.errors import ServiceUnavailable

T = TypeVar("T")


class AsyncClient:
    """The same methods as :class:`mailfate.Client`, to be awaited; ``follow`` is an async iterator."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, call: wire.Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, json=call.body)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{call.method} {call.path}: {exc}") from exc
        return wire.answer(call, response.status_code, response.content)

    async def check(self, addresses: str | Iterable[str]) -> list[CheckResult]:
        """May each address be mailed, and if not why: one :class:`CheckResult` per address, in order."""
        return [result for call in wire.check_calls(addresses) for result in await self._call(call)]

    async def message(self, message_id: str) -> wire.MessageJSON:
        return await self._call(wire.message(message_id))

    async def recipient(self, address: str) -> wire.RecipientJSON:
        return await self._call(wire.recipient(address))

    async def suppress(self, address: str, reason: str | None = None) -> Suppression:
        return await self._call(wire.suppress(address, reason))

    async def unsuppress(self, address: str) -> None:
        await self._call(wire.unsuppress(address))

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
