"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, against `mailfate serve`
on a seeded database. A failing test leaves a screenshot next to its other files (pytest's tmp_path)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .support import Server, request

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]
CHROMIUM = os.environ.get("MAILFATE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# The seeded week: 500 recipients, 30 hard bounces (6%: under review), 3 complaints (0.6%: pause risk).
SENT, HARD_BOUNCES, COMPLAINTS, OLDER_DAYS = 500, 30, 3, 3


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def seed(url: str, now: datetime) -> dict[str, Any]:
    """Messages over the last ten days, one recipient each; returns what the page should show."""
    records: list[dict[str, Any]] = []
    bounced: list[str] = []
    days: set[str] = set()
    for i in range(SENT + OLDER_DAYS * 20):
        in_week = i < SENT
        sent = now - timedelta(days=i % 7 if in_week else 7 + 1 + i % OLDER_DAYS, hours=1, minutes=i % 50)
        days.add(sent.strftime("%Y-%m-%d"))
        mid, to = f"0100019c{i:08x}-seed-000000", f"user{i}@example.com"
        stamp, later = _stamp(sent), _stamp(sent + timedelta(seconds=30))
        group = [event("Send", mid, [to], stamp, sent_at=stamp)]
        if in_week and i < HARD_BOUNCES:
            group.append(bounce_event(mid, [to], later, "Permanent", "General", "5.1.1",
                                      "smtp; 550 5.1.1 user unknown", sent_at=stamp))  # fmt: skip
            bounced.append(mid)
        else:
            group.append(event("Delivery", mid, [to], later, sent_at=stamp))
            if in_week and HARD_BOUNCES <= i < HARD_BOUNCES + COMPLAINTS:
                group.append(event("Complaint", mid, [to], _stamp(sent + timedelta(minutes=5)), sent_at=stamp))
        for record in group:
            record["mail"]["commonHeaders"]["subject"] = f"Order {i} confirmed"
        records.extend(group)
    data = "".join(json.dumps(r) + "\n" for r in records) + '{"not": "an SES record"}\n'
    store = open_store(url)
    try:
        ingest_bytes(store, data.encode())
    finally:
        store.close()
    return {"bounced": bounced, "days": len(days)}


@pytest.fixture(scope="module")
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
    opened: list[tuple[Any, list[str], list[str], str]] = []

    def open_page(server: Server, width: int = 1280, height: int = 900, path: str = "/") -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        base = f"http://127.0.0.1:{server.port}"
        page.goto(base + path)
        opened.append((page, errors, requests, base))
        return page

    yield open_page
    failed = getattr(request.node, "report_call", None)
    for n, (page, errors, requests, base) in enumerate(opened):
        if failed is not None and failed.failed:
            page.screenshot(path=str(tmp_path / f"failure-{n}.png"), full_page=True)
            print(f"screenshot: {tmp_path / f'failure-{n}.png'}")
        page.context.close()
        if failed is None or failed.passed:
            assert [u for u in requests if not u.startswith(base)] == [], "the dashboard must work offline"
            # 401 and 404 are API answers the page handles (token prompt, "no such message").
            handled = ("status of 401", "status of 404")
            assert [e for e in errors if not any(h in e for h in handled)] == [], "no script error, no CSP violation"


def loaded(page: Any) -> None:
    page.wait_for_selector("body[data-loaded='true']")


def test_gauges_show_the_levels_of_the_seeded_week(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url))
    loaded(page)
    bounce, complaint = page.locator("#gauge-bounce"), page.locator("#gauge-complaint")
    assert bounce.get_attribute("data-level") == "under_review"
    assert complaint.get_attribute("data-level") == "pause_risk"
    assert bounce.locator(".value").inner_text() == "6.00%"
    assert complaint.locator(".value").inner_text() == "0.60%"
    assert bounce.locator(".level").inner_text() == "Under review"
    assert complaint.locator(".level").inner_text() == "Pause risk"
    assert f"{SENT} recipients sent" in bounce.inner_text()
    # The bar is drawn to scale: 6% of a 15% bar.
    fill = page.evaluate("() => document.querySelector('#gauge-bounce .fill').style.width")
    assert fill == "40%"


