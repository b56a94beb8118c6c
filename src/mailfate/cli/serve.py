"""``mailfate serve``: the app under uvicorn, a production ASGI server (uvloop, httptools).

The port is bound before anything else happens and before anything is printed: a port in use is one
line that says so, and exit status 1, never a "serving" line followed by an error. SIGTERM and SIGINT
(Ctrl-C) stop it gracefully: requests in flight get GRACEFUL_SECONDS, then it logs ``mailfate.stopped``
and exits 0, since being asked to stop is not a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import ipaddress
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from mailfate.cli.base import Command
from mailfate.core.wording import counted
from mailfate.errors import MailfateError, UsageError
from mailfate.logs import configure, logger
from mailfate.settings import Settings
from mailfate.store import open_store

#: uvicorn's protocol with header and body deadlines and a connection cap (see web/connections.py).
PROTOCOL = "mailfate.web.connections:GuardedHttpToolsProtocol"
#: An API token shorter than this is warned about at start (as long as MAILFATE_WEBHOOK_SECRET must be).
STRONG_TOKEN = 16
#: On SIGTERM, requests in flight get this long to finish before their connections are closed.
GRACEFUL_SECONDS = 5


def add_commands(command: Command) -> None:
    serve = command("serve", cmd_serve, "serve POST /sns, the JSON API and the dashboard over HTTP", db="writes")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8025, help="port (default 8025)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(host=args.host, port=args.port, workers=args.workers, db=args.db)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(host: str, port: int) -> str:
    """MAILFATE_ALLOWED_HOSTS when it is not set: on loopback the server's own names with its port (a
    page whose domain re-resolves to 127.0.0.1 sends its own name, and is refused); elsewhere any
    name, since the API token is required there."""
    if not is_loopback(host):
        return "*"
    own = f"[{host.strip('[]')}]" if ":" in host else host
    return ",".join(sorted({f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"{own.lower()}:{port}"}))


def listen(host: str, port: int, option: str = "--port") -> socket.socket:
    """The listening socket, or a MailfateError whose one line says why not; a port in use suggests
    another ``option``, the way the port was given."""
    literal = host.strip("[]")
    family = socket.AF_INET6 if ":" in literal else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
        sock.bind((literal, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        hint = f" (another {option}, or stop what uses {port})" if exc.errno == errno.EADDRINUSE else ""
        raise MailfateError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    sock.set_inheritable(True)  # the worker processes accept on it
    return sock


def serve(host: str, port: int, workers: int = 1, db: str | None = None) -> int:
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    # Worker processes read their settings from the environment: put what the command line decided there.
    if db:
        os.environ["MAILFATE_DB"] = db
    if not os.environ.get("MAILFATE_ALLOWED_HOSTS", "").strip():
        os.environ["MAILFATE_ALLOWED_HOSTS"] = default_allowed_hosts(host, port)
    settings = Settings.from_env()  # every setting checked before anything starts
    if not is_loopback(host) and not settings.tokens:
        raise UsageError(
            f"refusing to listen on {host} without MAILFATE_API_TOKEN or MAILFATE_API_TOKENS: "
            "the API would be open to anyone"
        )
    import uvicorn  # here, not at the top: every other command starts faster without it

    # Under make (make run PORT=8090) the port was given as PORT=: a port in use says so.
    sock = listen(host, port, "PORT=" if os.environ.get("MAKELEVEL") else "--port")
    options: dict[str, Any] = {
        "log_level": "warning",  # mailfate logs its own structured lines; uvicorn's access log is off
        "access_log": False,
        "server_header": False,
        "http": PROTOCOL,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "backlog": 2048,
        "proxy_headers": False,  # mailfate uses no client address; the middleware would only cost time
    }
    configure(settings.log_level)
    advice = f"use {STRONG_TOKEN} characters or more: python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
    for token in settings.tokens:
        if len(token.secret) < STRONG_TOKEN:
            # A warning, not a refusal: the token is the operator's, and scripts and tests may use short ones.
            fields = {"name": token.name, "length": len(token.secret), "advice": advice}
            logger.warning("mailfate.weak_api_token", extra={"fields": fields})
    stopped_by = None
    metrics_dir = None
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        if workers == 1:
            from mailfate.web.app import create_app, share_the_gil

            share_the_gil()
            app = create_app(settings)  # opens (and migrates) the database: a failure ends here, in one line
            gc.freeze()  # what start-up allocated lives for ever: keep it out of every collection
            _started(host, port, workers)
            # uvicorn shuts down gracefully on SIGTERM and SIGINT, then raises the signal again so that the
            # process ends as that signal would end it (143, 130): here that ends in the except below.
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
        else:
            from uvicorn.supervisors import Multiprocess

            # Open (and migrate) the database once here: a failure is one line, not one per worker.
            open_store(settings.database_url, policy=settings.policy).close()
            metrics_dir = shared_metrics()
            config = uvicorn.Config("mailfate.web.app:factory", factory=True, workers=workers, **options)
            _started(host, port, workers)
            Multiprocess(config, sockets=[sock]).run()  # stops its workers on SIGTERM and SIGINT, and returns
    except _Stopped:
        stopped_by = "SIGTERM"
    except KeyboardInterrupt:
        stopped_by = "SIGINT"
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    logger.info("mailfate.stopped", extra={"fields": {"signal": stopped_by} if stopped_by else {}})
    return 0


#: The directories where the workers of one run share their counts: one per run, named after its process.
METRICS_PREFIX = "mailfate-metrics-"


def shared_metrics() -> str:
    """A new directory for this run's workers to write their counts to (docs/operations.md), set in the
    environment they start with. Directories left by earlier runs whose process is gone are removed."""
    temp = Path(tempfile.gettempdir())
    for old in temp.glob(f"{METRICS_PREFIX}*-*"):
        pid = old.name[len(METRICS_PREFIX) :].split("-", 1)[0]
        with contextlib.suppress(OSError):
            if pid.isdigit() and old.stat().st_uid == os.getuid() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    directory = tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{os.getpid()}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class _Stopped(Exception):
    """SIGTERM arrived: the server has shut down gracefully (or had not started serving yet)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def _started(host: str, port: int, workers: int) -> None:
    print(f"mailfate: serving on http://{host}:{port} ({counted(workers, 'worker')})", file=sys.stderr, flush=True)
