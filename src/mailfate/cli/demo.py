"""``mailfate demo``: the built-in sample, dated as if sent in the last hours, and each fate it leads to.

Without ``--db`` the sample goes into a temporary database, deleted afterwards. With ``--db URL`` it
goes into that database, once, so that ``mailfate serve`` then shows a dashboard with something in it
(``make run`` does this).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from mailfate.cli import render
from mailfate.cli.base import OK, Command
from mailfate.core.timestamps import format_timestamp, parse_timestamp
from mailfate.core.views import IngestResult, MessageView
from mailfate.errors import UsageError
from mailfate.logs import redact_url
from mailfate.settings import Settings
from mailfate.sources.ingest import ingest_stream
from mailfate.store import Store, open_store

DEMO_MESSAGES = (
    "demo-auto-reply-1",
    "demo-auto-reply-2",
    "demo-late-hard-bounce",
    "demo-complaint",
    "demo-newsletter",
)
#: How long before now the sample's last event happened.
LAST_EVENT_AGO = timedelta(minutes=1)
# Every timestamp of the sample, wherever it is (inside SNS envelopes' Message strings too).
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def add_commands(command: Command) -> None:
    demo = command(
        "demo",
        cmd_demo,
        "ingest a built-in sample, dated in the last hours, and show each fate",
        db="writes",
        db_help="load the sample into this database, once, for serve to show (default: a temporary one)",
    )
    demo.add_argument("--json", action="store_true", help="print the ingest summary and the messages as JSON")
    demo.add_argument(
        "--port", type=int, default=8025, help="the port serve will show the dashboard on, for the link (default 8025)"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(db=args.db, as_json=args.json, port=args.port)


def dated(sample: bytes, now: datetime) -> bytes:
    """The sample with every timestamp moved by one offset, so that its last event was just before ``now``:
    the events keep their order and spacing, and fall inside the dashboard's 7-day window."""
    stamps = [parse_timestamp(found.decode()) for found in _TIMESTAMP.findall(sample)]
    if not stamps:
        return sample
    shift = timedelta(seconds=round((now - LAST_EVENT_AGO - max(stamps)).total_seconds()))
    return _TIMESTAMP.sub(lambda m: format_timestamp(parse_timestamp(m.group().decode()) + shift).encode(), sample)


def run_demo(db: str | None = None, as_json: bool = False, port: int = 8025) -> int:
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    if db is None:
        with tempfile.TemporaryDirectory(prefix="mailfate-demo-") as folder:
            store = open_store(f"sqlite:///{Path(folder) / 'demo.db'}")
            try:
                result, views = _load(store)
            finally:
                store.close()
    else:
        store = open_store(db, policy=Settings.from_env().policy)
        try:
            result, views = _load(store)
        finally:
            store.close()
    if as_json:
        print(json.dumps({"ingest": result and result.to_json(), "messages": [v.to_json() for v in views]}, indent=2))
        return OK
    if result is None:
        print(f"The built-in sample is already in {redact_url(str(db))}; its fates are:")
    else:
        print(f"Ingested the built-in sample: {render.summary_text(result)}.")
    print("Events arrive out of order and twice; each fate below depends only on which events happened.\n")
    for view in views:
        print(render.message_text(view))
        print()
    if db is None:
        print("Try it on your own data: mailfate ingest FILE... then mailfate status MESSAGE_ID")
    else:
        serve = f"mailfate serve --db {redact_url(db)}" + (f" --port {port}" if port != 8025 else "")
        print(f"See them on the dashboard: {serve}, then http://127.0.0.1:{port}/")
    return OK


def _load(store: Store) -> tuple[IngestResult | None, list[MessageView]]:
    """Ingest the sample unless it is there already (None then); and the demo's messages as stored."""
    result = None
    if store.message(DEMO_MESSAGES[-1]) is None:
        sample = resources.files("mailfate").joinpath("samples", "demo.jsonl").read_bytes()
        result = ingest_stream(store, io.BytesIO(dated(sample, datetime.now(UTC))), name="demo.jsonl")
    views = [store.message(message_id) for message_id in DEMO_MESSAGES]
    return result, [v for v in views if v is not None]
