"""Hostile and odd records, on both backends: each one is stored or quarantined, and never costs another."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from mailfate.core.addresses import normalize_address
from mailfate.core.jsonutil import may_hold_unstorable, storable_text
from mailfate.core.model import Event, Kind, Mail, Record, RecordKind
from mailfate.core.stats import StatsQuery
from mailfate.core.timestamps import BadTimestamp, canonical_timestamp, format_timestamp, query_timestamp
from mailfate.sources.ingest import ingest_bytes
from mailfate.store import Store, open_store
from mailfate.store import migrate as migrate_module
from mailfate.store.listing import MessageQuery
from mailfate.store.quarantine import row_cost
from mailfate.testing import bounce_event, event, eventbridge_event, sns_envelope

from .conftest import jsonl

T = "2026-11-20T10:00:00.000Z"


def good(n: int) -> dict[str, Any]:
    return event("Delivery", f"good-{n}", [f"g{n}@example.com"], T)


def raw_line(record: dict[str, Any]) -> bytes:
    """One JSON line whose string escapes survive as written (json.dumps would keep \\ud800 as is)."""
    return json.dumps(record).encode() + b"\n"


class TestUnstorableText:
    @pytest.mark.parametrize(
        ("text", "stored"),
        [
            ("plain ASCII", "plain ASCII"),
            ("NUL\x00in ASCII", "NUL\ufffdin ASCII"),
            ("caf\u00e9 \x00", "caf\u00e9 \ufffd"),
            ("caf\u00e9 \ud800", "caf\u00e9 \ufffd"),
            ("\U0001f600 fine", "\U0001f600 fine"),
        ],
    )
    def test_storable_text_whether_ascii_or_not(self, text: str, stored: str) -> None:
        """ASCII text takes a quicker look for NUL than the pattern's scan; the answer is the same."""
        assert storable_text(text) == stored
        assert may_hold_unstorable(text) == (text != stored)

    @pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\uDBFF"])
    def test_escapes_that_decode_to_unstorable_text_are_seen(self, escape: str) -> None:
        assert may_hold_unstorable(f'{{"a": "x{escape}"}}')
        assert not may_hold_unstorable('{"a": "x\\u00e9"}')

    @pytest.mark.parametrize("field", ["messageId", "recipient", "feedbackId", "subject", "source"])
    @pytest.mark.parametrize("bad", ["\ud800", "\x00", "a\udfffb\x00"])
    def test_stored_with_a_replacement_and_the_raw_record_kept(self, store: Store, field: str, bad: str) -> None:
        record = bounce_event("m-bad", ["x@example.com"], T, "Permanent", "General")
        if field == "messageId":
            record["mail"]["messageId"] = f"m{bad}"
        elif field == "recipient":
            record["bounce"]["bouncedRecipients"][0]["emailAddress"] = f"x{bad}@example.com"
        elif field == "feedbackId":
            record["bounce"]["feedbackId"] = bad
        elif field == "subject":
            record["mail"]["commonHeaders"]["subject"] = bad
        else:
            record["mail"]["source"] = f"s{bad}@example.com"
        data = raw_line(good(1)) + raw_line(record) + raw_line(good(2))
        result = ingest_bytes(store, data)
        assert (result.records, result.quarantined) == (3, 0)
        assert store.message("good-1") is not None
        assert store.message("good-2") is not None
        message_id = record["mail"]["messageId"].replace("\x00", "\ufffd").replace("\ud800", "\ufffd")
        view = store.message(message_id.replace("\udfff", "\ufffd"))
        assert view is not None
        assert view.events[0].kind == "Bounce"

    def test_a_nul_tag_does_not_break_queries_for_everyone(self, store: Store) -> None:
        record = event("Send", "m-tag", ["a@example.com"], T)
        record["mail"]["tags"]["campaign"] = ["spring\x00sale"]
        ingest_bytes(store, raw_line(record) + raw_line(good(1)))
        query = StatsQuery.parse("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "tag:campaign", datetime.now(UTC))
        stats = store.stats(query).to_json()
        assert [g["key"] for g in stats["groups"]] == ["spring\ufffdsale"]
        page = store.messages(MessageQuery.parse({"tag": "campaign:spring\ufffdsale"}))
        assert [m.message_id for m in page.messages] == ["m-tag"]

    def test_an_item_the_database_refuses_fails_alone(self, store: Store) -> None:
        """A record built by a library user with text no column holds: quarantined, its neighbours stored."""
        mail = Mail(message_id="m-lib", subject="broken \ud800 subject", destination=("a@example.com",))
        bad = Record(
            "lib:1", "file", RecordKind.EVENT, "{}", mail, (Event(Kind.SEND, "m-lib", "a@example.com", "a", T),)
        )
        items: list[Any] = []
        for n in range(5):
            items.append(Record(f"lib:g{n}", "file", RecordKind.EVENT, "{}", Mail(f"m-g{n}"), ()))
        result = store.ingest([*items[:2], bad, *items[2:]], T)
        assert (result.records, result.quarantined) == (5, 1)
        assert result.outcomes == ["stored", "stored", "quarantined", "stored", "stored", "stored"]
        (item,) = store.quarantined()
        assert item.reason.startswith("cannot be stored")


class TestShapesThatUsedToCrash:
    CASES: ClassVar[dict[str, bytes]] = {
        "nesting deeper than 1024": b"[" * 2000 + b"]" * 2000,
        "a 5,000-digit number": b'{"eventType": "Send", "mail": {"messageId": "m", "timestamp": ' + b"9" * 5000 + b"}}",
        "an offset past the calendar's start": raw_line(event("Delivery", "m-o", ["a@example.com"], "x")).replace(
            b'"timestamp": "x"', b'"timestamp": "0001-01-01T00:00:00+01:00"'
        ),
        "an offset past the calendar's end": raw_line(event("Delivery", "m-o", ["a@example.com"], "x")).replace(
            b'"timestamp": "x"', b'"timestamp": "9999-12-31T23:59:59-01:00"'
        ),
        "an impossible date in the stored shape": raw_line(event("Delivery", "m-i", ["a@example.com"], "x")).replace(
            b'"timestamp": "x"', b'"timestamp": "2025-02-30T25:61:61.000Z"'
        ),
        "a deeply nested SNS Message": json.dumps(
            {**sns_envelope(good(9)), "Message": "[" * 3000 + "]" * 3000}
        ).encode(),
        "a deeply nested SQS Body": json.dumps({"Body": "{" + '"a":{' * 1500 + "}" * 1501}).encode(),
        "an event type nested 900 deep": b'{"eventType": ' + b"[" * 900 + b"]" * 900 + b', "mail": {"messageId": "m"}}',
        "a deeply nested detail field": raw_line(
            event("DeliveryDelay", "m-d", ["a@example.com"], T, expirationTime=json.loads("[" * 200 + "]" * 200))
        ),
    }

    @pytest.mark.parametrize("case", list(CASES))
    def test_quarantined_and_the_rest_of_the_chunk_stored(self, store: Store, case: str) -> None:
        data = raw_line(good(1)) + self.CASES[case].strip() + b"\n" + raw_line(good(2))
        result = ingest_bytes(store, data)
        assert (result.records, result.quarantined) == (2, 1), case
        assert store.message("good-2") is not None
        (item,) = store.quarantined()
        assert item.reason
        assert store.quarantined_item(item.id).body == self.CASES[case].strip()  # type: ignore[union-attr]

    @pytest.mark.parametrize("subtype", ["missing", None])
    def test_a_hard_bounce_without_a_subtype_is_stored(self, store: Store, subtype: str | None) -> None:
        record = bounce_event("m-ns", ["a@example.com"], T, "Permanent", "General")
        if subtype == "missing":
            del record["bounce"]["bounceSubType"]
        else:
            record["bounce"]["bounceSubType"] = None
        result = ingest_bytes(store, raw_line(record))
        assert result.records == 1
        assert store.message("m-ns").status.value == "bounced"  # type: ignore[union-attr]
        figures = store.stats(StatsQuery.parse("2026-11-01T00:00:00Z", None, None, datetime(2026, 12, 1, tzinfo=UTC)))
        assert figures.to_json()["totals"]["hard_bounces"] == 1

    def test_soft_bounces_with_extreme_times_do_not_fail_the_third(self, store: Store) -> None:
        times = ["8999-12-31T23:59:58.000Z", "8999-12-31T23:59:59.000Z", "8999-12-31T23:59:59.500Z"]
        for n, when in enumerate(times):
            record = bounce_event(f"m-s{n}", ["s@example.com"], when, "Transient", "MailboxFull")
            assert ingest_bytes(store, raw_line(record)).records == 1


class TestTimestamps:
    def test_one_sortable_form(self) -> None:
        assert format_timestamp(datetime(999, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)) == "0999-01-02T03:04:05.678Z"
        assert query_timestamp("0001-01-01T00:00:00Z") == "0001-01-01T00:00:00.000Z"
        assert canonical_timestamp("2026-11-20T11:00:00+01:00") == "2026-11-20T10:00:00.000Z"

    @pytest.mark.parametrize(
        "text",
        ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2025-02-30T25:61:61.000Z", "1969-12-31T23:59:59Z",
         "9000-01-01T00:00:00Z", "\ud800", "2026-11-20T10:00:00.000Z" * 10],
    )  # fmt: skip
    def test_what_is_not_a_real_instant_in_range_is_refused(self, text: str) -> None:
        with pytest.raises(BadTimestamp):
            canonical_timestamp(text)

    def test_query_times_that_overflow_are_usage_errors(self) -> None:
        from mailfate.errors import UsageError

        now = datetime.now(UTC)
        for since, until in [(None, "0001-01-01T00:00:00+01:00"), (None, "0001-01-03T00:00:00Z"), ("x", None)]:
            with pytest.raises(UsageError):
                StatsQuery.parse(since, until, None, now)
        with pytest.raises(UsageError):
            MessageQuery.parse({"since": "9999-12-31T23:59:59-01:00"})


