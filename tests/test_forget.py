"""Erasing an address (docs/privacy.md): nothing of it is left anywhere in the database, in any letter
case, while every other recipient keeps its fate; a suppressed address stays suppressed under a keyed
hash. On both backends, through the library, the command line and the HTTP API."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mailfate.cli import main
from mailfate.core.audit import AuditAction, AuditEntry
from mailfate.core.erasure import HASH_PREFIX, pattern, redact
from mailfate.core.suppression import Action, Policy
from mailfate.errors import ErasureKeyError, UsageError
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event, sns_envelope

from .conftest import ingest, jsonl, stored
from .support import request

KEY = b"a-secret-erasure-key-for-tests"
TARGET = "Heidi.Target@Example.COM"
GONE = TARGET.lower()
OTHERS = ("olga@example.com", "peter@example.org", "quinn@example.net")


def dataset() -> list[dict[str, Any]]:
    """Messages the target shares with others and has alone, by several routes and in several spellings."""
    both = ["Heidi Target <Heidi.Target@Example.COM>", OTHERS[0]]
    return [
        event("Send", "m-shared", both, "2026-11-20T10:00:00.000Z"),
        event("Delivery", "m-shared", [OTHERS[0]], "2026-11-20T10:00:05.000Z", destination=both),
        bounce_event(
            "m-shared",
            [TARGET],
            "2026-11-20T10:00:06.000Z",
            "Permanent",
            "General",
            "5.1.1",
            f"smtp; 550 5.1.1 <{TARGET.upper()}>: user unknown",
            destination=both,
        ),
        # Inside an SNS envelope: the SES event is a JSON string within the record.
        sns_envelope(event("Send", "m-alone", [GONE], "2026-11-21T10:00:00.000Z")),
        event("Delivery", "m-other", [OTHERS[1], OTHERS[2]], "2026-11-21T11:00:00.000Z"),
        bounce_event(
            "m-other2",
            [OTHERS[2]],
            "2026-11-22T10:00:00.000Z",
            "Transient",
            "MailboxFull",
            "4.2.2",
            f"mailbox full; mail for {OTHERS[2]} deferred",
        ),
        event("Complaint", "m-other3", [OTHERS[1]], "2026-11-22T11:00:00.000Z"),
        # Another recipient's bounce on the shared message quotes it: that fate and its change keep it.
        bounce_event(
            "m-shared",
            [OTHERS[0]],
            "2026-11-20T10:00:07.000Z",
            "Permanent",
            "General",
            "5.1.1",
            f"smtp; 550 rejected; see also {TARGET.upper()}",
            destination=both,
        ),
    ]


def fates(store: Store) -> str:
    """Every other recipient's fate, as the message API shows it, and their suppressions, as JSON."""
    found = {}
    for message_id in ("m-shared", "m-other", "m-other2", "m-other3"):
        view = store.message(message_id)
        assert view is not None
        for item in view.to_json()["recipients"]:
            if item["address"] != GONE:
                found[(message_id, item["address"])] = item
    for address in OTHERS:
        suppression = store.suppression(address)
        found[("suppression", address)] = suppression.to_json() if suppression else None
    return json.dumps({" ".join(k): v for k, v in found.items()}, sort_keys=True)


def hits_in_sqlite(path: str) -> list[str]:
    """Every table and column of the file holding the address, in any case (text and bytes)."""
    needle = GONE.encode()
    found = []
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
                    if needle in data.lower():
                        found.append(f"{table}: {data[:200]!r}")
    finally:
        conn.close()
    return found


