"""``mailfate serve``: the app under uvicorn, a production ASGI server (uvloop, httptools)."""

from __future__ import annotations

import gc
import ipaddress
import os
import sys
from dataclasses import replace

import uvicorn

from .errors import UsageError
from .settings import Settings


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
        from .web.app import create_app

        app = create_app(settings)
        gc.freeze()  # what start-up allocated lives for ever: keep it out of every collection
        uvicorn.run(app, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run("mailfate.web.app:factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
    return 0