class TestEventTime:
    def test_falls_back_and_says_where_from(self, store: Store) -> None:
        delivery = event("Delivery", "m-t1", ["a@example.com"], T)
        del delivery["delivery"]["timestamp"]
        by_sns = sns_envelope(delivery, timestamp="2026-11-20T10:00:07.000Z")
        by_eventbridge = eventbridge_event(json.loads(json.dumps(delivery).replace("m-t1", "m-t2")))
        by_eventbridge["time"] = "2026-11-20T10:00:08Z"
        bare = json.loads(json.dumps(delivery).replace("m-t1", "m-t3"))
        ingest_bytes(store, jsonl([by_sns, by_eventbridge, bare]))
        found = {}
        for message_id in ("m-t1", "m-t2", "m-t3"):
            (stored,) = store.message(message_id).to_json()["events"]  # type: ignore[union-attr]
            found[message_id] = (stored["timestamp"], stored["details"]["timestamp_source"])
        assert found == {
            "m-t1": ("2026-11-20T10:00:07.000Z", "sns"),
            "m-t2": ("2026-11-20T10:00:08.000Z", "eventbridge"),
            "m-t3": ("2026-11-20T10:00:00.000Z", "mail"),
        }

    def test_an_event_with_no_time_at_all_is_quarantined(self, store: Store) -> None:
        delivery = event("Delivery", "m-t4", ["a@example.com"], T)
        del delivery["delivery"]["timestamp"]
        del delivery["mail"]["timestamp"]
        result = ingest_bytes(store, jsonl([delivery]))
        assert result.quarantined == 1
        assert "without a timestamp" in store.quarantined()[0].reason


