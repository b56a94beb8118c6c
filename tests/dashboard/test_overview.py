"""The overview: gauges, charts, recent trouble, and what a new user sees with no data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailfate.cli import main

from ..support import Server
from .conftest import COMPLAINTS, DESKTOP, HARD_BOUNCES, OLDER_DAYS, PHONE, SENT, SOFT_BOUNCES, loaded, overflow

pytestmark = [pytest.mark.browser, pytest.mark.server]
Start = Callable[..., Server]


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
    assert page.locator("#welcome-panel").is_hidden()  # there is data: no "how to get data in"


def test_a_count_of_one_is_said_in_the_singular(servers: Start, tmp_path: Path, page_for: Any) -> None:
    """The demo has two hard bounces and one complaint among 8 recipients."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", url]) == 0
    page = page_for(servers(db=url))
    loaded(page)
    assert "2 hard bounces, 8 recipients sent" in page.locator("#gauge-bounce").inner_text()
    assert "1 complaint, 8 recipients sent" in page.locator("#gauge-complaint").inner_text()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_charts_show_trouble_on_its_own_scale_against_the_thresholds(
    servers: Start, seeded: Any, page_for: Any, size: tuple[int, int]
) -> None:
    url, expected = seeded
    page = page_for(servers(db=url), *size)
    loaded(page)
    for chart in ("#volume-chart", "#bounce-chart", "#complaint-chart"):
        box = page.locator(f"{chart} canvas").bounding_box()
        assert box["width"] > 200
        assert box["height"] > 100
    assert page.locator("#volume-chart").get_attribute("data-days") == str(expected["days"])
    total = SENT + OLDER_DAYS * 20
    plotted = page.evaluate(
        "() => document.querySelector('#volume-chart').chart.data.slice(1).map((ys) => ys.reduce((a, b) => a + b, 0))"
    )
    # Complained and soft-bounced: not delivered (an auto-reply was).
    assert plotted == [total, total - HARD_BOUNCES - COMPLAINTS - SOFT_BOUNCES, HARD_BOUNCES, COMPLAINTS]
    # Bounces and complaints have their own scale: a few a day do not lie flat along the zero of hundreds.
    scales = page.evaluate("() => document.querySelector('#volume-chart').chart.series.slice(1).map((s) => s.scale)")
    assert scales == ["n", "n", "t", "t"]
    top = page.evaluate("() => document.querySelector('#volume-chart').chart.scales.t.max")
    assert 4 <= top < 10  # at most 6 hard bounces a day in the seed: scaled to them, not to 70 sent
    # Each rate chart reaches past its pause-risk threshold, so both threshold lines are in view.
    assert page.evaluate("() => document.querySelector('#bounce-chart').chart.scales['%'].max") > 10
    assert page.evaluate("() => document.querySelector('#complaint-chart').chart.scales['%'].max") > 0.5
    # Today is still going on: the x axis runs to the end of today, whose band is labelled.
    end = page.evaluate("() => document.querySelector('#volume-chart').chart.scales.x.max")
    now = page.evaluate("() => Date.now() / 1000")
    assert now <= end <= now + 86400
    legend = " ".join(page.locator("#volume-chart .legend").inner_text().split())
    for text in (f"Sent {total}", f"Hard bounces {HARD_BOUNCES}", f"Complaints {COMPLAINTS}", "today, so far"):
        assert text in legend
    assert "--" not in legend
    assert "5 %: under review" in " ".join(page.locator("#bounce-chart .legend").inner_text().split())
    assert "0.5 %: pause risk" in " ".join(page.locator("#complaint-chart .legend").inner_text().split())
    page.locator("#volume-panel details summary").click()
    rows = page.locator("#volume-table tbody tr")
    assert rows.count() == expected["days"]
    assert overflow(page) == []


def test_an_empty_database_says_how_to_get_data_in(servers: Start, page_for: Any) -> None:
    page = page_for(servers())
    loaded(page)
    welcome = page.locator("#welcome-panel")
    assert welcome.is_visible()
    assert "mailfate demo" in welcome.inner_text()
    assert "mailfate setup aws" in welcome.inner_text()
    gauge = page.locator("#gauge-bounce")
    assert gauge.locator(".value").inner_text() == "–"  # not "Healthy 0.00 %"
    assert "Nothing sent" in gauge.locator(".level").inner_text()
    assert "Healthy" not in page.locator("#gauges").inner_text()
