"""``mailfate serve``: the app under uvicorn, a production ASGI server (uvloop, httptools)."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import os
import sys
from dataclasses import replace

from mailfate.cli.base import Command
from mailfate.errors import UsageError
from mailfate.settings import Settings
from mailfate.store import open_store


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


def serve(host: str, port: int, workers: int = 1, db: str | None = None) -> int:
    settings = Settings.from_env()
    if db:
        os.environ["MAILFATE_DB"] = db  # worker processes read their settings from the environment
        settings = replace(settings, db=db)
    if not is_loopback(host) and settings.api_token is None:
        raise UsageError(f"refusing to listen on {host} without MAILFATE_API_TOKEN: the API would be open to anyone")
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if workers > 1:
        # Each worker opens the store for itself. Open it here first: a database that cannot be reached
        # is then one line and exit 1 (not workers failing for ever), and one process migrates it.
        open_store(settings.database_url, policy=settings.policy).close()
    import uvicorn  # here, not at the top: every other command starts faster without it

    options = {
        "host": host,
        "port": port,
        "log_level": "warning",  # mailfate logs its own structured lines; uvicorn's access log is off
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": 30,  # SNS keeps connections alive between deliveries
        "backlog": 2048,
        "proxy_headers": False,  # mailfate uses no client address; the middleware would only cost time
    }
    print(f"mailfate: serving on http://{host}:{port} ({workers} worker{'s' if workers > 1 else ''})", file=sys.stderr)
    if workers == 1:
        from mailfate.web.app import create_app

        app = create_app(settings)
        gc.freeze()  # what start-up allocated lives for ever: keep it out of every collection
        uvicorn.run(app, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run("mailfate.web.app:factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
    return 0
