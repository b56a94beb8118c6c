"""The audit trail on both backends: written with the action, paged, filtered, never pruned, rewritten by
an erasure; through the command line (a terminal is asked for a reason) and over HTTP with token names."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mailfate.cli.main import main
from mailfate.core.audit import NO_REASON, AuditAction, AuditEntry
from mailfate.core.suppression import Action
from mailfate.errors import UsageError
from mailfate.store import Store, open_store
from mailfate.store.audit import forget_address

from .support import Server, at_terminal, request
from .test_roles import ADMIN_SECRET, DEFAULT_SECRET, READER_SECRET, TOKENS, call

Start = Callable[..., Server]
EXE = str(Path(sys.executable).with_name("mailfate"))


def entry(n: int, action: AuditAction = AuditAction.SUPPRESS, target: str = "a@example.com") -> AuditEntry:
    return AuditEntry(f"2026-11-29T10:00:{n:02d}.000Z", "cli:tester", action, target, f"reason {n}")


class TestStore:
    def test_an_action_and_its_entry_commit_together(self, store: Store) -> None:
        store.add_action("a@example.com", Action("suppress", "2026-11-29T10:00:00.000Z", "asked"), entry(0))
        assert store.suppression("a@example.com") is not None
        (recorded,) = store.audit().entries
        assert (recorded.actor, recorded.action, recorded.target, recorded.reason) == (
            "cli:tester", AuditAction.SUPPRESS, "a@example.com", "reason 0"
        )  # fmt: skip
        # An entry that cannot be written takes its action down with it.
        broken = AuditEntry("2026-11-29T10:00:01.000Z", "x", AuditAction.SUPPRESS, "b@example.com",
                            detail={"bad": object()})  # fmt: skip
        with pytest.raises(TypeError):
            store.add_action("b@example.com", Action("suppress", "2026-11-29T10:00:01.000Z"), broken)
        assert store.suppression("b@example.com") is None
        assert len(store.audit().entries) == 1

    def test_paged_newest_first_and_filtered(self, store: Store) -> None:
        for n in range(7):
            action = AuditAction.UNSUPPRESS if n % 2 else AuditAction.SUPPRESS
            store.record_audit(entry(n, action, f"u{n % 3}@example.com"))
        seen, cursor = [], None
        for _ in range(10):  # bounded: 7 entries, 3 a page
            page = store.audit(3, cursor)
            seen += [e.reason for e in page.entries]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [f"reason {n}" for n in range(6, -1, -1)]
        assert [e.reason for e in store.audit(action=AuditAction.UNSUPPRESS).entries] == [
            "reason 5", "reason 3", "reason 1"
        ]  # fmt: skip
        assert [e.reason for e in store.audit(target="u0@example.com").entries] == ["reason 6", "reason 3", "reason 0"]
        # An address target is found as addresses are everywhere: in any case, with a display name.
        for asked in ("U0@Example.COM", " <u0@EXAMPLE.com> "):
            assert [e.reason for e in store.audit(target=asked).entries] == ["reason 6", "reason 3", "reason 0"]
        with pytest.raises(UsageError, match="cursor"):
            store.audit(3, "not-a-cursor")

    def test_retention_never_prunes_it(self, store: Store) -> None:
        store.record_audit(entry(1))
        store.prune("2999-01-01T00:00:00.000Z")
        assert len(store.audit().entries) == 1

    def test_an_erasure_rewrites_every_mention_in_any_case(self, store: Store, store_url: str) -> None:
        store.record_audit(AuditEntry("2026-11-29T10:00:00.000Z", "ops", AuditAction.UNSUPPRESS,
                                      "gone@example.com", "Gone@Example.com asked, by phone"))  # fmt: skip
        store.record_audit(AuditEntry("2026-11-29T10:00:01.000Z", "ops", AuditAction.PUSH_SES, "SES list",
                                      NO_REASON, {"note": "GONE@example.com", "addresses": 3}))  # fmt: skip
        store.record_audit(entry(2, target="kept@example.com"))
        with store._transaction() as tx:  # type: ignore[attr-defined]  # as forget calls it, in its transaction
            assert forget_address(tx, "gone@example.com", "hmac:1234") == 2
        texts = json.dumps([e.to_json() for e in store.audit().entries]).lower()
        assert "gone@example.com" not in texts
        kept, pushed, lifted = store.audit().entries
        assert (lifted.target, lifted.reason) == ("hmac:1234", "hmac:1234 asked, by phone")
        assert pushed.detail == {"note": "hmac:1234", "addresses": 3}
        assert kept.target == "kept@example.com"
        with store._transaction() as tx:  # type: ignore[attr-defined]
            assert forget_address(tx, "gone@example.com", "hmac:1234") == 0  # idempotent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's refusal of an argument
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_records_the_os_user(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "suppress", "A@Example.com", "--reason", "asked by legal", "--db", store_url)[0] == 0
    assert run(capsys, "unsuppress", "a@example.com", "--db", store_url)[0] == 0  # no terminal: no question
    code, out, _ = run(capsys, "audit", "--json", "--db", store_url)
    assert code == 0
    lifted, added = json.loads(out)
    actor = f"cli:{getpass.getuser()}"
    assert (added["actor"], added["action"], added["target"], added["reason"]) == (
        actor, "suppress", "a@example.com", "asked by legal"
    )  # fmt: skip
    assert (lifted["actor"], lifted["action"], lifted["reason"]) == (actor, "unsuppress", NO_REASON)
    code, out, _ = run(capsys, "audit", "--action", "unsuppress", "--db", store_url)
    assert code == 0
    assert "unsuppress  a@example.com" in out
    assert " suppress " not in out
    assert json.loads(run(capsys, "audit", "--json", "--limit", "1", "--db", store_url)[1])[0]["id"] == lifted["id"]
    code, _, err = run(capsys, "audit", "--action", "delete", "--db", store_url)
    assert code == 2
    assert "action must be one of" in err
    code, _, err = run(capsys, "unsuppress", "a@example.com", "--reason", "x" * 1001, "--db", store_url)
    assert code == 2
    assert "over 1000 characters" in err


def unsuppress_at_terminal(url: str, typed: bytes) -> tuple[int, str, str]:
    return at_terminal(["unsuppress", "a@example.com", "--db", url], typed)


def test_cli_asks_a_terminal_for_a_reason(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "suppress", "a@example.com", "--db", store_url)
    code, _, err = unsuppress_at_terminal(store_url, b"\n\n\n")
    assert code == 2
    assert err.count("Why lift the suppression of a@example.com?") == 3
    assert "a reason is required" in err
    assert run(capsys, "check", "a@example.com", "--db", store_url)[0] == 1  # still suppressed
    code, out, _ = unsuppress_at_terminal(store_url, b"  customer called  \n")
    assert code == 0
    assert "no longer suppressed" in out
    latest = json.loads(run(capsys, "audit", "--json", "--db", store_url)[1])[0]
    assert (latest["action"], latest["reason"]) == ("unsuppress", "customer called")


@pytest.mark.server
def test_http_records_the_token_name(servers: Start, store_url: str) -> None:
    server = servers(TOKENS, db=store_url)
    added = call(server, "PUT", "/api/suppressions/a%40example.com", ADMIN_SECRET, {"reason": "bounced by hand"})
    assert added[0] == 200
    assert call(server, "PUT", "/api/suppressions/b%40example.com", DEFAULT_SECRET)[0] == 200
    response = request(server.port, "DELETE", "/api/suppressions/a%40example.com",
                       headers={"Authorization": f"Bearer {DEFAULT_SECRET}"})  # fmt: skip
    assert response.status == 200  # no body: the contract's call, still served
    assert call(server, "DELETE", "/api/suppressions/nobody%40example.com", ADMIN_SECRET, {"reason": "x"})[0] == 404
    status, page = call(server, "GET", "/api/audit", READER_SECRET)
    assert status == 200
    assert page["next_cursor"] is None
    assert [(e["actor"], e["action"], e["target"], e["reason"]) for e in page["entries"]] == [
        ("default", "unsuppress", "a@example.com", NO_REASON),
        ("default", "suppress", "b@example.com", NO_REASON),
        ("ops", "suppress", "a@example.com", "bounced by hand"),
    ]
    status, first = call(server, "GET", "/api/audit?limit=2&action=suppress", READER_SECRET)
    assert status == 200
    assert [e["target"] for e in first["entries"]] == ["b@example.com", "a@example.com"]
    assert first["next_cursor"] is None
    status, upper = call(server, "GET", "/api/audit?target=A%40EXAMPLE.COM", READER_SECRET)
    assert (status, [e["action"] for e in upper["entries"]]) == (200, ["unsuppress", "suppress"])
    status, first = call(server, "GET", "/api/audit?limit=2", READER_SECRET)
    status, rest = call(server, "GET", f"/api/audit?limit=2&cursor={first['next_cursor']}", READER_SECRET)
    assert [e["actor"] for e in rest["entries"]] == ["ops"]
    assert rest["next_cursor"] is None
    for bad in ("action=delete", "limit=0", "cursor=xyz", "actor=ops"):
        status, body = call(server, "GET", f"/api/audit?{bad}", READER_SECRET)
        assert (status, body["status"]) == (400, 400), bad


@pytest.mark.server
def test_the_python_client_says_why_and_a_read_token_is_forbidden(servers: Start) -> None:
    import mailfate

    server = servers(TOKENS)
    base = f"http://127.0.0.1:{server.port}"
    with mailfate.Client(base, token=READER_SECRET) as reader:
        with pytest.raises(mailfate.Forbidden, match="may only read") as refused:
            reader.suppress("c@example.com")
        assert refused.value.status == 403
    with mailfate.Client(base, token=ADMIN_SECRET) as admin:
        admin.suppress("c@example.com", reason="test")
        with pytest.raises(ValueError, match="needs a reason"):
            admin.unsuppress("c@example.com", "  ")
        admin.unsuppress("c@example.com", "the customer asked")
    latest = call(server, "GET", "/api/audit?limit=1", READER_SECRET)[1]["entries"][0]
    assert (latest["actor"], latest["action"], latest["reason"]) == ("ops", "unsuppress", "the customer asked")


def test_a_push_to_ses_is_recorded(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailfate.cli import reputation
    from mailfate.sources.ingest import ingest_bytes
    from mailfate.testing import bounce_event

    from .conftest import jsonl

    store = open_store(store_url)
    try:
        bounced = bounce_event("m-1", ["gone@example.com"], "2026-11-20T10:00:00.000Z", "Permanent", "General")
        ingest_bytes(store, jsonl([bounced]))
    finally:
        store.close()
    # moto does not serve the sesv2 suppression operations: a real client, its answers stubbed, as in
    # test_suppression.TestSesAccountList (the request is still checked against the service's model).
    ses = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(reputation, "sesv2_client", lambda region: ses)
    with Stubber(ses) as stub:
        stub.add_response("put_suppressed_destination", {}, {"EmailAddress": "gone@example.com", "Reason": "BOUNCE"})
        code, _, err = run(capsys, "suppressions", "--push-ses", "--json", "--db", store_url)
        assert code == 0, err
        stub.assert_no_pending_responses()  # the one address put, and no other call
    store = open_store(store_url, migrate=False)
    try:
        (pushed,) = store.audit().entries
    finally:
        store.close()
    assert (pushed.action, pushed.target) == ("push_ses", "SES account-level suppression list (eu-west-1)")
    assert pushed.detail == {"addresses": 1, "simulator_left_out": 0}
    assert pushed.actor == f"cli:{getpass.getuser()}"


class TestOperatorActions:
    """Replay, dismiss and redeliver write their entries in their own transactions, as the actor given."""

    def test_replay_and_dismiss(self, store: Store, signer: Any) -> None:
        from mailfate.core.audit import Actor
        from mailfate.core.model import Rejected
        from mailfate.sources.replay import replay_quarantine

        from .test_replay import body, delivery, quarantine, verifier

        good, junk, other = quarantine(
            store,
            Rejected("unknown SES shape", body(delivery()), "file", "old.jsonl:3"),
            Rejected("invalid JSON", b'{"eventType": "Deliv', "file", "old.jsonl:4"),
            Rejected("invalid JSON", b"[", "file", "old.jsonl:5"),
        )
        by = Actor("ops", "2026-11-29T10:00:00.000Z")
        result = replay_quarantine(store, [good, junk, 999999], verifier(signer), by)
        assert [i.outcome for i in result.items] == ["stored", "kept", "missing"]
        assert store.dismiss_quarantined([junk, other, 999999], by) == [junk, other]
        found = [(e.actor, e.action, e.target, e.detail) for e in store.audit().entries]
        assert found == [
            ("ops", "quarantine_dismiss", f"quarantine:{other}", None),
            ("ops", "quarantine_dismiss", f"quarantine:{junk}", None),
            ("ops", "quarantine_replay", "quarantine:999999", {"outcome": "missing"}),
            ("ops", "quarantine_replay", f"quarantine:{junk}", {"outcome": "kept"}),
            ("ops", "quarantine_replay", f"quarantine:{good}", {"outcome": "stored"}),
        ]  # every replay asked for by hand is an entry, whatever came of it
        replay_quarantine(store, [other], verifier(signer))  # no one asked (no actor): no entry
        assert len(store.audit().entries) == len(found)

    def test_redeliver_names_the_webhook_without_its_secret_parts(self, store: Store) -> None:
        from mailfate.core.audit import Actor

        from .test_replay import given_up

        seqs = given_up(store)
        url = "http://127.0.0.1:9/hook"
        by = Actor("cli:tester", "2026-11-29T10:00:00.000Z")
        assert store.redeliver(url, None, by.at, by) == seqs
        assert store.redeliver(url, None, by.at, by) == []  # nothing given up any more: no entry
        (entry,) = store.audit().entries
        assert (entry.action, entry.target, entry.detail) == (
            "webhook_redeliver",
            "http://127.0.0.1:9/…",
            {"seqs": seqs},
        )

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("https://hooks.slack.com/services/T000/B000/SECRETxyz", "https://hooks.slack.com/…"),
            ("http://user:pw@127.0.0.1:8080/hook?token=SECRET", "http://127.0.0.1:8080/…"),
            ("https://[::1]:9/", "https://[::1]:9/"),
            ("http://127.0.0.1:notaport/x", "webhook (URL not shown)"),
        ],
    )
    def test_a_webhook_is_named_by_its_host_only(self, url: str, shown: str) -> None:
        from mailfate.store.audit import webhook_target

        assert webhook_target(url) == shown


@pytest.mark.server
def test_operator_actions_over_http_name_the_token(servers: Start, store_url: str) -> None:
    from mailfate.core.model import Rejected

    store = open_store(store_url)
    try:
        store.ingest([Rejected("junk", b"junk", "sns", authenticated=False)] * 1, "2026-11-29T10:00:00.000Z")
        (item,) = store.quarantined()
    finally:
        store.close()
    server = servers(TOKENS, db=store_url)
    assert call(server, "POST", f"/api/quarantine/{item.id}/replay", READER_SECRET)[0] == 403
    assert call(server, "POST", f"/api/quarantine/{item.id}/replay", ADMIN_SECRET)[1]["outcome"] == "kept"
    assert call(server, "DELETE", f"/api/quarantine/{item.id}", DEFAULT_SECRET)[0] == 200
    entries = call(server, "GET", "/api/audit", READER_SECRET)[1]["entries"]
    assert [(e["actor"], e["action"], e["target"], e["detail"]) for e in entries] == [
        ("default", "quarantine_dismiss", f"quarantine:{item.id}", None),
        ("ops", "quarantine_replay", f"quarantine:{item.id}", {"outcome": "kept"}),
    ]


def test_cli_dismiss_is_recorded_as_the_os_user(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mailfate.core.model import Rejected

    store = open_store(store_url)
    try:
        store.ingest([Rejected("junk", b"junk", "sns", authenticated=False)], "2026-11-29T10:00:00.000Z")
        (item,) = store.quarantined()
    finally:
        store.close()
    assert run(capsys, "quarantine", "replay", str(item.id), "--db", store_url)[0] == 0  # kept: still junk
    assert run(capsys, "quarantine", "dismiss", str(item.id), "--db", store_url)[0] == 0
    dismissed, replayed = json.loads(run(capsys, "audit", "--json", "--db", store_url)[1])
    user = f"cli:{getpass.getuser()}"
    assert (dismissed["actor"], dismissed["action"], dismissed["target"]) == (
        user, "quarantine_dismiss", f"quarantine:{item.id}"
    )  # fmt: skip
    assert (replayed["actor"], replayed["action"], replayed["detail"]) == (
        user, "quarantine_replay", {"outcome": "kept"}
    )  # fmt: skip