def test_charts_render_with_data(servers: Start, seeded: Any, page_for: Any) -> None:
    url, expected = seeded
    page = page_for(servers(db=url))
    loaded(page)
    for chart in ("#volume-chart", "#rates-chart"):
        assert page.locator(f"{chart} canvas").count() == 1  # uPlot drew it
        assert page.locator(chart).get_attribute("data-days") == str(expected["days"])
        box = page.locator(f"{chart} canvas").bounding_box()
        assert box["width"] > 200
        assert box["height"] > 100
    # What uPlot plots: the "Sent" line adds up to every recipient sent in 30 days, and so on.
    plotted = page.evaluate("() => charts[0].data.slice(1).map((ys) => ys.reduce((a, b) => a + b, 0))")
    total = SENT + OLDER_DAYS * 20
    assert plotted == [total, total - HARD_BOUNCES - COMPLAINTS, HARD_BOUNCES, COMPLAINTS]  # complained: not delivered
    legend = page.locator("#volume-chart .u-legend").inner_text()
    assert "Sent" in legend
    assert "Hard bounces" in legend
    page.locator("#volume-chart + details summary").click()
    rows = page.locator("#volume-table tbody tr")
    assert rows.count() == expected["days"]
    sent = sum(int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(rows.count()))
    assert sent == SENT + OLDER_DAYS * 20
    assert page.locator("#recent tbody tr").count() == 10 + COMPLAINTS  # the latest 10 bounces, every complaint


def test_search_finds_a_message_and_shows_its_timeline(servers: Start, seeded: Any, page_for: Any) -> None:
    url, expected = seeded
    page = page_for(servers(db=url))
    loaded(page)
    message_id = expected["bounced"][0]
    page.fill("#search", message_id)
    page.press("#search", "Enter")
    page.wait_for_selector("#timeline li")
    assert page.locator("#message-view").get_attribute("data-message") == message_id
    kinds = [page.locator("#timeline li").nth(i).get_attribute("data-kind") for i in range(2)]
    assert kinds == ["Send", "Bounce"]
    timeline = page.locator("#timeline").inner_text()
    assert "Permanent/General" in timeline
    assert "5.1.1" in timeline
    assert "by file" in timeline  # where each event came from
    assert "Hard bounce" in page.locator("#result table").inner_text()  # why the fate is what it is
    assert f"#message={message_id}" in page.url  # a link to this view can be shared

    page.fill("#search", "user0@example.com")
    page.press("#search", "Enter")
    page.wait_for_selector("#recipient-suppression")
    assert page.locator("#recipient-suppression").inner_text().startswith("Suppressed (bounce)")
    page.locator(f"#result button[data-message='{message_id}']").click()  # from the address to its message
    page.wait_for_selector(f"#message-view[data-message='{message_id}']")

    page.fill("#search", "0100019cffffffff-unknown-000000")
    page.press("#search", "Enter")
    page.wait_for_selector("#result .error")
    assert "No message with id" in page.locator("#result").inner_text()


def test_lifting_and_adding_a_suppression(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    server = servers(db=url)
    page = page_for(server)
    loaded(page)
    row = page.locator("#suppressions tr[data-address='user1@example.com']")
    assert row.count() == 1
    row.get_by_role("button", name="Lift the suppression of user1@example.com").click()
    page.wait_for_selector("#suppressions tr[data-address='user1@example.com']", state="detached")
    assert "Lifted" in page.locator("#suppressions-status").inner_text()
    after = request(server.port, "GET", "/api/recipients/user1@example.com").json()
    assert after["suppressed"] is False

    page.fill("#suppressions-filter", "user2")  # user2, user20..user29: the server filters
    page.wait_for_selector("#suppressions-count:has-text('match')")
    assert page.locator("#suppressions tbody tr").count() == 11
    page.fill("#suppressions-filter", "")
    page.wait_for_selector("#suppressions-count:not(:has-text('match'))")

    page.fill("#suppress-address", "someone@example.org")
    page.fill("#suppress-reason", "asked us to stop")
    page.click("#suppress-form button")
    page.wait_for_selector("#suppressions tr[data-address='someone@example.org']")
    listed = {s["address"]: s for s in request(server.port, "GET", "/api/suppressions").json()}
    assert listed["someone@example.org"]["reason"] == "manual"
    assert listed["someone@example.org"]["event"]["reason"] == "asked us to stop"
    row = page.locator("#suppressions tr[data-address='someone@example.org']")
    assert "manual: asked us to stop" in row.inner_text()


def test_suppressions_come_a_page_at_a_time(servers: Start, seeded: Any, page_for: Any) -> None:
    """With more suppressions than a page, the dashboard asks for one page and shows more on demand."""
    url, _ = seeded
    server = servers(db=url)
    for i in range(150):  # on top of the seed's 30 hard bounces and 3 complaints
        assert request(server.port, "PUT", f"/api/suppressions/bulk{i:03d}@example.net").status == 200
    total = 33 + 150
    asked: list[str] = []
    page = page_for(server)
    page.on("request", lambda r: asked.append(r.url) if "/api/suppressions" in r.url else None)
    loaded(page)
    rows = page.locator("#suppressions tbody tr")
    assert rows.count() == 100
    assert "100+" in page.locator("#suppressions-count").inner_text()
    page.click("#suppressions-more")
    page.wait_for_selector("#suppressions tbody tr:nth-child(101)")
    page.wait_for_selector("#suppressions-count:not(:has-text('+'))")
    assert rows.count() == total
    shown = [rows.nth(i).get_attribute("data-address") for i in range(total)]
    assert shown == sorted(shown)  # by address, no page repeated or skipped
    assert len(set(shown)) == total
    assert all("limit=100" in u for u in asked), asked  # never the whole list at once


def test_a_message_id_with_a_slash(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    store = open_store(url)
    try:
        ingest_bytes(
            store, json.dumps(event("Send", "team/2026/welcome", ["x@example.com"], "2026-11-20T10:00:00Z")).encode()
        )
    finally:
        store.close()
    page = page_for(servers(db=url), path="/#message=team%2F2026%2Fwelcome")
    page.wait_for_selector("#message-view[data-message='team/2026/welcome']")
    assert page.locator("#timeline li").count() == 1


def test_quarantine_is_listed(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url))
    loaded(page)
    assert page.locator("#quarantine tbody tr").count() == 1
    assert '"not"' in page.locator("#quarantine pre").text_content()


def test_quarantine_shows_previews_and_loads_a_body_when_opened(servers: Start, page_for: Any) -> None:
    """The list downloads previews only; opening one record fetches its whole body."""
    server = servers()
    body = b"{" + b"x" * 5000 + b" END-OF-BODY"
    request(server.port, "POST", "/sns", body)
    page = page_for(server)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/api/quarantine/" in r.url else None)
    loaded(page)
    pre = page.locator("#quarantine pre")
    assert "END-OF-BODY" not in pre.text_content()
    assert fetched == []
    page.click("#quarantine summary")
    # wait_for_function would evaluate a string, which the dashboard's CSP (no unsafe-eval) refuses
    page.wait_for_selector("#quarantine pre:has-text('END-OF-BODY')")
    assert len(fetched) == 1
    assert "5,013 bytes" in page.locator("#quarantine summary").inner_text()


def test_the_token_is_asked_for_once(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url, env={"MAILFATE_API_TOKEN": "s3cret-token"}))
    dialog = page.locator("#token-dialog")
    dialog.wait_for(state="visible")
    page.fill("#token", "wrong")
    page.press("#token", "Enter")
    page.wait_for_selector("#token-error:has-text('refused')")
    page.fill("#token", "s3cret-token")
    page.press("#token", "Enter")
    loaded(page)
    assert page.locator("#gauge-bounce").get_attribute("data-level") == "under_review"
    page.click("#refresh")  # the token is kept: no second prompt
    loaded(page)
    assert not dialog.is_visible()


