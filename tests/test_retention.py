"""Retention (docs/privacy.md): old raw records, events and fates are pruned, in batches, by ``prune`` and
by ``serve``; suppressions and the figures the charts and stats read outlive them. Both backends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailfate.cli import main
from mailfate.core.insights import DiagnosticsQuery
from mailfate.core.stats import StatsQuery
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError
from mailfate.settings import Settings
from mailfate.store import Store, open_store
from mailfate.store.retention import Retention
from mailfate.testing import bounce_event, event

from .conftest import ingest, jsonl, stored
from .support import request

NOW = datetime.now(UTC)
OLD, RECENT = "bouncer@example.com", "reader@example.org"


def ago(days: float) -> str:
    return format_timestamp(NOW - timedelta(days=days))


def history() -> list[dict[str, Any]]:
    """Ninety days of mail: a hard bounce and a complaint long ago, deliveries every few days."""
    records = [
        event("Send", "old-bounce", [OLD], ago(80)),
        bounce_event(
            "old-bounce",
            [OLD],
            ago(80),
            "Permanent",
            "General",
            "5.1.1",
            "smtp; 550 5.1.1 unknown user",
            sent_at=ago(80),
        ),
        event("Complaint", "old-complaint", ["grumpy@example.net"], ago(70), sent_at=ago(70)),
    ]
    for n in range(0, 90, 3):
        message = f"m-{n}"
        records.append(event("Send", message, [RECENT, f"user{n}@example.com"], ago(n + 0.5)))
        records.append(event("Delivery", message, [RECENT, f"user{n}@example.com"], ago(n + 0.4), sent_at=ago(n + 0.5)))
    return records


def figures(store: Store) -> dict[str, Any]:
    """What the charts and the stats read: by day over 120 days, in all, by domain, the top reasons."""
    found = {}
    for group_by in (None, "day", "recipient_domain", "configuration_set"):
        query = StatsQuery.parse(ago(120), format_timestamp(NOW), group_by, NOW)
        found[group_by or "all"] = store.stats(query).to_json()
    for days in (7, 30, 90):
        found[f"{days} days"] = store.stats(StatsQuery.parse(ago(days), format_timestamp(NOW), "day", NOW)).to_json()
    reasons = store.diagnostics(DiagnosticsQuery.parse(ago(120), format_timestamp(NOW), None, None, NOW)).to_json()
    for reason in reasons["reasons"]:
        reason.pop("examples")  # links to messages: a pruned one is no example any more
    found["reasons"] = reasons
    found["suppressions"] = [s.to_item() for s in store.suppressions()]
    return found


def test_pruning_keeps_suppressions_and_figures(store: Store) -> None:
    ingest(store, history())
    before = figures(store)
    assert [s["address"] for s in before["suppressions"]] == ["bouncer@example.com", "grumpy@example.net"]
    assert store.message("old-bounce") is not None

    cutoffs = Retention(records_days=0, events_days=20, fates_days=45).cutoffs(datetime.now(UTC))
    assert cutoffs.fates is not None
    old = {r["mail"]["messageId"]: len(r["mail"]["destination"]) for r in history()
           if r["mail"]["timestamp"] < cutoffs.fates}  # fmt: skip
    pruned = store.apply_retention(cutoffs, batch=7)  # in batches of 7 rows or messages
    assert pruned is not None
    assert pruned.messages == len(old)
    assert pruned.fates == sum(old.values())
    assert pruned.events > 0
    assert pruned.records == len(history())  # all received just now: a cut-off of 0 days takes them
    assert store.message("old-bounce") is None
    assert store.message("m-57") is None
    assert store.message("m-3") is not None
    kept = store.message("m-30")  # within the fates' days, past the events': its fates, no timeline
    assert kept is not None
    assert not kept.events
    assert {r.status.value for r in kept.recipients} == {"delivered"}
    assert figures(store) == before

    # A suppression whose facts are gone still holds when the address's facts change again.
    ingest(store, [event("Delivery", "new", [OLD], ago(1), sent_at=ago(1.1))])
    found = store.suppression(OLD)
    assert found is not None
    assert found.reason == "bounce"
    again = store.apply_retention(Retention(records_days=30, fates_days=45).cutoffs(NOW))
    assert again is not None
    assert (again.messages, again.fates) == (0, 0)


def test_one_process_prunes_at_a_time_on_postgresql(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite: every batch holds the writer lock")
    import psycopg

    store = open_store(store_url)
    try:
        ingest(store, history())
        with psycopg.connect(store_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(7346112010)")
            assert store.apply_retention(Retention(fates_days=45).cutoffs(NOW)) is None
            other.execute("SELECT pg_advisory_unlock(7346112010)")
        pruned = store.apply_retention(Retention(fates_days=45).cutoffs(NOW))
        assert pruned is not None
        assert pruned.messages > 2
    finally:
        store.close()


def test_the_settings_are_checked() -> None:
    assert not Settings.from_env({}).retention.active
    found = Settings.from_env({"MAILFATE_RETENTION_FATES_DAYS": "400", "MAILFATE_RETENTION_EVENTS_DAYS": "90"})
    assert (found.retention.fates_days, found.retention.events_days, found.retention.records_days) == (400, 90, None)
    for env, said in (
        ({"MAILFATE_RETENTION_FATES_DAYS": "30", "MAILFATE_RETENTION_EVENTS_DAYS": "60"}, "cannot be longer"),
        ({"MAILFATE_RETENTION_FATES_DAYS": "10"}, "MAILFATE_SOFT_BOUNCE_WINDOW_DAYS"),
        ({"MAILFATE_RETENTION_RECORDS_DAYS": "0"}, "between 1 and 36500"),
        ({"MAILFATE_RETENTION_RECORDS_DAYS": "a week"}, "must be a number"),
        ({"MAILFATE_RETENTION_INTERVAL": "1"}, "between 60"),
        ({"MAILFATE_ERASURE_KEY": "short"}, "at least 16"),
    ):
        with pytest.raises(UsageError, match=said):
            Settings.from_env(env)


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    data = tmp_path / "data.jsonl"
    data.write_bytes(jsonl(history()))
    assert main(["ingest", str(data), "--db", db]) == 0
    capsys.readouterr()
    assert main(["prune", "--db", db]) == 2
    assert "MAILFATE_RETENTION" in capsys.readouterr().err
    monkeypatch.setenv("MAILFATE_RETENTION_FATES_DAYS", "45")
    assert main(["prune", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deleted ")
    assert "fates" in out
    assert "suppressions and daily figures stay" in out
    assert main(["prune", "--older-than", "0", "--db", db]) == 0  # the contract: raw records too
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("deleted ")
    assert "raw records" in out


def test_serve_prunes_on_its_own(servers: Any, tmp_path: Path) -> None:
    db = stored(f"sqlite:///{tmp_path / 'served.db'}", history())
    server = servers({"MAILFATE_RETENTION_FATES_DAYS": "45"}, db=db)
    deadline = time.monotonic() + 30
    while request(server.port, "GET", "/api/messages/old-bounce").status == 200:
        assert time.monotonic() < deadline, "serve did not apply the retention"
        time.sleep(0.2)
    assert request(server.port, "GET", "/api/messages/m-3").status == 200
    assert request(server.port, "GET", f"/api/check/{OLD}").json()["allowed"] is False
    assert any(line.get("event") == "retention.pruned" and line["messages"] > 0 for line in server.logs())
