"""Where the trouble is, and why: the figures by mailbox provider and the top bounce and complaint reasons,
as the overview shows them, against what the API says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..support import Server, request
from .conftest import COMPLAINTS, DESKTOP, HARD_BOUNCES, PHONE, loaded, overflow

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_providers_and_reasons_say_where_and_why(
    servers: Start, seeded: Any, page_for: Any, size: tuple[int, int]
) -> None:
    url, expected = seeded
    server = servers(db=url)
    page = page_for(server, *size)
    loaded(page)

    stats = request(server.port, "GET", "/api/stats?group_by=provider").json()
    rows = page.locator("#providers-table tbody tr")
    assert rows.count() == len(stats["groups"]) == 2  # the seed's two company domains, busiest first
    for n, group in enumerate(stats["groups"]):
        row = rows.nth(n)
        assert row.get_attribute("data-provider") == group["key"]
        cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
        assert cells[:4] == [group["key"], f"{group['sent']:,}", f"{group['bounce_rate'] * 100:.2f}%",
                             f"{group['complaint_rate'] * 100:.2f}%"]  # fmt: skip
        assert row.locator(".rate").first.get_attribute("data-level") == group["bounce_level"]
        assert cells[4].endswith(("ms", "s"))  # the seed's deliveries took 30 s
    assert stats["groups"][0]["key"] == "example.com"
    assert stats["groups"][0]["bounce_level"] == "under_review"  # every hard bounce of the seed is there

    found = request(server.port, "GET", "/api/diagnostics?limit=10").json()
    reasons = page.locator("#diagnostics-table tbody tr")
    assert reasons.count() == len(found["reasons"]) == 3  # user unknown, mailbox full, the complaints
    first = reasons.nth(0)
    assert first.get_attribute("data-kind") == "bounce"
    cells = [" ".join(c.split()) for c in first.locator("td").all_inner_texts()]
    assert cells[:4] == [found["reasons"][0]["reason"], "Hard bounce", "example.com", str(HARD_BOUNCES)]
    assert "user unknown" in cells[0]
    complaint = page.locator("#diagnostics-table tbody tr[data-kind='complaint'] td").nth(3)
    assert complaint.inner_text() == str(COMPLAINTS)
    assert overflow(page) == []

    example = found["reasons"][0]["examples"][0]
    assert example in expected["bounced"]
    first.locator("a[data-message]").click()  # the example opens that message's timeline
    page.wait_for_function("(id) => location.hash.includes(encodeURIComponent(id))", arg=example)
    assert "view=activity" in page.evaluate("() => location.hash")
