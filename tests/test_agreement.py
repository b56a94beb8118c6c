"""Every surface gives the same answer about an address's suppression, on both backends.

The library (``store.recipient``, ``store.check``, ``store.suppression``, ``store.suppressions``), the
HTTP API (``GET /api/recipients/{address}``, ``GET`` and ``POST /api/check``, ``GET /api/suppressions``,
which is also what the dashboard reads), the command line (``recipient --json``, ``check --json``,
``suppressions --json``) and the change feed (the latest suppression change of each address) are asked
about one address of every kind: suppressed for a bounce, a complaint, soft bounces, by hand; a
soft-bounce suppression that expired after it was kept; one lifted by hand; one never in trouble.

Two more addresses prove that no surface decides on its own: the store is made to keep a suppression
that no fact supports, and to forget one that the facts do support. Every surface must then repeat
what the store keeps, which a surface that computed suppression for itself would not.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from mailfate.cli.main import main
from mailfate.core.timestamps import format_timestamp, parse_timestamp
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest
from .support import Server, request

pytestmark = pytest.mark.server

PLANTED = {"reason": "complaint", "since": "2026-01-02T03:04:05.000Z", "expires_at": None,
           "event": {"kind": "Complaint", "message_id": "planted", "timestamp": "2026-01-02T03:04:05.000Z",
                     "feedback_type": "abuse"}}  # fmt: skip
EXPECTED = {
    "bounced@example.com": "bounce",
    "complained@example.com": "complaint",
    "soft@example.com": "soft_bounce",
    "byhand@example.com": "manual",
    "expired@example.com": None,
    "lifted@example.com": None,
    "clean@example.com": None,
    "planted@example.com": "complaint",  # kept, though no fact says so
    "forgotten@example.com": None,  # not kept, though a hard bounce says so
}


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def seed(store: Store, server: Server, now: datetime) -> str:
    """Every kind of address; returns when the soft-bounce suppression of expired@ ends (seconds away)."""
    soft = [now - timedelta(days=3), now - timedelta(days=2), now - timedelta(days=1)]
    # Three soft bounces whose suppression ends 30 days after the last: a few seconds from now.
    ending = [
        now - timedelta(days=30, hours=2),
        now - timedelta(days=30, hours=1),
        now - timedelta(days=30) + timedelta(seconds=4),
    ]
    records = [
        bounce_event("m-b", ["bounced@example.com"], stamp(now - timedelta(days=1)), "Permanent", "General", "5.1.1"),
        event("Complaint", "m-c", ["complained@example.com"], stamp(now - timedelta(hours=5))),
        *[bounce_event(f"m-s{n}", ["soft@example.com"], stamp(t), "Transient", "MailboxFull", "4.2.2")
          for n, t in enumerate(soft)],
        *[bounce_event(f"m-e{n}", ["expired@example.com"], stamp(t), "Transient", "MailboxFull", "4.2.2")
          for n, t in enumerate(ending)],
        bounce_event("m-l", ["lifted@example.com"], stamp(now - timedelta(days=2)), "Permanent", "General", "5.1.1"),
        event("Delivery", "m-ok", ["clean@example.com"], stamp(now - timedelta(hours=1))),
        bounce_event("m-f", ["forgotten@example.com"], stamp(now - timedelta(days=1)), "Permanent", "General"),
    ]  # fmt: skip
    ingest(store, records)
    put = request(server.port, "PUT", "/api/suppressions/byhand%40example.com", b'{"reason": "asked us to stop"}')
    assert put.status == 200
    assert request(server.port, "DELETE", "/api/suppressions/lifted%40example.com").status == 200
    expiring = store.suppression("expired@example.com")
    assert expiring is not None  # kept while it lasts: the scenario is real
    assert expiring.reason == "soft_bounce"
    assert expiring.expires_at is not None
    with store._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute(
            "INSERT INTO suppression_state (address, expires_at, payload) VALUES (?, NULL, ?)",
            ("planted@example.com", json.dumps(PLANTED)),
        )
        tx.execute("DELETE FROM suppression_state WHERE address = 'forgotten@example.com'")
    return expiring.expires_at


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    with contextlib.redirect_stderr(io.StringIO()):
        main(list(argv))
    return json.loads(capsys.readouterr().out)


def answers(store: Store, server: Server, db: str, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """What each surface says of each address: its suppression as JSON, or None."""
    said: dict[str, dict[str, Any]] = {address: {} for address in EXPECTED}
    addresses = list(EXPECTED)
    listed = {s.address: s.to_json() for s in store.suppressions()}
    for address, result in zip(addresses, store.check(addresses), strict=True):
        said[address]["store.check"] = result.to_json()["suppression"]
    for address in addresses:
        view = store.recipient(address).to_json()
        assert view["suppressed"] is (view["suppression"] is not None)
        said[address]["store.recipient"] = view["suppression"]
        found = store.suppression(address)
        said[address]["store.suppression"] = found.to_json() if found else None
        said[address]["store.suppressions"] = listed.get(address)

    posted = request(server.port, "POST", "/api/check", json.dumps(addresses).encode()).json()
    page = request(server.port, "GET", "/api/suppressions?limit=1000")
    assert "link" not in page.headers  # one page holds them all
    api_listed = {item.pop("address"): item for item in page.json()}
    for address, item in zip(addresses, posted, strict=True):
        said[address]["POST /api/check"] = item["suppression"]
        said[address]["GET /api/suppressions (dashboard)"] = api_listed.get(address)
        one = request(server.port, "GET", f"/api/check/{quote(address)}").json()
        said[address]["GET /api/check"] = one["suppression"]
        assert one["allowed"] is (one["suppression"] is None)
        view = request(server.port, "GET", f"/api/recipients/{quote(address)}").json()
        said[address]["GET /api/recipients (dashboard)"] = view["suppression"]
        assert view["suppressed"] is (view["suppression"] is not None)

    cli_listed = {item.pop("address"): item for item in cli(capsys, "suppressions", "--json", "--db", db)}
    cli_checked = cli(capsys, "check", *addresses, "--json", "--db", db)
    for address, item in zip(addresses, cli_checked, strict=True):
        said[address]["mailfate check --json"] = item["suppression"]
        said[address]["mailfate suppressions --json"] = cli_listed.get(address)
        said[address]["mailfate recipient --json"] = cli(capsys, "recipient", address, "--json", "--db", db)[
            "suppression"
        ]

    feed = request(server.port, "GET", "/api/changes?limit=1000").json()
    latest = {c["address"]: c["suppression"] for c in feed if c["type"] == "suppression"}
    for address in addresses:
        if address not in ("planted@example.com", "forgotten@example.com"):  # the feed saw no tampering
            said[address]["GET /api/changes (latest)"] = latest.get(address)
    return said


def test_every_surface_gives_the_same_answer(
    store_url: str, servers: Callable[..., Server], capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(store_url)
    server = servers(db=store_url)
    try:
        ends = seed(store, server, datetime.now(UTC))
        # Past the end of expired@'s suppression: nothing is written, yet every surface must see it end.
        time.sleep(max(0.0, min(10.0, (parse_timestamp(ends) - datetime.now(UTC)).total_seconds() + 0.5)))
        said = answers(store, server, store_url, capsys)
    finally:
        store.close()
    for address, reason in EXPECTED.items():
        by_surface = said[address]
        values = {json.dumps(v, sort_keys=True) for v in by_surface.values()}
        assert len(values) == 1, f"{address}: the surfaces disagree: {json.dumps(by_surface, indent=1)}"
        (answer,) = {json.dumps(v, sort_keys=True): v for v in by_surface.values()}.values()
        assert (answer or {}).get("reason") == reason, f"{address}: {answer}"
    assert said["byhand@example.com"]["store.check"]["event"] == {"kind": "manual", "reason": "asked us to stop"}
    assert said["planted@example.com"]["store.check"] == PLANTED
    assert said["bounced@example.com"]["store.check"]["event"]["message_id"] == "m-b"


def test_the_dashboard_reads_those_endpoints() -> None:
    """The page shows what the API says; it has no suppression logic of its own to disagree with."""
    scripts = sorted((Path(__file__).parent.parent / "src/mailfate/web/static/js").glob("*.js"))
    script = "\n".join(path.read_text() for path in scripts)
    assert "/api/recipients/" in script
    assert "/api/suppressions?" in script
    read = set(re.findall(r"view\.suppress\w*", script))
    assert read
    assert read <= {"view.suppressed", "view.suppression"}
    # No rule is spelled out in the page: the reason soft_bounce is never a string it compares with (the
    # status soft_bounced is the API's word for a fate; the diagnostics panel names its kinds as keys of
    # a table of labels, which decides nothing).
    assert re.search(r"""["'`]soft_bounce["'`]""", script) is None
