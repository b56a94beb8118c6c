"""The ASGI application that ``mailfate serve`` runs: routes, lifecycle, and the error shape."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mailfate.core import roles
from mailfate.logs import configure, logger, redact_url
from mailfate.metrics import SNS
from mailfate.outbound.alerts import ReputationWatch
from mailfate.outbound.webhooks import WebhookSender
from mailfate.settings import Settings, unknown_settings
from mailfate.sns.certs import CertificateCache
from mailfate.sns.confirm import Confirmer
from mailfate.sns.verify import Verifier
from mailfate.store import Store, open_store
from mailfate.web import connections, dashboard
from mailfate.web.actions import Actions
from mailfate.web.api import Api
from mailfate.web.checkpoints import Checkpoints
from mailfate.web.commit import CommitQueue
from mailfate.web.guards import Guards
from mailfate.web.metrics import Metrics
from mailfate.web.openapi import PATHS, document
from mailfate.web.responses import error, ok
from mailfate.web.retention import RetentionTask
from mailfate.web.sns_endpoint import Receive, Scope, Send, SnsWebhook


class AnyText(Convertor[str]):
    """A path parameter that is any text: "/" and line breaks included (Starlette's ``path`` stops at a
    line break, so such an id or address would be a 404 instead of an answer about it)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("text", AnyText())