def test_phone_width_and_keyboard(servers: Start, seeded: Any, page_for: Any, tmp_path: Path) -> None:
    url, expected = seeded
    page = page_for(servers(db=url), width=390, height=844)
    loaded(page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing wider than a phone"
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to search"
    page.keyboard.press("Enter")
    page.locator("#search").focus()
    page.keyboard.type(expected["bounced"][1])
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline li")


def test_screenshots_for_the_docs(servers: Start, seeded: Any, page_for: Any) -> None:
    """With MAILFATE_TEST_SCREENSHOTS=docs/img (make screenshots), saves the pictures the docs show."""
    url, expected = seeded
    server = servers(db=url)
    folder = os.environ.get("MAILFATE_TEST_SCREENSHOTS")
    for name, width, height in (("desktop", 1280, 900), ("phone", 390, 844)):
        page = page_for(server, width=width, height=height, path=f"/#message={expected['bounced'][2]}")
        loaded(page)
        page.wait_for_selector("#timeline li")
        page.evaluate("() => window.scrollTo(0, 0)")
        shot = page.screenshot(full_page=name == "desktop")
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"dashboard-{name}.png").write_bytes(shot)


def test_failed_webhook_deliveries_are_shown(servers: Start, tmp_path: Path, page_for: Any) -> None:
    from .receiver import Receiver
    from .support import free_port

    receiver = Receiver(free_port(), lambda r: 422).start()  # refuses every change
    try:
        url = f"sqlite:///{tmp_path / 'hooks.db'}"
        server = servers(db=url, env={"MAILFATE_WEBHOOK_URL": receiver.url,
                                      "MAILFATE_WEBHOOK_SECRET": "a-secret-of-16-chars+"})  # fmt: skip
        store = open_store(url)
        try:
            stamp = _stamp(datetime.now(UTC))
            ingest_bytes(store, json.dumps(event("Send", "m-hook", ["x@example.com"], stamp)).encode())
        finally:
            store.close()
        receiver.wait_for(lambda got: len(got) >= 1)
        for _ in range(100):  # the refusal is recorded just after the receiver answered
            if request(server.port, "GET", "/api/webhooks").json()[0]["failed"]:
                break
            time.sleep(0.05)
        page = page_for(server)
        loaded(page)
        page.locator("#webhooks .badge.failed").wait_for()
        text = page.locator("#webhooks").inner_text()
        assert "1 given up" in text
        assert "answered 422" in text
    finally:
        receiver.stop()
