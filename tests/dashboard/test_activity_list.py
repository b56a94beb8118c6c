"""The activity list: every recipient newest first, narrowed by filters kept in the URL, paged with the
API's cursor, searched by prefix, and exported as CSV of exactly the filtered set. Desktop and phone."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ..support import Server
from .conftest import (
    AUTO_REPLIES,
    COMPLAINTS,
    DESKTOP,
    HARD_BOUNCES,
    HEIDI,
    OLDER_DAYS,
    PHONE,
    SENT,
    loaded,
    message_id,
    overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]
WIDTHS = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
ROWS = "#activity-list tbody tr"


def listed(page: Any) -> list[tuple[str, str]]:
    rows = page.locator(ROWS)
    return [(rows.nth(i).get_attribute("data-message"), rows.nth(i).get_attribute("data-address"))
            for i in range(rows.count())]  # fmt: skip


def wait_listed(page: Any, count: int) -> None:
    """Until the list shows ``count`` rows (the answer to the latest filters has been drawn)."""
    if count:
        page.wait_for_selector(f"{ROWS}:nth-child({count})")
        page.wait_for_selector(f"{ROWS}:nth-child({count + 1})", state="detached")
    else:
        page.wait_for_selector("#result .empty")


def more_filters(page: Any) -> None:
    """Unfold the filters that a phone keeps folded."""
    if page.locator("#more-filters").get_attribute("open") is None:
        page.click("#more-filters summary")


@WIDTHS
def test_the_list_filters_and_pages(servers: Start, seeded: Any, page_for: Any, size: tuple[int, int]) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), *size, path="/#view=activity")
    loaded(page)
    wait_listed(page, 50)
    first = listed(page)
    assert first[0][0] in (message_id(0), message_id(350))  # the newest first: both sent an hour ago
    assert "50+ recipients" in page.locator("#activity-status").inner_text()
    page.click("#activity-more")  # the next page, by the API's cursor
    wait_listed(page, 100)
    assert len(set(listed(page))) == 100
    assert overflow(page) == []

    page.select_option("#filter-status", "bounced")
    wait_listed(page, HARD_BOUNCES)
    assert page.locator(f"{ROWS} .badge.bounced").count() == HARD_BOUNCES
    assert "Permanent/General" in page.locator(ROWS).first.inner_text()
    assert "status=bounced" in page.url

    page.select_option("#filter-status", "auto_reply")
    wait_listed(page, AUTO_REPLIES)
    assert page.locator(f"{ROWS} .badge.auto_reply").count() == AUTO_REPLIES

    page.select_option("#filter-status", "complained")
    wait_listed(page, COMPLAINTS)
    more_filters(page)
    page.fill("#filter-domain", "example.org")  # and a domain: both must hold
    page.click("#filters button[type=submit]")
    wait_listed(page, 0)
    assert "Nothing matches" in page.locator("#result").inner_text()
    page.go_back()  # Back: the filters before
    wait_listed(page, COMPLAINTS)
    assert page.locator("#filter-domain").input_value() == ""
    assert page.locator("#filter-status").input_value() == "complained"
    page.go_forward()
    wait_listed(page, 0)
    assert page.locator("#filter-domain").input_value() == "example.org"

    page.click("#filters-clear")
    page.select_option("#filter-days", "7")
    wait_listed(page, 50)
    more_filters(page)
    page.fill("#filter-configuration_set", "marketing")
    page.fill("#filter-tag", "campaign:spring")
    page.click("#filters button[type=submit]")
    # Every 4th is sent through marketing, every 3rd tagged spring: every 12th of the week.
    wait_listed(page, len(range(0, SENT, 12)))
    assert sorted(int(message[8:16], 16) for message, _ in listed(page)) == list(range(0, SENT, 12))
    assert overflow(page) == []


@WIDTHS
def test_search_finds_by_prefix_address_part_and_subject(
    servers: Start, seeded: Any, page_for: Any, size: tuple[int, int]
) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), *size)
    loaded(page)
    for query, expected in [
        ("heidi", [(message_id(HEIDI), "heidi@example.com")]),
        (message_id(HEIDI)[:16], [(message_id(HEIDI), "heidi@example.com")]),  # a prefix of the id
        ("password account 417", [(message_id(417), "user417@example.com")]),  # subject words
    ]:
        page.fill("#search", query)
        page.press("#search", "Enter")
        page.wait_for_selector(f"#result[data-filters='{urlencode({'q': query})}']")  # the answer to this query
        wait_listed(page, len(expected))
        assert listed(page) == expected, query
        assert page.locator("#filter-q").input_value() == query  # the filter form says what is searched
    page.fill("#search", "reset")
    page.press("#search", "Enter")
    page.wait_for_selector("#result[data-filters='q=reset']")
    wait_listed(page, 50)
    assert all("Password reset" in page.locator(ROWS).nth(i).inner_text() for i in range(50))


def test_csv_export_is_exactly_the_filtered_list(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), path="/#view=activity&status=bounced%2Ccomplained&domain=example.com",
                    downloads=True)  # fmt: skip
    loaded(page)
    page.wait_for_selector(f"{ROWS}")
    with page.expect_download() as waiting:
        page.click("#export-csv")
    download = waiting.value
    assert download.suggested_filename == "mailfate-activity.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    expected = [i for i in range(HARD_BOUNCES + COMPLAINTS) if not (i >= 40 and i % 5 == 0)]
    assert sorted(r["message_id"] for r in rows) == sorted(message_id(i) for i in expected)
    assert {r["status"] for r in rows} == {"bounced", "complained"}
    assert all(r["address"].endswith("@example.com") for r in rows)
    bounced = next(r for r in rows if r["status"] == "bounced")
    assert (bounced["bounce_type"], bounced["bounce_subtype"]) == ("Permanent", "General")
    assert [r["sent_at"] for r in rows] == sorted((r["sent_at"] for r in rows), reverse=True)


def test_the_whole_list_exports_past_a_page(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    page = page_for(servers(db=url), path="/#view=activity", downloads=True)
    loaded(page)
    page.wait_for_selector(f"{ROWS}")
    with page.expect_download() as waiting:
        page.click("#export-csv")
    with open(waiting.value.path(), encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == SENT + OLDER_DAYS * 20
