"""Replaying and dismissing quarantined records, and redelivering given-up webhook changes: the store and
the replay on both backends, then the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailfate.cli import main
from mailfate.core.model import Rejected
from mailfate.core.timestamps import format_timestamp
from mailfate.sns.certs import CertificateCache
from mailfate.sns.verify import Verifier
from mailfate.sources.replay import replay_quarantine
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event, sns_envelope

from .conftest import ingest
from .support import TOPIC, Signer
from .test_quarantine_budget import recount

T = "2026-11-20T10:00:00.000Z"
URL = "http://127.0.0.1:9/hook"


def delivery(message_id: str = "m-1", address: str = "a@example.com") -> dict[str, object]:
    return event("Delivery", message_id, [address], "2026-11-20T10:00:02Z")


def body(record: dict[str, object]) -> bytes:
    return json.dumps(record).encode()


def verifier(signer: Signer) -> Verifier:
    return Verifier(CertificateCache(certs_dir=signer.folder), frozenset({TOPIC}))


def quarantine(store: Store, *items: Rejected) -> list[int]:
    """Quarantine ``items`` as an older version would have (it did not understand them); their ids."""
    store.ingest(list(items), T)
    return sorted(item.id for item in store.quarantined(limit=1000))[-len(items) :]


def test_what_now_parses_becomes_facts_and_leaves(store: Store, signer: Signer) -> None:
    (good, junk) = quarantine(
        store,
        Rejected("unknown SES shape", body(delivery()), "file", "old.jsonl:3"),
        Rejected("invalid JSON: unexpected end", b'{"eventType": "Deliv', "file", "old.jsonl:4"),
    )
    assert store.message("m-1") is None
    result = replay_quarantine(store, [good, junk], verifier(signer))
    assert [(i.id, i.outcome) for i in result.items] == [(good, "stored"), (junk, "kept")]
    assert result.items[1].reason is not None
    assert "JSON" in result.items[1].reason
    view = store.message("m-1")
    assert view is not None
    assert view.recipients[0].status.value == "delivered"
    (left,) = store.quarantined()
    assert (left.id, left.reason, left.location) == (junk, "invalid JSON: unexpected end", "old.jsonl:4")
    assert store.quarantine_usage() == recount(store)


def test_a_record_whose_facts_are_there_leaves_as_a_duplicate(store: Store, signer: Signer) -> None:
    ingest(store, [delivery()])
    (item,) = quarantine(store, Rejected("unknown SES shape", body(delivery()), "file"))
    (replayed,) = replay_quarantine(store, [item], verifier(signer)).items
    assert replayed.outcome == "duplicate"
    assert store.quarantined() == []


def test_a_record_whose_key_is_taken_by_other_content_stays(store: Store, signer: Signer) -> None:
    record = sns_envelope(delivery(), topic_arn=TOPIC, message_id="sns-1")
    ingest(store, [record])
    other = sns_envelope(bounce_event("m-1", ["a@example.com"], T, "Permanent", "General"), TOPIC, "sns-1")
    (item,) = quarantine(store, Rejected("record key taken", body(other), "file"))
    (replayed,) = replay_quarantine(store, [item], verifier(signer)).items
    assert replayed.outcome == "kept"
    assert replayed.reason is not None
    assert "different content" in replayed.reason
    assert [i.id for i in store.quarantined()] == [item]
    view = store.message("m-1")
    assert view is not None
    assert view.recipients[0].status.value == "delivered"


def signed_now(signer: Signer, record: dict[str, object], topic: str = TOPIC) -> dict[str, object]:
    """Signed at today's time: the test certificate is valid from a day ago."""
    envelope = sns_envelope(record, topic_arn=topic)
    envelope["Timestamp"] = format_timestamp(datetime.now(UTC))
    return signer.sign(envelope)


