"""Reputation figures (docs/suppression-and-reputation.md), checked against figures computed by hand on a
fixed data set."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from mailfate.cli import main
from mailfate.core.stats import BOUNCE_THRESHOLDS, COMPLAINT_THRESHOLDS, level
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest

SENT = "2026-11-20T09:00:00.000Z"
LATER = "2026-11-20T09:05:00.000Z"
WINDOW = ["--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z"]


def _message(
    mid: str, to: str, config: str, source: str, campaign: str, *extra: dict[str, Any]
) -> list[dict[str, Any]]:
    records = [event("Send", mid, [to], SENT), *extra]
    for record in records:
        record["mail"]["timestamp"] = SENT
        record["mail"]["source"] = source
        record["mail"]["tags"] = {"ses:configuration-set": [config], "campaign": [campaign],
                                  "ses:from-domain": [source.split("@")[1]]}  # fmt: skip
    return records


def dataset() -> list[dict[str, Any]]:
    """Twenty recipients; the comments say what each one counts as."""
    records: list[dict[str, Any]] = []

    def t(n: int, *extra: dict[str, Any]) -> None:
        records.extend(_message(f"t{n}", f"r{n}@example.net", "transactional", "shop@example.com", "receipts", *extra))

    def m(n: int, to: str, *extra: dict[str, Any]) -> None:
        records.extend(_message(f"m{n}", to, "marketing", "news@news.example.org", "november", *extra))

    def d(mid: str, to: str) -> dict[str, Any]:
        return event("Delivery", mid, [to], LATER)

    t(1, d("t1", "r1@example.net"), event("Open", "t1", ["r1@example.net"], LATER))  # delivered, opened
    t(
        2,
        d("t2", "r2@example.net"),
        event("Open", "t2", ["r2@example.net"], LATER),
        event("Click", "t2", ["r2@example.net"], LATER),
    )  # delivered, opened, clicked
    t(3, d("t3", "r3@example.net"))  # delivered
    t(4, d("t4", "r4@example.net"))  # delivered
    t(5, bounce_event("t5", ["r5@example.net"], LATER, "Permanent", "General", "5.1.1"))  # hard, counts in rate
    t(6, bounce_event("t6", ["r6@example.net"], LATER, "Permanent", "OnAccountSuppressionList"))  # hard, not in rate
    records.extend(
        _message(
            "t7",
            "bounce@simulator.amazonses.com",
            "transactional",
            "shop@example.com",
            "receipts",
            bounce_event("t7", ["bounce@simulator.amazonses.com"], LATER, "Permanent", "General"),
        )
    )
    t(8, d("t8", "r8@example.net"), bounce_event("t8", ["r8@example.net"], LATER, "Transient", "General"))  # auto-reply
    t(9, bounce_event("t9", ["r9@example.net"], LATER, "Transient", "MailboxFull", "4.2.2"))  # soft
    t(10, d("t10", "r10@example.net"), event("Complaint", "t10", ["r10@example.net"], LATER))  # complaint
    for n in range(11, 19):
        to = f"r{n}@example.org"
        extra = [event("Open", f"m{n}", [to], LATER)] if n == 11 else []
        m(n, to, d(f"m{n}", to), *extra)  # delivered; r11 opened
    m(19, "r19@example.org", bounce_event("m19", ["r19@example.org"], LATER, "Permanent", "NoEmail", "5.1.1"))
    sim = "complaint@simulator.amazonses.com"
    m(20, sim, d("m20", sim), event("Complaint", "m20", [sim], LATER))  # complaint, not in rate
    # Outside the window: must not count.
    old = _message("old", "r1@example.net", "transactional", "shop@example.com", "receipts")
    for record in old:
        record["mail"]["timestamp"] = "2026-11-10T00:00:00.000Z"
    return records + old


TOTALS = {"sent": 20, "delivered": 13, "hard_bounces": 4, "soft_bounces": 1, "auto_replies": 1, "complaints": 2,
          "opens": 3, "clicks": 1, "bounce_rate": round(2 / 18, 6), "complaint_rate": round(1 / 18, 6),
          "bounce_level": "pause_risk", "complaint_level": "pause_risk"}  # fmt: skip
TRANSACTIONAL = {
    "key": "transactional",
    "sent": 10,
    "delivered": 5,
    "hard_bounces": 3,
    "soft_bounces": 1,
    "auto_replies": 1,
    "complaints": 1,
    "opens": 2,
    "clicks": 1,
    "bounce_rate": round(1 / 9, 6),
    "complaint_rate": round(1 / 9, 6),
    "bounce_level": "pause_risk",
    "complaint_level": "pause_risk",
}
MARKETING = {"key": "marketing", "sent": 10, "delivered": 8, "hard_bounces": 1, "soft_bounces": 0,
             "auto_replies": 0, "complaints": 1, "opens": 1, "clicks": 0, "bounce_rate": round(1 / 9, 6),
             "complaint_rate": 0.0, "bounce_level": "pause_risk", "complaint_level": "healthy"}  # fmt: skip


@pytest.fixture
def db(store_url: str) -> str:
    """The data set, on SQLite and on PostgreSQL."""
    store = open_store(store_url)
    ingest(store, dataset())
    store.close()
    return store_url


def stats(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> Any:
    assert main(["stats", "--db", db, "--json", *WINDOW, *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_totals(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    body = stats(capsys, db)
    assert body["totals"] == TOTALS
    assert body["groups"] == []
    assert (body["since"], body["until"]) == ("2026-11-20T00:00:00.000Z", "2026-11-21T00:00:00.000Z")


def test_by_configuration_set(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert stats(capsys, db, "--group-by", "configuration_set")["groups"] == [MARKETING, TRANSACTIONAL]


def test_by_sending_domain_and_tag(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    by_domain = stats(capsys, db, "--group-by", "sending_domain")["groups"]
    assert [(g["key"], g["sent"]) for g in by_domain] == [("example.com", 10), ("news.example.org", 10)]
    by_tag = stats(capsys, db, "--group-by", "tag:campaign")["groups"]
    assert [(g["key"], g["hard_bounces"]) for g in by_tag] == [("november", 1), ("receipts", 3)]


def test_by_day(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    wide = ["--since", "2026-11-01T00:00:00Z", "--until", "2026-11-30T00:00:00Z", "--group-by", "day"]
    assert main(["stats", "--db", db, "--json", *wide]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [(g["key"], g["sent"]) for g in body["groups"]] == [("2026-11-10", 1), ("2026-11-20", 20)]
    assert body["groups"][1] == {**TOTALS, "key": "2026-11-20"}


def test_text_output(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", db, *WINDOW]) == 0
    out = capsys.readouterr().out
    assert "  bounce rate       11.11%  pause_risk" in out


def test_bad_window_is_usage_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", db, "--since", "2026-11-21T00:00:00Z", "--until", "2026-11-20T00:00:00Z"]) == 2
    assert main(["stats", "--db", db, "--group-by", "colour"]) == 2


@pytest.mark.parametrize(
    ("rate", "thresholds", "expected"),
    [(0.0499, BOUNCE_THRESHOLDS, "healthy"), (0.05, BOUNCE_THRESHOLDS, "under_review"),
     (0.0999, BOUNCE_THRESHOLDS, "under_review"), (0.10, BOUNCE_THRESHOLDS, "pause_risk"),
     (0.00099, COMPLAINT_THRESHOLDS, "healthy"), (0.001, COMPLAINT_THRESHOLDS, "under_review"),
     (0.005, COMPLAINT_THRESHOLDS, "pause_risk")],
)  # fmt: skip
def test_levels_at_the_ses_thresholds(rate: float, thresholds: tuple[float, float], expected: str) -> None:
    assert level(rate, thresholds) == expected


class TestSuppressionCommands:
    def test_list_json_and_csv(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["suppressions", "--db", db, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        reasons = {item["address"]: item["reason"] for item in listed}
        assert reasons == {
            "r5@example.net": "bounce", "r6@example.net": "bounce", "bounce@simulator.amazonses.com": "bounce",
            "r10@example.net": "complaint", "r19@example.org": "bounce",
            "complaint@simulator.amazonses.com": "complaint",
        }  # fmt: skip
        assert main(["suppressions", "--db", db, "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert {r["email"] for r in rows} == set(reasons)
        assert next(r for r in rows if r["email"] == "r19@example.org")["message_id"] == "m19"

    def test_csv_cells_cannot_run_as_formulas(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["suppress", "=1+2@example.com", "--db", db, "--reason", "@SUM(1)"]) == 0
        capsys.readouterr()
        assert main(["suppressions", "--db", db, "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        row = next(r for r in rows if r["email"].endswith("1+2@example.com"))
        assert (row["email"], row["note"], row["event_kind"]) == ("'=1+2@example.com", "'@SUM(1)", "manual")
        assert next(r for r in rows if r["email"] == "r19@example.org")["message_id"] == "m19"

    def test_suppress_and_unsuppress(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["suppress", "New <NEW@example.com>", "--db", db, "--reason", "asked"]) == 0
        assert capsys.readouterr().out == "new@example.com suppressed (manual: asked)\n"
        assert main(["recipient", "new@example.com", "--db", db, "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert body["suppressed"] is True
        assert body["suppression"]["reason"] == "manual"
        assert body["suppression"]["event"] == {"kind": "manual", "reason": "asked"}
        assert main(["suppressions", "--db", db, "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert next(r for r in rows if r["email"] == "new@example.com")["note"] == "asked"
        assert main(["suppressions", "--db", db]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("new@example.com"))
        assert line.endswith("  asked")
        assert main(["recipient", "new@example.com", "--db", db]) == 0
        assert capsys.readouterr().out.startswith("new@example.com  suppressed (manual: asked)\n")
        assert main(["unsuppress", "new@example.com", "--db", db]) == 0
        assert main(["unsuppress", "new@example.com", "--db", db]) == 1  # nothing left to lift
        assert main(["unsuppress", "r19@example.org", "--db", db]) == 0
        capsys.readouterr()
        assert main(["suppressions", "--db", db, "--json"]) == 0
        remaining = {item["address"] for item in json.loads(capsys.readouterr().out)}
        assert "r19@example.org" not in remaining
        assert "new@example.com" not in remaining

    def test_bad_address(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["suppress", "not-an-address", "--db", db]) == 2


def test_store_stats_directly(db: str) -> None:
    """The library call gives what the command prints."""
    from datetime import UTC, datetime

    from mailfate.core.stats import StatsQuery

    store: Store = open_store(db)
    try:
        query = StatsQuery.parse("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", None, datetime.now(UTC))
        assert store.stats(query).to_json()["totals"] == TOTALS
    finally:
        store.close()


def test_counts_are_backfilled_when_the_migration_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database from before message_counts existed gets them filled by the migration."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    ingest(store, dataset())
    store.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as it was before migration 0003
        conn.execute("DROP TABLE message_counts")
        conn.execute("DELETE FROM schema_migrations WHERE version = '0003_message_counts'")
    assert main(["migrate", "--db", url]) == 0  # a read (stats) would refuse the older schema
    capsys.readouterr()
    assert stats(capsys, url)["totals"] == TOTALS


def test_a_message_with_two_values_of_a_tag_counts_in_both(store: Store) -> None:
    from datetime import UTC, datetime

    from mailfate.core.stats import StatsQuery

    records = []
    for mid, teams in (("x1", ["alpha", "beta"]), ("x2", ["alpha"]), ("x3", None)):
        record = event("Send", mid, [f"{mid}@example.com"], SENT)
        if teams:
            record["mail"]["tags"]["team"] = teams
        records.append(record)
    ingest(store, records)
    query = StatsQuery.parse("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", "tag:team", datetime.now(UTC))
    body = store.stats(query).to_json()
    assert body["totals"]["sent"] == 3
    assert [(g["key"], g["sent"]) for g in body["groups"]] == [("alpha", 2), ("beta", 1)]