class TestRules:
    def test_a_received_notification_is_a_note_that_says_so(self, store: Store) -> None:
        received = {"notificationType": "Received", "mail": {"messageId": "in-1"}, "receipt": {"action": {}}}
        result = ingest_bytes(store, jsonl([received]))
        assert (result.records, result.notes, result.quarantined) == (1, 1, 0)

    def test_not_spam_makes_the_recipient_delivered(self, store: Store) -> None:
        complaint = event("Complaint", "m-ns", ["a@example.com"], T, complaintFeedbackType="not-spam")
        ingest_bytes(store, jsonl([event("Send", "m-ns", ["a@example.com"], T), complaint]))
        view = store.message("m-ns")
        assert view is not None
        assert view.recipients[0].status.value == "delivered"
        assert "not spam" in view.recipients[0].to_json()["explanation"]

    @pytest.mark.parametrize("raw", ["Jos\u00e9@example.com", "Jose\u0301@example.com", "José <Jose\u0301@example.com"])
    def test_addresses_in_any_unicode_form_or_unclosed_are_one(self, raw: str) -> None:
        assert normalize_address(raw) == "jos\u00e9@example.com"


class TestSameKeyOtherContent:
    def test_quarantined_with_the_reason_and_no_counter_below_zero(self, store: Store) -> None:
        first = sns_envelope(good(1), message_id="aaaaaaaa-0000-4000-8000-000000000001")
        second = {**first, "Message": json.dumps(good(2))}
        result = ingest_bytes(store, jsonl([first, second]))
        assert (result.records, result.duplicates, result.quarantined) == (1, 0, 1)
        assert min(result.to_json().values()) >= 0
        assert store.message("good-2") is None
        (item,) = store.quarantined()
        assert "already stored with different content" in item.reason
        assert json.loads(store.quarantined_item(item.id).body)["Message"] == second["Message"]  # type: ignore[union-attr]
        again = ingest_bytes(store, jsonl([second]))  # later, in another batch: the same
        assert (again.records, again.duplicates, again.quarantined, again.duplicate_events) == (0, 0, 1, 0)

    def test_the_same_notification_written_differently_is_a_duplicate(self, store: Store) -> None:
        envelope = sns_envelope(good(3), message_id="aaaaaaaa-0000-4000-8000-000000000003")
        decoded = {**envelope, "Message": json.loads(envelope["Message"])}  # as some tools save it
        ingest_bytes(store, jsonl([envelope]))
        result = ingest_bytes(store, json.dumps(decoded, indent=4).encode())
        assert (result.records, result.duplicates, result.quarantined) == (0, 1, 0)