def test_what_anyone_posted_becomes_facts_only_when_sns_signed_it(store: Store, signer: Signer) -> None:
    signed = signed_now(signer, delivery("m-signed"))
    forged = {**signed_now(signer, delivery("m-forged")), "Signature": "AAAA"}
    other_topic = signed_now(signer, delivery("m-other"), TOPIC.replace("ses-events", "x"))
    ids = quarantine(
        store,
        *(
            Rejected("not an SNS message", body(r), "sns", authenticated=False)
            for r in (signed, forged, other_topic, delivery("m-bare"))
        ),
    )
    result = replay_quarantine(store, ids, verifier(signer))
    assert [i.outcome for i in result.items] == ["stored", "kept", "kept", "kept"]
    assert "SignatureInvalid" in (result.items[1].reason or "")
    assert "TopicNotAllowed" in (result.items[2].reason or "")
    assert "not signed by SNS" in (result.items[3].reason or "")
    assert store.message("m-signed") is not None
    assert [store.message(m) for m in ("m-forged", "m-other", "m-bare")] == [None, None, None]


def test_replay_all_takes_every_record_once_and_counts(store: Store, signer: Signer) -> None:
    records = [Rejected("unknown", body(delivery(f"m-{n}", f"r{n}@example.com")), "file") for n in range(1200)]
    junk = [Rejected("not JSON", b"junk %d" % n, "file") for n in range(30)]
    store.ingest(records + junk, T)
    result = replay_quarantine(store, None, verifier(signer))
    assert (result.count("stored"), result.count("kept"), len(result.items)) == (1200, 30, 1230)
    assert len({i.id for i in result.items}) == 1230
    assert len(store.quarantined(limit=1000)) == 30
    assert store.quarantine_usage() == recount(store)
    assert replay_quarantine(store, [999_999], verifier(signer)).items[0].outcome == "missing"


def test_a_record_kept_only_by_its_beginning_is_not_replayed(store: Store, signer: Signer) -> None:
    (item,) = quarantine(store, Rejected("record too large", b'{"eventType": ', "file", size=50_000_000))
    (replayed,) = replay_quarantine(store, [item], verifier(signer)).items
    assert replayed.outcome == "kept"
    assert "ingest its file again" in (replayed.reason or "")


def test_dismiss_drops_the_records_named_and_keeps_the_budget_exact(store: Store) -> None:
    ids = quarantine(store, *(Rejected(f"reason {n}", b"x" * n, "sns", authenticated=False) for n in range(5)))
    assert store.dismiss_quarantined([ids[0], ids[2], 424242]) == [ids[0], ids[2]]
    assert sorted(i.id for i in store.quarantined()) == [ids[1], ids[3], ids[4]]
    assert store.dismiss_quarantined([ids[0]]) == []
    assert store.quarantine_usage() == recount(store)


def given_up(store: Store, addresses: int = 2) -> list[int]:
    """Changes for URL that were each tried once and given up on (a receiver that refused them)."""
    store.register_webhooks([URL])
    ingest(store, [event("Send", "m-1", [f"r{n}@example.com" for n in range(addresses)], T)])
    store.fill_outbox(URL, T)
    claimed = store.claim_deliveries(URL, T, "2026-11-20T10:01:00.000Z")
    for delivery_ in claimed:
        store.delivery_failed(delivery_, T, 422, "HTTP 422: refused", None)
    return [d.change.seq for d in claimed]


def test_redeliver_makes_given_up_changes_due_again(store: Store) -> None:
    seqs = given_up(store)
    assert len(seqs) == 2
    assert store.claim_deliveries(URL, "2026-11-20T11:00:00.000Z", "2026-11-20T11:01:00.000Z") == []
    assert store.redeliver(URL, [seqs[0], 987654], "2026-11-20T11:00:00.000Z") == [seqs[0]]
    (status,) = store.webhooks([URL])
    assert status["failed"] == 1
    again = next(f for f in status["failures"] if f["seq"] == seqs[0])
    assert again["state"] == "pending"
    assert again["next_attempt_at"] == "2026-11-20T11:00:00.000Z"
    assert (again["attempts"], again["last_error"]) == (1, "HTTP 422: refused")  # the history stays
    claimed = store.claim_deliveries(URL, "2026-11-20T11:00:00.000Z", "2026-11-20T11:01:00.000Z")
    assert [d.change.seq for d in claimed] == [seqs[0]]
    assert claimed[0].first_attempt_at is None  # a new retry window
    assert store.redeliver(URL, None, "2026-11-20T11:00:00.000Z") == [seqs[1]]
    assert store.redeliver(URL, None, "2026-11-20T11:00:00.000Z") == []
    assert store.redeliver("http://127.0.0.1:9/other", None, "2026-11-20T11:00:00.000Z") == []


