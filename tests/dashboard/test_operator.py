"""What an operator repairs from the page, at desktop and phone width: replay and dismiss quarantined
records, redeliver a webhook change that was given up on. Each asks first; Escape says no."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailfate.core.model import Rejected
from mailfate.sources.ingest import ingest_bytes
from mailfate.store import open_store
from mailfate.testing import event

from ..receiver import Received, Receiver
from ..support import Server, free_port, request
from .conftest import DESKTOP, PHONE, loaded, overflow, stamp

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]
WIDTHS = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def quarantined(url: str) -> list[dict[str, Any]]:
    store = open_store(url, migrate=False)
    try:
        return [item.to_json() for item in store.quarantined()]
    finally:
        store.close()


def confirm(page: Any, yes: bool) -> None:
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    if yes:
        page.click("#confirm-yes")
    else:
        page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")


@WIDTHS
def test_replay_and_dismiss_from_the_page(
    servers: Start, seeded: Any, page_for: Any, size: tuple[int, int], tmp_path: Path
) -> None:
    url, _ = seeded
    now = stamp(datetime.now(UTC))
    store = open_store(url)
    try:  # what an older version could not read, and junk
        store.ingest(
            [
                Rejected("unknown SES shape", json.dumps(event("Send", "m-replay", ["r@example.com"], now)), "file"),
                Rejected("body is not JSON", b"junk one", "sns", authenticated=False),
                Rejected("body is not JSON", b"junk two", "sns", authenticated=False),
            ],
            now,
        )
    finally:
        store.close()
    ids = {item["preview"][:8]: item["id"] for item in quarantined(url)}
    seeded_junk, replayable, one, two = ids['{"not": '], ids['{"eventT'], ids["junk one"], ids["junk two"]
    server = servers(db=url)
    page = page_for(server, *size, path="/#view=quarantine")
    loaded(page)
    page.wait_for_selector(f"#quarantine tr[data-id='{replayable}']")
    assert overflow(page) == []
    page.screenshot(path=str(tmp_path / "quarantine.png"), full_page=True)

    assert page.locator(f"#quarantine tr[data-id='{replayable}'] td.id").inner_text() == f"#{replayable}"
    page.get_by_role("button", name=f"Replay record {replayable}").click()
    page.wait_for_selector(f"#quarantine tr[data-id='{replayable}']", state="detached")
    assert "now facts" in page.locator("#quarantine-status").inner_text()
    assert request(server.port, "GET", "/api/messages/m-replay").status == 200

    page.get_by_role("button", name=f"Replay record {one}").click()  # junk stays, and the page says why
    page.wait_for_selector("#quarantine-status:has-text('stays')")
    assert page.locator(f"#quarantine tr[data-id='{one}']").count() == 1

    page.get_by_role("button", name=f"Dismiss record {one}").click()
    confirm(page, yes=False)  # Escape: nothing happens
    assert {q["id"] for q in quarantined(url)} == {seeded_junk, one, two}
    page.get_by_role("button", name=f"Dismiss record {one}").click()
    confirm(page, yes=True)
    page.wait_for_selector(f"#quarantine tr[data-id='{one}']", state="detached")
    assert {q["id"] for q in quarantined(url)} == {seeded_junk, two}

    page.check(f"#quarantine tr[data-id='{two}'] input.pick")
    page.check(f"#quarantine tr[data-id='{seeded_junk}'] input.pick")
    selected = page.locator("#quarantine-dismiss-selected")
    assert selected.inner_text() == "Dismiss selected (2)"
    selected.click()
    confirm(page, yes=True)
    page.wait_for_selector("#quarantine:has-text('Nothing in quarantine.')")
    assert quarantined(url) == []
    assert page.locator("#quarantine-replay-all").is_disabled()
    assert selected.inner_text() == "Dismiss selected"  # not the count of rows that have gone
    assert selected.is_disabled()
    assert overflow(page) == []


@WIDTHS
def test_replay_all_asks_first(servers: Start, page_for: Any, size: tuple[int, int], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    now = stamp(datetime.now(UTC))
    store = open_store(url)
    try:
        store.ingest(
            [Rejected("unknown", json.dumps(event("Send", f"m-{n}", ["r@example.com"], now)), "file") for n in range(3)]
            + [Rejected("body is not JSON", b"junk", "sns", authenticated=False)],
            now,
        )
    finally:
        store.close()
    page = page_for(servers(db=url), *size, path="/#view=quarantine")
    loaded(page)
    page.click("#quarantine-replay-all")
    confirm(page, yes=False)
    assert len(quarantined(url)) == 4
    page.click("#quarantine-replay-all")
    confirm(page, yes=True)
    page.wait_for_selector("#quarantine-status:has-text('Replayed 4: 3 now facts, 0 stored already, 1 stay.')")
    page.wait_for_selector("#quarantine tbody tr:nth-child(2)", state="detached")  # the list, reloaded
    assert page.locator("#quarantine tbody tr").count() == 1
    assert [q["preview"] for q in quarantined(url)] == ["junk"]


@WIDTHS
def test_a_given_up_change_is_redelivered_from_the_page(
    servers: Start, tmp_path: Path, page_for: Any, size: tuple[int, int]
) -> None:
    refusing = True

    def answer(received: Received) -> int:
        return 422 if refusing else 200

    receiver = Receiver(free_port(), answer).start()
    try:
        url = f"sqlite:///{tmp_path / 'hooks.db'}"
        server = servers(db=url, env={"MAILFATE_WEBHOOK_URL": receiver.url,
                                      "MAILFATE_WEBHOOK_SECRET": "a-secret-of-16-chars+"})  # fmt: skip
        store = open_store(url)
        try:
            ingest_bytes(
                store, json.dumps(event("Send", "m-hook", ["x@example.com"], stamp(datetime.now(UTC)))).encode()
            )
        finally:
            store.close()
        receiver.wait_for(lambda got: len(got) >= 1)
        for _ in range(100):  # the refusal is recorded just after the receiver answered
            if request(server.port, "GET", "/api/webhooks").json()[0]["failed"]:
                break
            time.sleep(0.05)
        page = page_for(server, *size, path="/#view=webhooks")
        loaded(page)
        row = page.locator("#webhooks tr[data-seq]")
        row.locator(".badge.failed").wait_for()
        seq = row.get_attribute("data-seq")
        text = page.locator("#webhooks").inner_text()
        assert "1 given up" in text
        assert "answered 422" in text
        assert "Redeliver all given up (1)" in text
        assert "none: given up" in text  # no next attempt
        assert overflow(page) == []
        page.screenshot(path=str(tmp_path / "webhooks.png"), full_page=True)
        page.click("#webhooks .redeliver-all")
        page.wait_for_selector("#confirm-dialog:has-text('Redeliver 1 change?')")  # not "1 changes"
        confirm(page, yes=False)

        refusing = False
        page.get_by_role("button", name=f"Redeliver change {seq}").click()
        confirm(page, yes=False)
        assert request(server.port, "GET", "/api/webhooks").json()[0]["failed"] == 1
        page.get_by_role("button", name=f"Redeliver change {seq}").click()
        confirm(page, yes=True)
        page.wait_for_selector(f"#webhooks-status:has-text('Due again: change {seq}.')")
        receiver.wait_for(lambda got: any(r.seq == int(seq or 0) and r.status == 200 for r in got))
        for _ in range(100):
            if request(server.port, "GET", "/api/webhooks").json()[0]["delivered"]:
                break
            time.sleep(0.05)
        page.click("#refresh")
        page.wait_for_selector("#webhooks:has-text('1 delivered, 0 waiting, 0 given up')")
        assert page.locator("#webhooks tr[data-seq]").count() == 0
    finally:
        receiver.stop()
