"""What an operator does from the page: suppress and lift, look into the quarantine, watch webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import event

from ..receiver import Receiver
from ..support import Server, free_port, request
from .conftest import loaded, stamp

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]


def lifts(url: str) -> list[tuple[str, str | None]]:
    store = open_store(url, migrate=False)
    try:
        rows = store._read("SELECT address, reason FROM suppression_actions WHERE action = 'lift'")  # type: ignore[attr-defined]
    finally:
        store.close()
    return [(r[0], r[1]) for r in rows]


def test_lifting_asks_for_confirmation_and_a_reason(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    server = servers(db=url)
    page = page_for(server, path="/#view=suppressions")
    loaded(page)
    row = page.locator("#suppressions tr[data-address='user1@example.com']")
    lift = row.get_by_role("button", name="Lift the suppression of user1@example.com")
    lift.click()
    dialog = page.locator("#lift-dialog")
    dialog.wait_for(state="visible")
    assert "user1@example.com" in dialog.inner_text()
    page.keyboard.press("Escape")  # changed their mind: nothing happens
    dialog.wait_for(state="hidden")
    assert request(server.port, "GET", "/api/recipients/user1@example.com").json()["suppressed"] is True
    lift.click()
    dialog.wait_for(state="visible")
    page.click("#lift-confirm")  # no reason: the form does not go
    assert dialog.is_visible()
    page.fill("#lift-reason", "mailbox fixed, said the customer")
    page.click("#lift-confirm")
    page.wait_for_selector("#suppressions tr[data-address='user1@example.com']", state="detached")
    assert "Lifted" in page.locator("#suppressions-status").inner_text()
    assert request(server.port, "GET", "/api/recipients/user1@example.com").json()["suppressed"] is False
    assert lifts(url) == [("user1@example.com", "mailbox fixed, said the customer")]


def test_suppressing_by_hand_and_filtering(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    server = servers(db=url)
    page = page_for(server, path="/#view=suppressions")
    loaded(page)
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
    page = page_for(server, path="/#view=suppressions")
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
    assert len(set(shown)) == total  # no page repeated or skipped
    # Numbers read as numbers: user2 before user10, and bulk9 (bulk009) before bulk10.
    assert shown[:33] == [f"bulk{i:03d}@example.net" for i in range(33)]
    assert shown[150:] == [f"user{i}@example.com" for i in range(33)]
    assert all("limit=100" in u for u in asked), asked  # never the whole list at once


def test_quarantine_is_listed(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), path="/#view=quarantine")
    loaded(page)
    assert page.locator("#quarantine tbody tr").count() == 1
    assert '"not"' in page.locator("#quarantine pre").text_content()


def test_quarantine_shows_previews_and_loads_a_body_when_opened(servers: Start, page_for: Any) -> None:
    """The list downloads previews only; opening one record fetches its whole body."""
    server = servers()
    body = b"{" + b"x" * 5000 + b" END-OF-BODY"
    request(server.port, "POST", "/sns", body)
    page = page_for(server, path="/#view=quarantine")
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


def test_failed_webhook_deliveries_are_shown(servers: Start, tmp_path: Path, page_for: Any) -> None:
    receiver = Receiver(free_port(), lambda r: 422).start()  # refuses every change
    try:
        url = f"sqlite:///{tmp_path / 'hooks.db'}"
        server = servers(db=url, env={"MAILFATE_WEBHOOK_URL": receiver.url,
                                      "MAILFATE_WEBHOOK_SECRET": "a-secret-of-16-chars+"})  # fmt: skip
        store = open_store(url)
        try:
            sent = event("Send", "m-hook", ["x@example.com"], stamp(datetime.now(UTC)))
            ingest_bytes(store, json.dumps(sent).encode())
        finally:
            store.close()
        receiver.wait_for(lambda got: len(got) >= 1)
        for _ in range(100):  # the refusal is recorded just after the receiver answered
            if request(server.port, "GET", "/api/webhooks").json()[0]["failed"]:
                break
            time.sleep(0.05)
        page = page_for(server, path="/#view=webhooks")
        loaded(page)
        page.locator("#webhooks .badge.failed").wait_for()
        text = page.locator("#webhooks").inner_text()
        assert "1 given up" in text
        assert "answered 422" in text
    finally:
        receiver.stop()
