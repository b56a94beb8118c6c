"""The JSON API (docs/api.md). Handlers are thin: parse the request, ask the store, shape the JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from mailfate.core.activity import ActivityRow, csv_text
from mailfate.core.addresses import email_address
from mailfate.core.audit import MAX_REASON, AuditAction, AuditEntry, parse_action, reason_or_default
from mailfate.core.check import MAX_ADDRESSES, NotAnAddress, one_address
from mailfate.core.insights import DiagnosticsQuery, Resolve
from mailfate.core.jsonutil import loads
from mailfate.core.roles import ANONYMOUS, ApiToken, Scope, identify
from mailfate.core.stats import StatsQuery
from mailfate.core.suppression import Action, Policy
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import ErasureKeyError, StorageError, UsageError
from mailfate.logs import logger
from mailfate.outbound.names import listed
from mailfate.store import Store
from mailfate.store.audit import AUDIT_LIMIT, AUDIT_MAX_LIMIT
from mailfate.store.listing import (
    RECIPIENT_LIMIT,
    RECIPIENT_MAX_LIMIT,
    SUPPRESSION_LIMIT,
    SUPPRESSION_MAX_LIMIT,
    ActivityQuery,
    Filters,
    MessagePart,
    MessageQuery,
    decode_cursor,
    encode_cursor,
    parse_limit,
)
from mailfate.web.responses import error, ok

Handler = Callable[[Request], Awaitable[Response]]

#: Methods that only read: any other needs an admin token unless its route says otherwise.
_READING = frozenset({"GET", "HEAD", "OPTIONS"})
#: Where the guard leaves the token that let a request in, for the audit trail.
_TOKEN_KEY = "mailfate.token"  # noqa: S105 -- a key of the request's scope, not a secret
#: Who a request is when the server asks for no token (on loopback only: serve refuses otherwise).
_NOBODY = ApiToken(ANONYMOUS, Scope.ADMIN, "")


class Api:
    def __init__(
        self,
        store: Store,
        tokens: Sequence[ApiToken] = (),
        policy: Policy | None = None,
        webhook_urls: Sequence[str] = (),
        resolve: Resolve | None = None,
    ) -> None:
        self.store = store
        self.tokens = tuple(tokens)
        self.policy = policy or Policy()
        self.webhook_urls = tuple(webhook_urls)
        self.resolve = resolve  # the MX lookup, when MAILFATE_MX_LOOKUP is on

    def guard(self, handler: Handler, needs: Scope | None = None) -> Handler:
        """Bearer-token and scope check, and error translation, around one handler. ``needs``: the scope
        the route needs; by default read for GET and HEAD, admin for every other method, so that a new
        write route is closed to read tokens unless it says otherwise."""

        async def guarded(request: Request) -> Response:
            token = self._token(request)
            if token is None:
                return error(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
            needed = needs or (Scope.READ if request.method in _READING else Scope.ADMIN)
            if not token.may(needed):
                return error(403, f"the token {token.name!r} may only read; this needs an admin token")
            request.scope[_TOKEN_KEY] = token
            try:
                return await handler(request)
            except UsageError as exc:
                return error(400, str(exc))
            except ErasureKeyError as exc:  # a configuration to fix, said as such
                logger.error("erasure key", extra={"fields": {"error": str(exc)}})
                return error(503, str(exc))
            except StorageError:
                return error(503, "storage unavailable; retry later")

        return guarded

    def _token(self, request: Request) -> ApiToken | None:
        if not self.tokens:
            return _NOBODY
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        return identify(self.tokens, given.strip())

    async def whoami(self, request: Request) -> Response:
        """The name and scope of the token of the request: what the dashboard may offer."""
        token: ApiToken = request.scope[_TOKEN_KEY]
        return ok({"name": token.name, "scope": str(token.scope)})

    async def audit(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"), AUDIT_LIMIT, AUDIT_MAX_LIMIT)
        action = _action(params["action"]) if params.get("action") else None
        page = await run_in_threadpool(self.store.audit, limit, params.get("cursor") or None, action,
                                       params.get("target") or None)  # fmt: skip
        return ok(page.to_json())

    async def message(self, request: Request) -> Response:
        message_id = request.path_params["message_id"]
        part = MessagePart.parse(dict(request.query_params))
        view = await run_in_threadpool(self.store.message, message_id, part)
        if view is None:
            return error(404, f"message {message_id} not found")
        return ok(view.to_json())

    async def messages(self, request: Request) -> Response:
        query = MessageQuery.parse(dict(request.query_params))
        page = await run_in_threadpool(self.store.messages, query)
        return ok(page.to_json())

    async def activity(self, request: Request) -> Response:
        query = ActivityQuery.parse(dict(request.query_params))
        page = await run_in_threadpool(self.store.activity, query)
        return ok(page.to_json())

    async def activity_csv(self, request: Request) -> Response:
        """Every row the filters match, as CSV, a page at a time: memory stays flat whatever the count.
        The first page is read before answering, so a bad filter or a storage error is a JSON error."""
        pages = self.store.activity_export(Filters.parse(dict(request.query_params)))
        first: list[ActivityRow] = await run_in_threadpool(next, pages, [])

        async def body() -> AsyncIterator[str]:
            yield csv_text(first, header=True)
            try:
                async for rows in iterate_in_threadpool(pages):
                    yield csv_text(rows)
            except StorageError:  # the answer has begun: the download ends short, and the log says why
                logger.error("activity export interrupted: storage unavailable")
                raise

        headers = {"Content-Disposition": 'attachment; filename="mailfate-activity.csv"', "Cache-Control": "no-store"}
        return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)

    async def recipient(self, request: Request) -> Response:
        """An address's messages and suppression; one never seen has none (200). What is not an address
        is a bad request, by the rule of the check, with a pointer to the message lookup when it could
        be a message id."""
        given = request.path_params["address"]
        try:
            address = one_address(given)
        except NotAnAddress as exc:
            if exc.message_id:
                raise UsageError(f"{exc}; a message id? GET /api/messages/{quote(given, safe='')}") from exc
            raise
        params = request.query_params
        limit = parse_limit(params.get("limit"), RECIPIENT_LIMIT, RECIPIENT_MAX_LIMIT)
        cursor = decode_cursor(params["cursor"], 2) if params.get("cursor") else None
        view = await run_in_threadpool(self.store.recipient, address, limit, (cursor[0], cursor[1]) if cursor else None)
        return ok(view.to_json())

    async def suppressions(self, request: Request) -> Response:
        """A page of the list, as a JSON array; a ``Link: <...>; rel="next"`` header leads to the next."""
        params = request.query_params
        limit = parse_limit(params.get("limit"), SUPPRESSION_LIMIT, SUPPRESSION_MAX_LIMIT)
        after = decode_cursor(params["cursor"], 1)[0] if params.get("cursor") else None
        contains = params.get("contains", "").strip().lower() or None
        found = await run_in_threadpool(self.store.suppressions, after, limit + 1, contains)
        last = found[limit - 1].address if len(found) > limit else None
        found = found[:limit]
        headers = {}
        if last is not None:
            following = {
                "limit": str(limit),
                "cursor": encode_cursor(last),
                **({"contains": contains} if contains else {}),
            }
            headers["Link"] = f'<{request.url.path}?{urlencode(following)}>; rel="next"'
        return ok([s.to_item() for s in found], headers=headers)

    async def suppress(self, request: Request) -> Response:
        address = email_address(request.path_params["address"])
        reason, at = await _reason(request), format_timestamp(_now())
        audit = _entry(request, at, AuditAction.SUPPRESS, address, reason)
        await run_in_threadpool(self.store.add_action, address, Action("suppress", at, reason), audit)
        return await self._suppression_state(address)

    async def unsuppress(self, request: Request) -> Response:
        """Lift a suppression; an optional body ``{"reason": "..."}`` is kept with the lift. Without
        one (the API's contract keeps it optional) the audit trail says no reason was given."""
        address = email_address(request.path_params["address"])
        reason = await _reason(request)
        if await run_in_threadpool(self.store.suppression, address) is None:
            return error(404, f"{address} is not suppressed")
        at = format_timestamp(_now())
        audit = _entry(request, at, AuditAction.UNSUPPRESS, address, reason)
        await run_in_threadpool(self.store.add_action, address, Action("lift", at, reason), audit)
        return await self._suppression_state(address)

    async def forget(self, request: Request) -> Response:
        """``DELETE /api/recipients/{address}``: erase the address (docs/privacy.md)."""
        address = email_address(request.path_params["address"])
        if self.policy.erasure_key is None:
            return error(501, "erasing an address needs MAILFATE_ERASURE_KEY set on the server")
        entry = _entry(request, format_timestamp(_now()), AuditAction.FORGET, address, await _reason(request))
        erasure = await run_in_threadpool(self.store.forget, address, None, entry)
        return ok(erasure.to_json())

    async def _suppression_state(self, address: str) -> Response:
        current = await run_in_threadpool(self.store.suppression, address)
        return ok({"address": address, "suppressed": current is not None,
                   "suppression": current.to_json() if current else None})  # fmt: skip

    async def check(self, request: Request) -> Response:
        """``POST /api/check``: a JSON array of addresses; one answer each, in order."""
        given = _json_body(await request.body(), "body must be a JSON array of addresses")
        if not isinstance(given, list):
            raise UsageError("body must be a JSON array of addresses")
        if len(given) > MAX_ADDRESSES:
            raise UsageError(f"at most {MAX_ADDRESSES} addresses per check, not {len(given)}")
        found = await run_in_threadpool(self.store.check, given)
        return ok([result.to_json() for result in found])

    async def check_one(self, request: Request) -> Response:
        """``GET /api/check/{address}``: the answer for one address; a malformed one is a bad request."""
        (result,) = await run_in_threadpool(self.store.check, [request.path_params["address"]])
        if result.error is not None:
            raise UsageError(result.error)
        return ok(result.to_json())

    async def stats(self, request: Request) -> Response:
        params = request.query_params
        query = StatsQuery.parse(params.get("since"), params.get("until"), params.get("group_by"), _now())
        stats = await run_in_threadpool(self.store.stats, query, self.resolve)
        return ok(stats.to_json())

    async def diagnostics(self, request: Request) -> Response:
        params = request.query_params
        query = DiagnosticsQuery.parse(
            params.get("since"), params.get("until"), params.get("provider"), params.get("limit"), _now()
        )
        found = await run_in_threadpool(self.store.diagnostics, query, self.resolve)
        return ok(found.to_json())

    async def quarantine(self, request: Request) -> Response:
        """The newest quarantined records, each with a preview of its body (one body: by its id)."""
        limit = _whole(request.query_params.get("limit", "100"), "limit", 1, 1000)
        items = await run_in_threadpool(self.store.quarantined, limit)
        return ok([item.to_json() for item in items])

    async def quarantine_item(self, request: Request) -> Response:
        raw = request.path_params["item_id"]
        item_id = _whole(raw, "quarantine id", 1, 2**62) if raw.isdigit() else None
        item = await run_in_threadpool(self.store.quarantined_item, item_id) if item_id is not None else None
        if item is None:
            return error(404, f"quarantined record {raw[:40]} not found")
        return ok(item.to_json_with_body())

    async def changes(self, request: Request) -> Response:
        after = _whole(request.query_params.get("after", "0"), "after", 0, 2**62)
        limit = _whole(request.query_params.get("limit", "100"), "limit", 1, 1000)
        found = await run_in_threadpool(self.store.changes, after, limit)
        return ok([change.to_json() for change in found])

    async def webhooks(self, request: Request) -> Response:
        found = await run_in_threadpool(self.store.webhooks, self.webhook_urls)
        return ok(listed(found))

    async def healthz(self, request: Request) -> Response:
        return ok({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.store.ping)
        except StorageError as exc:
            return error(503, f"storage unreachable: {exc}")
        return ok({"status": "ready"})


def _now() -> datetime:
    return datetime.now(UTC)


def actor(request: Request) -> str:
    """The name of the token that let ``request`` in: the actor of what it does, in the audit trail."""
    token: ApiToken = request.scope[_TOKEN_KEY]
    return token.name


def _entry(request: Request, at: str, action: AuditAction, target: str, reason: str | None) -> AuditEntry:
    return AuditEntry(at, actor(request), action, target, reason_or_default(reason))


def _action(raw: str) -> AuditAction:
    try:
        return parse_action(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


async def _reason(request: Request) -> str | None:
    """The reason of an optional ``{"reason": "..."}`` body; None without one."""
    body = await request.body()
    if not body.strip():
        return None
    given = _json_body(body, 'body must be JSON: {"reason": "..."}')
    if not isinstance(given, dict) or not isinstance(given.get("reason", ""), str):
        raise UsageError('body must be {"reason": "..."}')
    reason: str = given.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise UsageError(f"reason is over {MAX_REASON} characters")
    return reason or None


def _json_body(body: bytes, expected: str) -> Any:
    try:
        return loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep for the decoder
        raise UsageError(expected) from exc


def _whole(raw: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise UsageError(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high}")
    return value