class TestQuarantine:
    def test_bytes_are_kept_exactly(self, store: Store) -> None:
        garbage = b"\x00\xff\xfe{not json\x00 \xc3\x28"
        result = ingest_bytes(store, raw_line(good(1)) + garbage + b"\n")
        assert result.quarantined == 1
        (item,) = store.quarantined()
        assert store.quarantined_item(item.id).body == garbage  # type: ignore[union-attr]
        assert item.to_json()["preview"].startswith("\ufffd")

    def test_the_budget_drops_the_oldest_unauthenticated_first(self, store: Store) -> None:
        from mailfate.core.model import Rejected

        junk = [Rejected("not JSON", b"j" * 1000, "sns", authenticated=False) for _ in range(6)]
        kept = Rejected("SignatureInvalid", b"k" * 1000, "sqs")
        store.ingest([junk[0], kept, *junk[1:]], T)
        each = row_cost(1000, "not JSON", "sns", T)  # a body of 1,000 bytes, its texts and the row's overhead
        used, _ = store.quarantine_usage()
        dropped, freed = store.trim_quarantine(used - 3 * each - each // 2, None)
        assert (dropped, freed) == (4, 4 * each)
        left = store.quarantined()
        assert len(left) == 3
        assert [i.authenticated for i in left].count(True) == 1
        assert store.trim_quarantine(100, None)[0] == 2  # only junk ever goes for the budget
        assert [i.authenticated for i in store.quarantined()] == [True]
        kept_cost = row_cost(1000, "SignatureInvalid", "sqs", T)
        assert store.trim_quarantine(None, "9000-01-01T00:00:00.000Z") == (1, kept_cost)  # the retention: all


def test_migration_makes_stored_not_spam_recipients_delivered(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database written before rule 6 holds a not-spam complaint; the migration makes it delivered."""
    everything = migrate_module.migrations
    monkeypatch.setattr(migrate_module, "migrations", lambda d: [m for m in everything(d) if m[0] < "0005"])
    old = open_store(store_url)
    details = json.dumps({"feedback_type": "not-spam", "feedback_id": "f"}, separators=(",", ":"), sort_keys=True)
    with old._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("INSERT INTO messages (message_id, sent_at) VALUES ('m-old', ?)", (T,))
        tx.execute(
            "INSERT INTO events (message_id, event_key, record_key, transport, recipient, kind, timestamp, "
            "received_at, details) VALUES ('m-old', 'k1', 'r1', 'file', 'a@example.com', 'Complaint', ?, ?, ?)",
            (T, T, details),
        )
        tx.execute(
            "INSERT INTO recipients (message_id, address, complaint_rank, first_event_at, last_event_at) "
            "VALUES ('m-old', 'a@example.com', '0', ?, ?)",
            (T, T),
        )
        tx.execute(
            "INSERT INTO quarantine (received_at, transport, reason, body) VALUES (?, 'sns', 'x', 'old body')", (T,)
        )
    old.close()
    monkeypatch.setattr(migrate_module, "migrations", everything)
    new = open_store(store_url)
    try:
        assert new.message("m-old").recipients[0].status.value == "delivered"  # type: ignore[union-attr]
        (item,) = new.quarantined()
        assert (item.preview, item.size, item.authenticated) == (b"old body", 8, False)
    finally:
        new.close()
