"""The activity view: finding messages and addresses, and the timeline of one message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import event

from ..support import Server
from .conftest import COMPLAINTS, DESKTOP, HARD_BOUNCES, PHONE, loaded, message_id

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_search_finds_a_message_and_shows_its_timeline(
    servers: Start, seeded: Any, page_for: Any, size: tuple[int, int]
) -> None:
    url, expected = seeded
    page = page_for(servers(db=url), *size)
    loaded(page)
    found = expected["bounced"][0]
    page.fill("#search", found)
    page.press("#search", "Enter")
    page.wait_for_selector("#timeline li")
    assert page.locator("#message-view").get_attribute("data-message") == found
    items = page.locator("#timeline li")
    assert [items.nth(i).get_attribute("data-kind") for i in range(2)] == ["Send", "Bounce"]
    timeline = page.locator("#timeline").inner_text()
    assert "Permanent/General" in timeline
    assert "5.1.1" in timeline
    assert "by file" in timeline  # where each event came from
    assert "Hard bounce" in page.locator("#detail table").inner_text()  # why the fate is what it is
    assert f"message={found}" in page.url  # a link to this view can be shared
    # Each kind has its colour, and the legend says which: a Bounce does not look like a Send.
    colours = page.evaluate(
        "() => [...document.querySelectorAll('#timeline li')].map((li) => getComputedStyle(li, '::before').borderColor)"
    )
    assert colours[0] != colours[1]
    legend = page.locator("#timeline-legend").inner_text()
    assert "Send" in legend
    assert "Bounce: bounced" in legend
    legend_colour = page.evaluate(
        "() => getComputedStyle(document.querySelector(\"#timeline-legend li[data-kind='Bounce']\"), '::before')"
        ".borderColor"
    )
    assert legend_colour == colours[1]

    page.fill("#search", "user0@example.com")
    page.press("#search", "Enter")
    page.wait_for_selector("#recipient-suppression")
    assert page.locator("#recipient-suppression").inner_text().startswith("Suppressed (bounce)")
    page.locator(f"#activity-list a[data-message='{found}']").click()  # from the address to its message
    page.wait_for_selector(f"#message-view[data-message='{found}']")


def test_an_unknown_message_id_says_so(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), path="/#view=activity&message=0100019cffffffff-unknown-000000")
    page.wait_for_selector("#detail .error")
    assert "No message with id" in page.locator("#detail").inner_text()


def test_an_auto_reply_is_shown_as_such(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    auto_reply = message_id(HARD_BOUNCES + COMPLAINTS)  # the first auto-reply of the seed
    page = page_for(servers(db=url), path=f"/#view=activity&message={auto_reply}")
    page.wait_for_selector("#message-view")
    row = page.locator("#detail table.recipients tbody tr")
    assert row.locator(".badge.delivered").count() == 1
    assert row.locator(".badge.auto_reply").inner_text() == "auto-reply"
    assert "Transient/General" in row.inner_text()


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
