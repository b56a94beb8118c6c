"""Roles and the audit trail on the page: a read token is shown no control it may not use; the audit
panel lists what was done by hand, by whom and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..support import Server
from .conftest import loaded

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]
TOKENS = {"MAILFATE_API_TOKENS": "ops:admin:admin-secret-0123,grafana:read:reader-secret-0123"}


def sign_in(page: Any, secret: str) -> None:
    page.locator("#token-dialog").wait_for(state="visible")
    page.fill("#token", secret)
    page.press("#token", "Enter")
    loaded(page)


def test_a_read_token_sees_no_write_control(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    server = servers(db=url, env=TOKENS)
    reader = page_for(server, path="/#view=suppressions")
    sign_in(reader, "reader-secret-0123")
    reader.wait_for_selector("body[data-scope='read']")
    assert reader.locator("#whoami").inner_text() == "grafana (read only)"
    assert reader.locator("#suppressions tr[data-address='user1@example.com']").is_visible()  # it reads
    assert not reader.locator("#suppress-form").is_visible()
    assert reader.locator("#suppressions button:visible", has_text="Lift").count() == 0
    reader.click("#views a[data-view='quarantine']")
    reader.wait_for_selector("#quarantine tbody tr")  # it reads the quarantine
    assert reader.locator("#quarantine-panel button:visible", has_text="Replay").count() == 0
    assert reader.locator("#quarantine-panel button:visible", has_text="Dismiss").count() == 0
    assert reader.locator("#quarantine-panel input.pick:visible").count() == 0
    # Nor the column that holds them: its heading and its empty cells go with the checkboxes.
    assert reader.locator("#quarantine th:visible", has_text="Select").count() == 0
    assert reader.locator("#quarantine td.select:visible").count() == 0
    headings = reader.locator("#quarantine thead th:visible").all_inner_texts()
    assert headings[:2] == ["#", "Received"]

    admin = page_for(server, path="/#view=suppressions")
    sign_in(admin, "admin-secret-0123")
    admin.wait_for_selector("body[data-scope='admin']")
    assert admin.locator("#whoami").inner_text() == "ops (admin)"
    assert admin.locator("#suppress-form").is_visible()
    assert admin.locator("#suppressions tr[data-address='user1@example.com'] button", has_text="Lift").is_visible()
    admin.click("#views a[data-view='quarantine']")
    admin.wait_for_selector("#quarantine tbody tr")
    assert admin.locator("#quarantine-replay-all").is_visible()
    assert admin.locator("#quarantine th", has_text="Select").is_visible()
    assert admin.locator("#quarantine td.select input.pick").first.is_visible()


def test_the_audit_panel_shows_who_did_what_and_why(servers: Start, seeded: Any, page_for: Any) -> None:
    url, _ = seeded
    server = servers(db=url, env=TOKENS)
    page = page_for(server, path="/#view=suppressions")
    sign_in(page, "admin-secret-0123")
    page.fill("#suppress-address", "someone@example.org")
    page.click("#suppress-form button")
    page.wait_for_selector("#suppressions tr[data-address='someone@example.org']")
    page.locator("#suppressions tr[data-address='user1@example.com'] button", has_text="Lift").click()
    page.fill("#lift-reason", "the customer fixed the mailbox")
    page.click("#lift-confirm")
    page.wait_for_selector("#suppressions tr[data-address='user1@example.com']", state="detached")

    page.click("#views a[data-view='audit']")
    page.wait_for_selector("#audit tr[data-action='unsuppress']")
    rows = page.locator("#audit tbody tr")
    assert rows.count() == 2
    lifted = rows.nth(0).inner_text()
    assert "ops" in lifted
    assert "user1@example.com" in lifted
    assert "the customer fixed the mailbox" in lifted
    added = rows.nth(1).inner_text()
    assert "someone@example.org" in added
    assert "(no reason given)" in added
    # "Who" reads like its neighbours: the same font and size, on the same baseline.
    cells = rows.nth(0).locator("td")
    style = (
        "(c) => { const text = document.createRange(); text.selectNodeContents(c); const s = getComputedStyle(c);"
        " return [s.fontFamily, s.fontSize, Math.round(text.getClientRects()[0].bottom)]; }"
    )
    assert cells.nth(1).evaluate(style) == cells.nth(2).evaluate(style)
    page.select_option("#audit-action", "unsuppress")
    page.wait_for_selector("#audit tr[data-action='suppress']", state="detached")  # the server filtered
    assert page.locator("#audit tbody tr").count() == 1
    assert "user1@example.com" in page.locator("#audit tbody tr").inner_text()