# -- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_quarantine(db: str) -> list[int]:
    store = open_store(db)
    try:
        return quarantine(
            store,
            Rejected("unknown SES shape", body(delivery()), "file", "old.jsonl:1"),
            Rejected("invalid JSON: x", b"not json", "file", "old.jsonl:2"),
            Rejected("unknown SES shape", body(delivery("m-2", "b@example.com")), "file", "old.jsonl:3"),
        )
    finally:
        store.close()


def test_cli_replay_by_id_says_what_became_of_each(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    good, junk, _ = cli_quarantine(db)
    code, out, err = run(capsys, "quarantine", "replay", str(good), str(junk), "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"#{good} stored: now facts, out of the quarantine",
        f"#{junk} kept: invalid JSON: Expecting value: line 1 column 1 (char 0)",
        "replayed 2 records: 1 stored, 0 duplicate, 1 kept, 0 missing",
    ]
    code, out, _ = run(capsys, "status", "m-1", "--db", db)
    assert code == 0
    assert "delivered" in out
    code, out, err = run(capsys, "quarantine", "replay", "4242", "--db", db)
    assert code == 1
    assert out.splitlines()[0] == "#4242 not in the quarantine"


def test_cli_replay_all_and_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, junk, last = cli_quarantine(db)
    code, out, _ = run(capsys, "quarantine", "--db", db, "replay", "--all", "--json")
    assert code == 0
    answer = json.loads(out)
    assert {k: answer[k] for k in ("stored", "duplicate", "kept", "missing")} == {
        "stored": 2, "duplicate": 0, "kept": 1, "missing": 0,
    }  # fmt: skip
    assert [i["id"] for i in answer["items"]][-1] == last
    code, out, _ = run(capsys, "quarantine", "replay", "--all", "--db", db)
    assert out.splitlines()[-1] == "replayed 1 record: 0 stored, 0 duplicate, 1 kept, 0 missing"
    assert out.splitlines()[0].startswith(f"#{junk} kept: invalid JSON")
    code, out, _ = run(capsys, "quarantine", "--json", "--db", db)  # the list works as before
    assert code == 0
    assert [i["id"] for i in json.loads(out)] == [junk]


def test_cli_dismiss(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, c = cli_quarantine(db)
    code, out, err = run(capsys, "quarantine", "dismiss", str(a), str(c), "--db", db)
    assert (code, out.strip(), err) == (0, f"dismissed 2 records: #{a}, #{c}", "")
    code, out, err = run(capsys, "quarantine", "dismiss", str(a), str(b), "--json", "--db", db)
    assert code == 1
    assert json.loads(out) == {"dismissed": [b], "missing": [a]}
    code, out, _ = run(capsys, "quarantine", "--db", db)
    assert out.strip() == "quarantine is empty"


@pytest.mark.parametrize(
    "argv",
    [["replay"], ["replay", "1", "--all"], ["replay", "abc"], ["replay", "0"], ["dismiss"], ["dismiss", "-3"],
     ["undo", "1"]],
)  # fmt: skip
def test_cli_usage_errors(db: str, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run_usage(capsys, ["quarantine", *argv, "--db", db])
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) <= 2
    assert "Traceback" not in err


def run_usage(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_redeliver(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the server's settings: the webhooks come from the database, where the server registered them."""
    store = open_store(db)
    try:
        seqs = given_up(store, addresses=3)
    finally:
        store.close()
    shown = "http://127.0.0.1:9/…"  # the path may be the webhook's secret: not shown
    code, out, _ = run(capsys, "webhooks", "--db", db)
    assert code == 0
    assert out.splitlines()[0].startswith(f"1. {shown}: 0 delivered (last never), 0 waiting, 3 given up")
    assert "given up after 1 attempt; HTTP 422: refused" in out  # the sender's error, said once
    code, out, err = run(capsys, "webhooks", "redeliver", "1", str(seqs[0]), "--db", db)  # by its position
    assert (code, out.strip(), err) == (0, f"1 change due again for {shown}: seq {seqs[0]}", "")
    code, out, _ = run(capsys, "webhooks", "redeliver", "http://127.0.0.1:9/...", str(seqs[1]), "--json", "--db", db)
    assert (code, json.loads(out)) == (0, {"webhook": 1, "url": shown, "redelivered": [seqs[1]], "missing": []})
    code, out, _ = run(capsys, "webhooks", "redeliver", URL, "--all", "--json", "--db", db)  # as configured
    assert (code, json.loads(out)) == (0, {"webhook": 1, "url": shown, "redelivered": seqs[2:], "missing": []})
    code, out, err = run(capsys, "webhooks", "redeliver", URL, "--all", "--db", db)
    assert code == 1
    assert err.strip() == f"mailfate: nothing was given up on for {shown}"
    code, out, err = run(capsys, "webhooks", "redeliver", "2", "--all", "--db", db)
    assert (code, err.strip()) == (2, "mailfate: error: no webhook at position 2: 1 known (see mailfate webhooks)")
    code, out, err = run(capsys, "webhooks", "redeliver", "http://nope/", "--all", "--db", db)
    assert (code, out, err) == (1, "", "mailfate: no webhook at http://nope/ is configured\n")  # the API's words
    code, out, _ = run(capsys, "webhooks", "--json", "--db", db)
    assert [f["state"] for f in json.loads(out)[0]["failures"]] == ["pending"] * 3


def test_cli_webhooks_configured_here_come_first(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the server's settings, the positions are the server's; a URL only the database knows follows."""
    store = open_store(db)
    try:
        given_up(store)
    finally:
        store.close()
    monkeypatch.setenv("MAILFATE_WEBHOOK_URL", "http://127.0.0.1:8/new")
    monkeypatch.setenv("MAILFATE_WEBHOOK_SECRET", "s" * 16)
    code, out, _ = run(capsys, "webhooks", "--json", "--db", db)
    assert code == 0
    assert [(w["webhook"], w["url"], w["failed"]) for w in json.loads(out)] == [
        (1, "http://127.0.0.1:8/…", 0), (2, "http://127.0.0.1:9/…", 2),
    ]  # fmt: skip


def test_cli_webhooks_without_any(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    open_store(db).close()
    code, out, err = run(capsys, "webhooks", "--json", "--db", db)
    assert (code, json.loads(out), err) == (0, [], "")
    code, out, err = run(capsys, "webhooks", "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith("no webhook is configured here or known to this database")


def test_cli_webhooks_show_a_failed_attempts_error_once(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """What the sender records ("no answer: ...", "answered 503") is the whole reason, as the dashboard
    shows it: not prefixed a second time."""
    store = open_store(db)
    try:
        store.register_webhooks([URL])
        ingest(store, [event("Send", "m-1", ["a@example.com", "b@example.com"], T)])
        store.fill_outbox(URL, T)
        first, second = store.claim_deliveries(URL, T, "2026-11-20T10:01:00.000Z")
        store.delivery_failed(first, T, None, "no answer: All connection attempts failed", None)
        store.delivery_failed(second, T, 503, "answered 503", "2026-11-20T10:05:00.000Z")
    finally:
        store.close()
    code, out, _ = run(capsys, "webhooks", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert (
        f"  seq {second.change.seq} b@example.com: next attempt 2026-11-20T10:05:00.000Z after 1 attempt; answered 503"
        in lines
    )
    assert (
        f"  seq {first.change.seq} a@example.com: given up after 1 attempt; no answer: All connection attempts failed"
        in lines
    )
    assert "no answer: no answer" not in out
