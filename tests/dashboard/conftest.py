"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, against `mailfate serve`
on a seeded database. A failing test leaves a screenshot next to its other files (pytest's tmp_path)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

CHROMIUM = os.environ.get("MAILFATE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
#: The widths every view is tried at: a desktop, and a phone (an iPhone 12 to 15).
DESKTOP, PHONE = (1280, 900), (390, 844)

# The seeded week: 500 recipients, 30 hard bounces (6%: under review), 3 complaints (0.6%: pause risk).
SENT, HARD_BOUNCES, COMPLAINTS, OLDER_DAYS = 500, 30, 3, 3
#: Within the week, after the complaints: auto-replies (delivered), then soft bounces.
AUTO_REPLIES, SOFT_BOUNCES = 4, 2
HEIDI = 42  # the one recipient called heidi@example.com


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def address(i: int) -> str:
    """The recipient of message i: example.com mostly, example.org for every fifth from 40 on."""
    if i == HEIDI:
        return "heidi@example.com"
    return f"user{i}@{'example.org' if i >= 40 and i % 5 == 0 else 'example.com'}"


def subject(i: int) -> str:
    return f"Password reset for account {i}" if i % 10 == 7 else f"Order {i} confirmed"


def message_id(i: int) -> str:
    return f"0100019c{i:08x}-seed-000000"


def seed_records(now: datetime) -> list[dict[str, Any]]:
    """Messages over the last ten days, one recipient each."""
    records: list[dict[str, Any]] = []
    trouble = HARD_BOUNCES + COMPLAINTS
    for i in range(SENT + OLDER_DAYS * 20):
        in_week = i < SENT
        sent = now - timedelta(days=i % 7 if in_week else 7 + 1 + i % OLDER_DAYS, hours=1, minutes=i % 50)
        mid, to = message_id(i), address(i)
        sent_at, later = stamp(sent), stamp(sent + timedelta(seconds=30))
        group = [event("Send", mid, [to], sent_at, sent_at=sent_at)]
        if in_week and i < HARD_BOUNCES:
            group.append(bounce_event(mid, [to], later, "Permanent", "General", "5.1.1",
                                      "smtp; 550 5.1.1 user unknown", sent_at=sent_at))  # fmt: skip
        elif in_week and trouble + AUTO_REPLIES <= i < trouble + AUTO_REPLIES + SOFT_BOUNCES:
            group.append(bounce_event(mid, [to], later, "Transient", "MailboxFull", "4.2.2",
                                      "smtp; 452 4.2.2 mailbox full", sent_at=sent_at))  # fmt: skip
        else:
            group.append(event("Delivery", mid, [to], later, sent_at=sent_at))
            if in_week and HARD_BOUNCES <= i < trouble:
                group.append(event("Complaint", mid, [to], stamp(sent + timedelta(minutes=5)), sent_at=sent_at))
            if in_week and trouble <= i < trouble + AUTO_REPLIES:
                group.append(bounce_event(mid, [to], stamp(sent + timedelta(minutes=2)), "Transient", "General",
                                          None, "smtp; 250 out of the office", sent_at=sent_at))  # fmt: skip
        for record in group:
            record["mail"]["commonHeaders"]["subject"] = subject(i)
            record["mail"]["tags"]["campaign"] = ["spring" if i % 3 == 0 else "welcome"]
            record["mail"]["tags"]["ses:configuration-set"] = ["marketing" if i % 4 == 0 else "transactional"]
            record["mail"]["configurationSet"] = "marketing" if i % 4 == 0 else "transactional"
        records.extend(group)
    return records


def seed(url: str, now: datetime) -> dict[str, Any]:
    """Seed the database at ``url``; returns what the page should show."""
    records = seed_records(now)
    data = "".join(json.dumps(r) + "\n" for r in records) + '{"not": "an SES record"}\n'
    store = open_store(url)
    try:
        ingest_bytes(store, data.encode())
    finally:
        store.close()
    days = {r["mail"]["timestamp"][:10] for r in records}
    return {"bounced": [message_id(i) for i in range(HARD_BOUNCES)], "days": len(days)}


@pytest.fixture(scope="module")  # not the session: Playwright's event loop would stay for asyncio.run() tests
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (Debian package chromium)"
        if os.environ.get("MAILFATE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; MAILFATE_REQUIRE_BROWSER=1: these tests must run")
        pytest.skip(reason)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=60_000)
        yield launched
        launched.close()


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    return url, seed(url, datetime.now(UTC))


@pytest.fixture
def page_for(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Open the dashboard of a server; check no error reached the console and nothing left 127.0.0.1."""
    opened: list[tuple[Any, list[str], list[str], str, tuple[str, ...]]] = []

    def open_page(server: Any, width: int = 1280, height: int = 900, path: str = "/", expect: tuple[str, ...] = (),
                  downloads: bool = False) -> Any:  # fmt: skip
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=downloads)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        base = f"http://127.0.0.1:{server.port}"
        page.goto(base + path)
        opened.append((page, errors, requests, base, expect))
        return page

    yield open_page
    failed = getattr(request.node, "report_call", None)
    for n, (page, errors, requests, base, expect) in enumerate(opened):
        if failed is not None and failed.failed:
            page.screenshot(path=str(tmp_path / f"failure-{n}.png"), full_page=True)
            print(f"screenshot: {tmp_path / f'failure-{n}.png'}")
        page.context.close()
        if failed is None or failed.passed:
            assert [u for u in requests if not u.startswith(base)] == [], "the dashboard must work offline"
            # 401 and 404 are API answers the page handles (token prompt, "no such message"); a test
            # may expect others (a server that stops).
            handled = ("status of 401", "status of 404", *expect)
            assert [e for e in errors if not any(h in e for h in handled)] == [], "no script error, no CSP violation"


def loaded(page: Any) -> None:
    page.wait_for_selector("body[data-loaded='true']")


def overflow(page: Any) -> list[str]:
    """What sticks out of the viewport sideways: the page itself, or any visible element's right edge."""
    found: list[str] = page.evaluate(
        """() => {
        const width = window.innerWidth;
        const out = [];
        if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth}`);
        for (const e of document.querySelectorAll("main *, header *, #banner *")) {
          const box = e.getBoundingClientRect();
          if (box.width && box.height && box.right > width + 0.5 && !e.closest("dialog, pre"))
            out.push(`${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(box.right)}`);
        }
        return out.slice(0, 10);
    }"""
    )
    return found
