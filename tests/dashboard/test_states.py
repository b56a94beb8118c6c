"""What the page does around the data: the token, a server that stops, refreshing, the URL, a phone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import event

from ..support import Server
from .conftest import PHONE, loaded, message_id, overflow, stamp

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]
TOKEN = {"MAILFATE_API_TOKEN": "s3cret-token"}


def test_the_token_is_asked_for_once(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url, env=TOKEN))
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


def test_escape_in_the_token_dialog_leaves_no_panel_loading(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url, env=TOKEN))
    page.locator("#token-dialog").wait_for(state="visible")
    page.keyboard.press("Escape")
    loaded(page)
    assert not page.locator("#token-dialog").is_visible()
    banner = page.locator("#banner")
    assert banner.is_visible()
    assert "asks for an API token" in banner.inner_text()
    assert page.locator("text=Loading…").count() == 0
    assert page.locator("main .error").count() == 0  # said once, by the banner: not by every panel
    page.click("#refresh")  # a refresh does not pop the dialog up again by itself
    loaded(page)
    assert not page.locator("#token-dialog").is_visible()
    page.click("#banner-token")
    page.locator("#token-dialog").wait_for(state="visible")
    page.fill("#token", "s3cret-token")
    page.press("#token", "Enter")
    page.wait_for_selector("#gauge-bounce[data-level='under_review']")
    loaded(page)
    assert banner.is_hidden()


def test_a_server_that_stops_is_one_banner_and_the_page_keeps_what_it_showed(
    servers: Start, seeded: Any, page_for: Any
) -> None:
    url, _ = seeded
    server = servers(db=url)
    page = page_for(server, expect=("ERR_CONNECTION_REFUSED",))
    loaded(page)
    updated = page.locator("#updated").inner_text()
    assert updated.startswith("Updated ")
    server.stop()
    page.click("#refresh")
    page.wait_for_selector("#banner:has-text('not answering')")
    loaded(page)
    assert page.locator("#banner").count() == 1
    assert page.locator("main .error").count() == 0  # no error in each panel
    assert page.locator("#gauge-bounce").get_attribute("data-level") == "under_review"  # still shown, marked old
    assert page.locator("#gauges[data-state='stale']").count() == 1
    assert page.locator("#updated").inner_text() == updated  # when the shown data was current
    server.start()
    page.locator("#banner button").click()
    page.wait_for_selector("#banner", state="hidden")
    assert page.locator("#gauges[data-state='ok']").count() == 1


def test_the_page_refreshes_by_itself(servers: Start, seeded: Any, page_for: Any, browser: Any) -> None:
    url, _ = seeded
    server = servers(db=url)
    page = page_for(server, path="/#view=activity&recipient=late%40example.com")
    page.evaluate("() => localStorage.setItem('mailfate-refresh-seconds', '1')")
    page.reload()
    page.wait_for_selector("#result:has-text('Nothing matches')")
    store = open_store(url)
    try:
        sent = stamp(datetime.now(UTC))
        ingest_bytes(store, json.dumps(event("Send", "m-late", ["late@example.com"], sent)).encode())
    finally:
        store.close()
    page.wait_for_selector("#activity-list a[data-message='m-late']")  # no click: the page asked again


def test_back_and_forward_walk_through_views_and_messages(servers: Start, seeded: Any, page_for: Any) -> None:
    url, expected = seeded
    page = page_for(servers(db=url))
    loaded(page)
    first = expected["bounced"][0]
    page.locator(f"#recent a[data-message='{first}']").click()
    page.wait_for_selector(f"#message-view[data-message='{first}']")
    assert "view=activity" in page.url
    assert f"message={first}" in page.url
    page.click("#views a[data-view='suppressions']")
    page.wait_for_selector("#suppressions tbody tr")
    page.go_back()
    page.wait_for_selector(f"#message-view[data-message='{first}']")
    assert page.locator("#view-activity").is_visible()
    page.go_back()
    page.wait_for_selector("#gauges .gauge")
    assert page.locator("#view-overview").is_visible()
    assert page.locator("#view-activity").is_hidden()
    page.go_forward()
    page.wait_for_selector(f"#message-view[data-message='{first}']")
    # A shared link opens the same view in a new tab.
    other = page_for_url(page, page.url)
    other.wait_for_selector(f"#message-view[data-message='{first}']")
    other.close()


def page_for_url(page: Any, url: str) -> Any:
    other = page.context.new_page()
    other.goto(url)
    return other


@pytest.mark.parametrize("view", ["overview", "activity", "suppressions", "quarantine", "webhooks"])
def test_a_phone_sees_every_view_whole(servers: Start, seeded: Any, page_for: Any, view: str) -> None:
    url, expected = seeded
    path = f"/#view={view}" + (f"&message={expected['bounced'][1]}" if view == "activity" else "")
    page = page_for(servers(db=url), *PHONE, path=path)
    loaded(page)
    assert page.locator(f"#view-{view}").is_visible()
    assert overflow(page) == [], "nothing wider than a phone, no column cut off"
    # Times and addresses are never broken inside: each sits on one line.
    for selector in ("main time", "main .address"):
        for element in page.locator(selector).all()[:40]:
            if element.is_visible():
                box = element.bounding_box()
                line = float(element.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight) || 20"))
                assert box["height"] < line * 1.9, (selector, element.inner_text())


def test_keyboard_reaches_search_first(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), *PHONE)
    loaded(page)
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to search"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "search"
    page.keyboard.type(message_id(1))
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline li")
