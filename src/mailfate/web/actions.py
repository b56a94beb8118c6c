"""What an operator does by hand over HTTP: replay or dismiss quarantined records, redeliver webhook
changes that were given up (docs/api.md). Each action is one method here, and every write route of
these actions goes through :meth:`Actions.act`: the one place where who may act, and the record of
what was done, belong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailfate.core.audit import Actor
from mailfate.core.jsonutil import loads
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError
from mailfate.logs import logger
from mailfate.outbound.names import named_webhook, shown_url
from mailfate.sns.verify import Verifier
from mailfate.sources.replay import MISSING, replay_one, replay_quarantine
from mailfate.store import Store
from mailfate.web.api import actor
from mailfate.web.responses import error, ok

#: Ids one request may name.
MAX_IDS = 10_000

Action = Callable[[Request], Awaitable[Response]]


class Actions:
    def __init__(self, store: Store, verifier: Verifier, webhook_urls: Sequence[str] = ()) -> None:
        self.store = store
        self.verifier = verifier  # what a body anyone could have posted must pass to become facts
        self.webhook_urls = tuple(webhook_urls)

    def act(self, name: str, action: Action) -> Action:
        """One write action, logged with what it was asked and how it answered."""

        async def acting(request: Request) -> Response:
            response = await action(request)
            logger.info(
                "action", extra={"fields": {"action": name, "path": request.url.path, "status": response.status_code}}
            )
            return response

        return acting

    async def replay(self, request: Request) -> Response:
        """``POST /api/quarantine/{id}/replay``: parse one record again with today's code."""
        item_id = _item_id(request.path_params["item_id"])
        if item_id is None:
            return error(404, f"quarantined record {request.path_params['item_id'][:40]} not found")
        replayed = await run_in_threadpool(replay_one, self.store, item_id, self.verifier, _by(request))
        if replayed.outcome == MISSING:
            return error(404, f"quarantined record {item_id} not found")
        return ok(replayed.to_json())

    async def replay_many(self, request: Request) -> Response:
        """``POST /api/quarantine/replay``: the records of ``{"ids": [...]}``, or every one without a body."""
        ids = await _ids(request, required=False)
        result = await run_in_threadpool(replay_quarantine, self.store, ids, self.verifier, _by(request))
        return ok(result.to_json())

    async def dismiss(self, request: Request) -> Response:
        """``DELETE /api/quarantine/{id}``: drop one record for good."""
        item_id = _item_id(request.path_params["item_id"])
        by = _by(request)
        gone = await run_in_threadpool(self.store.dismiss_quarantined, [item_id], by) if item_id is not None else []
        if not gone:
            return error(404, f"quarantined record {request.path_params['item_id'][:40]} not found")
        return ok({"dismissed": gone, "missing": []})

    async def dismiss_many(self, request: Request) -> Response:
        """``POST /api/quarantine/dismiss``: drop the records of ``{"ids": [...]}``."""
        ids = await _ids(request, required=True) or []
        gone = await run_in_threadpool(self.store.dismiss_quarantined, ids, _by(request))
        return ok({"dismissed": gone, "missing": sorted(set(ids) - set(gone))})

    async def redeliver(self, request: Request) -> Response:
        """``POST /api/webhooks/redeliver``: ``{"webhook": 2, "seqs": [...]}`` (or ``"url"``; no seqs: every
        change given up for that webhook) become due again."""
        body = _json_object(await request.body(), '{"webhook": 1, "seqs": [1, 2]}')
        given = _webhook(body)
        url = named_webhook(self.webhook_urls, given)
        if url is None:
            named = f"position {given}" if isinstance(given, int) else shown_url(given)
            return error(404, f"no webhook at {named} is configured")
        seqs = _whole_numbers(body["seqs"], "seqs") if body.get("seqs") is not None else None
        by = _by(request)
        done = await run_in_threadpool(self.store.redeliver, url, seqs, by.at, by)
        missing = sorted(set(seqs) - set(done)) if seqs is not None else []
        position = self.webhook_urls.index(url) + 1
        return ok({"webhook": position, "url": shown_url(url), "redelivered": done, "missing": missing})


def _webhook(body: dict[str, Any]) -> str | int:
    """What names the webhook: its position (``webhook``), else its URL as configured or as shown."""
    position, url = body.get("webhook"), body.get("url")
    if position is not None and url is not None:
        raise UsageError('name the webhook once: {"webhook": 1} or {"url": "..."}')
    if position is not None:
        if type(position) is not int or not 0 < position < 2**31:
            raise UsageError("webhook must be a position: 1 for the first configured webhook")
        return position
    if not isinstance(url, str) or not url:
        raise UsageError('body must name the webhook: {"webhook": 1, "seqs": [...]} (or "url")')
    return url


def _by(request: Request) -> Actor:
    """The actor of the audit trail: the name of the request's token, now."""
    return Actor(actor(request), format_timestamp(datetime.now(UTC)))


def _item_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**62 else None


async def _ids(request: Request, required: bool) -> list[int] | None:
    raw = await request.body()
    if not raw.strip() and not required:
        return None
    body = _json_object(raw, '{"ids": [1, 2]}')
    if "ids" not in body:
        raise UsageError('body must list the records: {"ids": [1, 2]}')
    return _whole_numbers(body["ids"], "ids")


def _json_object(raw: bytes, expected: str) -> dict[str, Any]:
    try:
        body = loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"body must be JSON: {expected}") from exc
    if not isinstance(body, dict):
        raise UsageError(f"body must be a JSON object: {expected}")
    return body


def _whole_numbers(value: Any, name: str) -> list[int]:
    if not isinstance(value, list) or not all(type(v) is int and 0 < v < 2**62 for v in value):
        raise UsageError(f"{name} must be a list of positive whole numbers")
    if len(value) > MAX_IDS:
        raise UsageError(f"at most {MAX_IDS:,} {name} per request, not {len(value):,}")
    return list(value)
