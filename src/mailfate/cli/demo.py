"""``mailfate demo``: the built-in sample, ingested into a throwaway database, fates printed."""

from __future__ import annotations

import argparse
import json
import tempfile
from importlib import resources
from pathlib import Path

from mailfate.cli import render
from mailfate.cli.base import Command
from mailfate.sources.ingest import ingest_stream
from mailfate.store import open_store

DEMO_MESSAGES = (
    "demo-auto-reply-1",
    "demo-auto-reply-2",
    "demo-late-hard-bounce",
    "demo-complaint",
    "demo-newsletter",
)


def add_commands(command: Command) -> None:
    demo = command("demo", cmd_demo, "ingest a built-in sample into a temporary database and show the fates")
    demo.add_argument("--json", action="store_true")


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(as_json=args.json)


def run_demo(as_json: bool = False) -> int:
    sample = resources.files("mailfate").joinpath("samples", "demo.jsonl")
    with tempfile.TemporaryDirectory(prefix="mailfate-demo-") as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'demo.db'}")
        try:
            with sample.open("rb") as stream:
                result = ingest_stream(store, stream, name="demo.jsonl")
            views = [store.message(message_id) for message_id in DEMO_MESSAGES]
        finally:
            store.close()
    found = [v for v in views if v is not None]
    if as_json:
        print(json.dumps({"ingest": result.to_json(), "messages": [v.to_json() for v in found]}, indent=2))
        return 0
    print(f"Ingested the built-in sample: {render.summary_text(result)}.")
    print("Events arrive out of order and twice; each fate below depends only on which events happened.\n")
    for view in found:
        print(render.message_text(view))
        print()
    print("Try it on your own data: mailfate ingest FILE... then mailfate status MESSAGE_ID")
    return 0
