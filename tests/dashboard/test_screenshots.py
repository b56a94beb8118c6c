"""The pictures in the docs (make screenshots), taken from a seeded server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..support import Server
from .conftest import DESKTOP, PHONE, loaded

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]


def test_screenshots_for_the_docs(servers: Start, seeded: Any, page_for: Any) -> None:
    """With MAILFATE_TEST_SCREENSHOTS=docs/img (make screenshots), saves the pictures the docs show."""
    url, expected = seeded
    server = servers(db=url)
    folder = os.environ.get("MAILFATE_TEST_SCREENSHOTS")
    shots = (
        ("desktop", DESKTOP, "/", "#gauges .gauge", True),
        ("activity", DESKTOP, "/#view=activity&status=bounced%2Ccomplained", "#activity-list tbody tr", False),
        ("quarantine", DESKTOP, "/#view=quarantine", "#quarantine tbody tr", False),
        ("phone", PHONE, "/", "#gauges .gauge", False),
        ("phone-activity", PHONE, f"/#view=activity&message={expected['bounced'][2]}", "#timeline li", False),
    )
    for name, size, path, ready, full in shots:
        page = page_for(server, *size, path=path)
        loaded(page)
        page.wait_for_selector(ready)
        page.evaluate("() => window.scrollTo(0, 0)")
        shot = page.screenshot(full_page=full)
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"dashboard-{name}.png").write_bytes(shot)