class MailfateApp:
    """Starlette for everything but the hot path: POST /sns goes straight to the webhook, past the
    framework's middleware (the same webhook also sits behind the Route, for identical behaviour).
    Every request first passes the guards (host, cross-site writes, query parameters, body size)."""

    def __init__(self, framework: Starlette, webhook: SnsWebhook, allowed_hosts: frozenset[str] | None) -> None:
        self.framework = framework
        self.webhook = webhook
        self.routes = framework.routes
        self.guarded = Guards(self._dispatch, PATHS, allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.guarded(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/sns" and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
        else:
            await self.framework(scope, receive, send)


def create_app(settings: Settings | None = None, store: Store | None = None) -> MailfateApp:
    """Build the app from ``settings`` (default: the environment). Storage opens at startup."""
    settings = settings or Settings.from_env()
    configure(settings.log_level)
    connections.configure(
        settings.max_connections,
        settings.header_timeout,
        settings.body_timeout,
        settings.send_timeout,
        settings.max_body_memory,
    )
    store = store or open_store(settings.database_url, policy=settings.policy)
    commits = CommitQueue(store, limits=settings.quarantine)
    certificates = CertificateCache(
        certs_dir=settings.sns_certs_dir, max_size=settings.cert_cache_size, ttl=settings.cert_cache_ttl
    )
    verifier = Verifier(certificates, settings.topic_arns)
    webhook = SnsWebhook(
        verifier=verifier,
        confirmer=Confirmer(settings.confirm),
        commits=commits,
        basic_auth=settings.basic_auth,
        # Without an allowlist any topic's confirmation would be honoured: never auto-confirm then.
        auto_confirm=settings.topic_arns is not None,
    )
    webhooks = settings.webhooks
    sender = WebhookSender(store, webhooks) if webhooks else None
    watch = ReputationWatch(store, settings.alerts, settings.alert_interval)
    retention = RetentionTask(store, settings.retention)
    checkpoints = Checkpoints(store)
    urls = (*webhooks.urls, *webhooks.alert_urls) if webhooks else ()
    api = Api(store, settings.tokens, settings.policy, urls, settings.mx_lookup())
    metrics = Metrics(store, settings.alerts, urls)
    actions = Actions(store, verifier, urls)
    openapi = document()

    async def openapi_json(request: Request) -> Response:
        return ok(openapi)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.topic_arns is None:
            logger.warning("MAILFATE_TOPIC_ARNS is not set: every topic is accepted, no subscription is confirmed")
        for name in unknown_settings():
            logger.warning("unknown setting ignored", extra={"setting": name})
        if sender:
            sender.start()
        watch.start()
        retention.start()
        checkpoints.start()
        logger.info("mailfate.ready", extra={"db": redact_url(store.url), "confirm": settings.confirm})
        try:
            yield
        finally:
            watch.stop()
            retention.stop()
            checkpoints.stop()
            if sender:
                sender.stop()  # what it has not sent stays in the outbox for the next start
            commits.close()
            SNS.flush()  # the last requests' counts, for the workers that go on
            store.close()  # no commit is pending: a request is answered only after its batch is written

    routes = [
        Route("/sns", webhook, methods=["POST"]),
        Route("/api/messages", api.guard(api.messages), methods=["GET"]),
        Route("/api/activity", api.guard(api.activity), methods=["GET"]),
        Route("/api/activity.csv", api.guard(api.activity_csv), methods=["GET"]),
        Route("/api/messages/{message_id:text}", api.guard(api.message), methods=["GET"]),
        Route("/api/recipients/{address:text}", api.guard(api.recipient), methods=["GET"]),
        Route("/api/recipients/{address:text}", api.guard(api.forget), methods=["DELETE"]),
        Route("/api/quarantine", api.guard(api.quarantine), methods=["GET"]),
        Route("/api/quarantine/{item_id}", api.guard(api.quarantine_item), methods=["GET"]),
        # What an operator does by hand: every write route of these actions passes actions.act.
        Route("/api/quarantine/replay", api.guard(actions.act("replay", actions.replay_many)), methods=["POST"]),
        Route("/api/quarantine/dismiss", api.guard(actions.act("dismiss", actions.dismiss_many)), methods=["POST"]),
        Route("/api/quarantine/{item_id}/replay", api.guard(actions.act("replay", actions.replay)), methods=["POST"]),
        Route("/api/quarantine/{item_id}", api.guard(actions.act("dismiss", actions.dismiss)), methods=["DELETE"]),
        Route("/api/webhooks/redeliver", api.guard(actions.act("redeliver", actions.redeliver)), methods=["POST"]),
        Route("/api/suppressions", api.guard(api.suppressions), methods=["GET"]),
        Route("/api/suppressions/{address:text}", api.guard(api.suppress), methods=["PUT"]),
        Route("/api/suppressions/{address:text}", api.guard(api.unsuppress), methods=["DELETE"]),
        # A check before sending reads (an application's read token may ask it), though it is a POST.
        Route("/api/check", api.guard(api.check, needs=roles.Scope.READ), methods=["POST"]),
        Route("/api/check/{address:text}", api.guard(api.check_one), methods=["GET"]),
        Route("/api/stats", api.guard(api.stats), methods=["GET"]),
        Route("/api/diagnostics", api.guard(api.diagnostics), methods=["GET"]),
        Route("/api/changes", api.guard(api.changes), methods=["GET"]),
        Route("/api/webhooks", api.guard(api.webhooks), methods=["GET"]),
        Route("/metrics", api.guard(metrics), methods=["GET"]),
        Route("/api/audit", api.guard(api.audit), methods=["GET"]),
        Route("/api/whoami", api.guard(api.whoami), methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *dashboard.routes(),
    ]
    framework = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, ClientDisconnect: _gone, Exception: _server_error},
    )
    return MailfateApp(framework, webhook, settings.allowed_hosts)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return error(status, str(detail))


async def _gone(request: Request, exc: Exception) -> Response:
    # The client left (or was closed for sending its body too slowly): no one reads an answer.
    return Response(status_code=400)


async def _server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log, never to the client.
    logger.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return error(500, "internal error")


def factory() -> MailfateApp:
    """Entry point for ``uvicorn --factory`` (several workers import the app by name)."""
    share_the_gil()
    return create_app()


#: How long a thread holding the GIL keeps it from one that waits (Python's default: 5 ms).
SWITCH_INTERVAL = 0.0005


def share_the_gil() -> None:
    """Set, in a server's process, how soon a thread waiting for the GIL gets it.

    The threads that wait on I/O (the PostgreSQL writer, certificate downloads, the senders) get the GIL
    back from a busy event loop only when it gives it up, by default after 5 ms. The writer waits on
    the network a dozen times per batch: that was most of a batch. bench/http_ingest.py, PostgreSQL 2
    workers: about a fifth more notifications per second at 0.5 ms. Not done by create_app: the switch
    interval is the whole process's, and an application that embeds mailfate decides its own."""
    sys.setswitchinterval(SWITCH_INTERVAL)