def hits_in_postgres(url: str) -> list[str]:
    """Every table and column of the schema holding the address, in any case, found via the catalog."""
    import psycopg

    found = []
    with psycopg.connect(url, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
        assert columns
        for table, column, data_type in columns:
            text = f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
            count = conn.execute(
                f'SELECT count(*) FROM "{table}" WHERE strpos(lower({text}), %s) > 0', (GONE,)
            ).fetchone()
            if count and count[0]:
                found.append(f"{table}.{column}: {count[0]} rows")
    return found


def test_forget_leaves_no_trace_and_other_fates_unchanged(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, policy=Policy(erasure_key=KEY))
    try:
        store.register_webhooks(["https://hooks.example.test/x"])
        ingest(store, dataset())
        # A suppression by hand with the address in its reason, a quarantined record naming it, a
        # webhook delivery still to make about it.
        at = "2026-11-23T10:00:00.000Z"
        audit = AuditEntry(at, "ops", AuditAction.SUPPRESS, GONE, f"asked by {TARGET}")
        store.add_action(GONE, Action("suppress", at, f"asked by {TARGET}"), audit)
        # ...and one of ANOTHER address whose reason names it (the list, its state, the change feed).
        store.add_action(OTHERS[2], Action("suppress", at, f"asked by {TARGET.swapcase()} via ticket"))
        from mailfate.sources.ingest import ingest_bytes

        ingest_bytes(store, jsonl([{"unknown": f"to {TARGET.swapcase()}"}]))
        store.sequence()
        store.fill_outbox("https://hooks.example.test/x", "2026-11-23T10:00:00.000Z")
        before = fates(store)
        suppressed = store.suppression(GONE)
        assert suppressed is not None
        assert suppressed.reason == "bounce"
        assert store.quarantined()
        assert store.recipient(GONE).messages

        entry = AuditEntry("2026-11-24T10:00:00.000Z", "ops", AuditAction.FORGET, GONE, f"request from {TARGET}")
        erasure = store.forget(GONE, audit=entry)
        assert erasure.suppressed
        assert erasure.audit == 2
        assert erasure.events >= 3
        assert erasure.fates == 2
        assert erasure.messages == 1
        assert erasure.records >= 3
        assert erasure.quarantined == 1
        assert erasure.suppressions == 1
        assert erasure.changes >= 1
        assert erasure.deliveries >= 1

        # Every other recipient: the same fate, the same suppression, where they named it, without it.
        assert GONE in before.lower()
        assert fates(store) == redact(before, pattern(GONE))
        # Still suppressed, for the same reason and since the same time, without the address stored.
        found = store.suppression(GONE)
        assert found is not None
        assert (found.reason, found.since) == (suppressed.reason, suppressed.since)
        (result,) = store.check([TARGET])
        assert not result.allowed
        assert result.suppression is not None
        view = store.recipient(GONE)
        assert view.suppression is not None
        assert not view.messages
        assert GONE not in [s.address for s in store.suppressions()]
        trail = [(e.action, e.target.startswith(HASH_PREFIX)) for e in store.audit().entries]
        assert trail == [("forget", True), ("suppress", True)]
        again = store.forget(GONE)  # idempotent: nothing left, still suppressed
        assert again.suppressed
        assert not any(again.removed.values())
    finally:
        store.close()
    if store_url.startswith("sqlite"):
        path = store_url.removeprefix("sqlite:///")
        assert hits_in_sqlite(path) == []
        # The file itself, WAL checkpointed by forget: the overwritten rows left no copy...
        for name in (path, f"{path}-wal"):
            if Path(name).exists():
                assert GONE.encode() not in Path(name).read_bytes().lower(), name
        conn = sqlite3.connect(path)
        conn.execute("VACUUM")
        conn.close()
        assert GONE.encode() not in Path(path).read_bytes().lower()  # ...and none after a VACUUM
    else:
        assert hits_in_postgres(store_url) == []
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn:
            (hashed,) = conn.execute("SELECT address FROM kept_suppressions").fetchone() or ("",)
        assert hashed.startswith(HASH_PREFIX)


def test_an_event_for_an_erased_address_finds_it_suppressed(store: Store, store_url: str) -> None:
    keyed = open_store(store_url, policy=Policy(erasure_key=KEY))
    try:
        ingest(keyed, [event("Complaint", "m1", [GONE], "2026-11-20T10:00:00.000Z")])
        keyed.forget(GONE)
        assert keyed.suppression(GONE) is not None
        ingest(keyed, [event("Delivery", "m2", [TARGET], "2026-11-25T10:00:00.000Z")])
        found = keyed.suppression(GONE)
        assert found is not None
        assert found.reason == "complaint"
        assert [s.address for s in keyed.suppressions()] == [GONE]  # known again, so listed again
        # Lifted by hand, it may be mailed: the kept suppression does not outlive the lift.
        keyed.add_action(GONE, Action("lift", "2026-11-26T10:00:00.000Z"))
        assert keyed.suppression(GONE) is None
        assert keyed.check([GONE])[0].allowed
    finally:
        keyed.close()


def test_an_address_that_was_not_suppressed_leaves_no_hash(store_url: str) -> None:
    keyed = open_store(store_url, policy=Policy(erasure_key=KEY))
    try:
        ingest(keyed, [event("Delivery", "m1", [GONE, OTHERS[0]], "2026-11-20T10:00:00.000Z")])
        erasure = keyed.forget(GONE)
        assert not erasure.suppressed
        assert erasure.fates == 1
        assert keyed.check([GONE])[0].allowed
        assert keyed.message("m1") is not None  # the other recipient keeps the message
    finally:
        keyed.close()


def test_the_key_is_needed_and_must_be_the_same(store_url: str) -> None:
    keyed = open_store(store_url, policy=Policy(erasure_key=KEY))
    try:
        ingest(keyed, [event("Complaint", "m1", [GONE], "2026-11-20T10:00:00.000Z")])
        keyed.forget(GONE)
    finally:
        keyed.close()
    for policy in (Policy(), Policy(erasure_key=b"another-key-of-enough-length")):
        other = open_store(store_url, policy=policy)
        try:
            with pytest.raises(ErasureKeyError, match="MAILFATE_ERASURE_KEY"):
                other.check([GONE])
            if policy.erasure_key is None:
                with pytest.raises(UsageError, match="MAILFATE_ERASURE_KEY"):
                    other.forget(GONE)
            # A suppression by hand is refused before anything is written, not kept and then failed.
            at = "2026-11-21T10:00:00.000Z"
            entry = AuditEntry(at, "ops", AuditAction.SUPPRESS, "new@example.com", "asked")
            with pytest.raises(ErasureKeyError, match="MAILFATE_ERASURE_KEY"):
                other.add_action("new@example.com", Action("suppress", at, "asked"), entry)
        finally:
            other.close()
    keyed = open_store(store_url, policy=Policy(erasure_key=KEY))
    try:
        assert keyed.suppression("new@example.com") is None
        assert keyed.audit(target="new@example.com").entries == []
    finally:
        keyed.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    data = tmp_path / "data.jsonl"
    data.write_bytes(jsonl(dataset()))
    assert run(capsys, "ingest", str(data), "--db", db)[0] == 0
    code, out, err = run(capsys, "forget", TARGET, "--db", db)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "MAILFATE_ERASURE_KEY" in err
    monkeypatch.setenv("MAILFATE_ERASURE_KEY", KEY.decode())
    # A --db that names no database is refused, not created empty with "nothing stored about ... any more".
    typo = tmp_path / "typo.db"
    code, out, err = run(capsys, "forget", TARGET, "--db", f"sqlite:///{typo}")
    assert (code, out) == (1, "")
    assert err.startswith(f"mailfate: no mailfate database at {typo} (no such file)")
    assert err.count("\n") == 1
    assert not list(tmp_path.glob("typo.db*"))
    code, out, err = run(capsys, "forget", TARGET, "--db", db)
    assert code == 0, err
    assert out.startswith(f"forgot {GONE}: ")
    assert "fates" in out
    assert "keyed hash" in out
    code, out, _ = run(capsys, "forget", TARGET.upper(), "--db", db, "--json")
    assert code == 0
    assert json.loads(out) == {"address": GONE, "removed": dict.fromkeys(json.loads(out)["removed"], 0),
                               "suppressed": True}  # fmt: skip
    code, out, _ = run(capsys, "check", GONE, "--db", db)
    assert code == 1
    assert "bounce" in out
    code, out, _ = run(capsys, "audit", "--json", "--db", db)
    assert code == 0
    assert '"forget"' in out
    assert HASH_PREFIX in out
    assert GONE not in out.lower()
    code, _, err = run(capsys, "forget", "not an address", "--db", db)
    assert code == 2
    assert err.count("\n") == 1
    monkeypatch.setenv("MAILFATE_ERASURE_KEY", "short")
    code, _, err = run(capsys, "forget", GONE, "--db", db)
    assert code == 2
    assert "at least 16" in err


def test_over_http(servers: Any, tmp_path: Path) -> None:
    db = stored(f"sqlite:///{tmp_path / 'http.db'}", dataset())
    token = {"Authorization": "Bearer a-token-for-the-tests"}
    plain = servers({"MAILFATE_API_TOKEN": token["Authorization"][7:]}, db=db)
    answer = request(plain.port, "DELETE", f"/api/recipients/{GONE}", headers=token)
    assert answer.status == 501
    assert "MAILFATE_ERASURE_KEY" in answer.json()["error"]
    plain.stop()
    keyed = servers({"MAILFATE_API_TOKEN": token["Authorization"][7:], "MAILFATE_ERASURE_KEY": KEY.decode()}, db=db)
    assert request(keyed.port, "DELETE", f"/api/recipients/{GONE}").status == 401
    answer = request(keyed.port, "DELETE", f"/api/recipients/{TARGET}", headers=token)
    assert answer.status == 200
    body = answer.json()
    assert body["address"] == GONE
    assert body["suppressed"]
    assert body["removed"]["fates"] == 2
    assert request(keyed.port, "DELETE", "/api/recipients/nobody", headers=token).status == 400
    trail = request(keyed.port, "GET", "/api/audit", headers=token).json()["entries"]
    assert trail[0]["action"] == "forget"
    assert trail[0]["target"].startswith(HASH_PREFIX)
    check = request(keyed.port, "GET", f"/api/check/{TARGET}", headers=token).json()
    assert check["allowed"] is False
    assert check["suppression"]["reason"] == "bounce"
    looked_up = request(keyed.port, "GET", f"/api/recipients/{GONE}", headers=token).json()
    assert looked_up["suppressed"]
    assert looked_up["messages"] == []
    again = request(keyed.port, "DELETE", f"/api/recipients/{GONE}", headers=token).json()
    assert not any(again["removed"].values())
    assert not [line for line in (tmp_path / "server.log").read_text().splitlines() if re.search(GONE, line, re.I)]


def test_a_reader_delays_the_checkpoint_and_forget_again_completes_it(tmp_path: Path) -> None:
    """The checkpoint is best effort (docs/privacy.md): a reader holding a snapshot keeps the old pages
    in the file; once it is done, forgetting again leaves no copy, without a VACUUM."""
    path = tmp_path / "held.db"
    store = open_store(f"sqlite:///{path}", policy=Policy(erasure_key=KEY))
    try:
        ingest(store, dataset())
        reader = sqlite3.connect(path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM events").fetchall()  # its snapshot pins the old pages
            store.forget(GONE)
            reader.execute("COMMIT")
            held = [n.read_bytes().lower() for n in (path, Path(f"{path}-wal")) if n.exists()]
            assert any(GONE.encode() in data for data in held)  # what the docs warn of
            store.forget(GONE)
        finally:
            reader.close()
    finally:
        store.close()
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            assert GONE.encode() not in name.read_bytes().lower(), name
