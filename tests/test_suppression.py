"""Suppression (docs/suppression-and-reputation.md), by rule, in any arrival order; and the SES account-level list."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.aws.ses_suppression import Pushed, SesError, pull, push
from mailfate.core.fate import fold
from mailfate.core.model import Event, Kind
from mailfate.core.suppression import Action, FateFacts, Policy, Suppression, sufficient_facts, suppression_of
from mailfate.core.timestamps import parse_timestamp
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest

A = "a@example.com"
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def day(n: int, hour: int = 10) -> str:
    return (dt.datetime(2026, 11, 1, hour, tzinfo=dt.UTC) + dt.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def soft(message: str, when: str, subtype: str = "MailboxFull") -> dict[str, Any]:
    return bounce_event(message, [A], when, "Transient", subtype, "4.2.2")


def delivered(message: str, when: str) -> dict[str, Any]:
    return event("Delivery", message, [A], when)


def state(store: Store, records: list[dict[str, Any]]) -> Suppression | None:
    ingest(store, records)
    return store.suppression(A, NOW)


class TestRules:
    def test_hard_bounce(self, store: Store) -> None:
        found = state(
            store, [delivered("m1", day(1)), bounce_event("m1", [A], day(2), "Permanent", "NoEmail", "5.1.1")]
        )
        assert found is not None
        assert (found.reason, found.since, found.expires_at) == ("bounce", day(2), None)
        assert found.event == {"kind": "Bounce", "message_id": "m1", "timestamp": day(2), "type": "Permanent",
                               "subtype": "NoEmail", "status": "5.1.1"}  # fmt: skip

    def test_reclassified_transient_is_a_hard_bounce(self, store: Store) -> None:
        found = state(store, [bounce_event("m1", [A], day(2), "Transient", "General", "5.1.1")])
        assert found is not None
        assert found.reason == "bounce"

    def test_complaint_outranks_bounce(self, store: Store) -> None:
        found = state(store, [bounce_event("m1", [A], day(2), "Permanent", "General"),
                              event("Complaint", "m2", [A], day(3))])  # fmt: skip
        assert found is not None
        assert (found.reason, found.since) == ("complaint", day(3))

    def test_not_spam_does_not_suppress(self, store: Store) -> None:
        assert state(store, [event("Complaint", "m1", [A], day(3), complaintFeedbackType="not-spam")]) is None

    def test_three_soft_bounces_within_thirty_days(self, store: Store) -> None:
        found = state(store, [soft("m1", day(1)), soft("m2", day(10)), soft("m3", day(20))])
        assert found is not None
        assert (found.reason, found.since) == ("soft_bounce", day(20))
        assert found.expires_at == "2026-12-21T10:00:00.000Z"  # 30 days after the last soft bounce

    def test_two_soft_bounces_are_not_enough(self, store: Store) -> None:
        assert state(store, [soft("m1", day(1)), soft("m2", day(10))]) is None

    def test_soft_bounces_spread_over_more_than_thirty_days(self, store: Store) -> None:
        assert state(store, [soft("m1", day(-20)), soft("m2", day(0)), soft("m3", day(11))]) is None

    def test_delivery_between_breaks_the_streak_even_when_it_arrives_last(self, store: Store) -> None:
        """A Delivery that arrives late but is timestamped in between lifts it, as if in order."""
        records = [soft("m1", day(1)), soft("m2", day(10)), soft("m3", day(20))]
        assert state(store, records) is not None
        assert state(store, [delivered("m4", day(15))]) is None

    def test_auto_replies_never_count(self, store: Store) -> None:
        records = []
        for n, message in enumerate(("m1", "m2", "m3")):
            records += [delivered(message, day(n)), soft(message, day(n, 11), subtype="General")]
        assert state(store, records) is None

    def test_transient_general_without_delivery_counts(self, store: Store) -> None:
        records = [soft("m1", day(1), "General"), soft("m2", day(2), "General"), soft("m3", day(3), "General")]
        found = state(store, records)
        assert found is not None
        assert found.reason == "soft_bounce"

    def test_soft_bounce_suppression_expires(self, store: Store) -> None:
        records = [soft("m1", day(-40)), soft("m2", day(-35)), soft("m3", day(-30))]
        assert state(store, records) is None

    def test_thresholds_are_settings(self, store_url: str) -> None:
        """The writer's policy decides: it is what the store keeps and every reader sees."""
        for window, expected in ((5, True), (2, False)):
            store = open_store(store_url, policy=Policy(soft_bounce_count=2, soft_bounce_window=dt.timedelta(window)))
            try:
                address = f"w{window}@example.com"
                records = [bounce_event(f"{address}-{n}", [address], day(n), "Transient", "MailboxFull", "4.2.2")
                           for n in (1, 4)]  # fmt: skip
                ingest(store, records)
                assert (store.suppression(address, NOW) is not None) is expected
            finally:
                store.close()

    def test_mailbox_simulator_is_suppressed_like_any_address(self, store: Store) -> None:
        sim = "bounce@simulator.amazonses.com"
        ingest(store, [bounce_event("m1", [sim], day(1), "Permanent", "General")])
        found = store.suppression(sim, NOW)
        assert found is not None
        assert found.reason == "bounce"


class TestByHand:
    def test_manual_suppression(self, store: Store) -> None:
        store.add_action(A, Action("suppress", day(5), "asked us to stop"))
        found = store.suppression(A, NOW)
        assert found is not None
        assert (found.reason, found.since, found.event) == (
            "manual",
            day(5),
            {"kind": "manual", "reason": "asked us to stop"},
        )

    def test_lifting_clears_only_what_came_before(self, store: Store) -> None:
        ingest(store, [bounce_event("m1", [A], day(2), "Permanent", "General")])
        store.add_action(A, Action("lift", day(3)))
        assert store.suppression(A, NOW) is None
        # A bounce timestamped before the lift but arriving after it changes nothing...
        ingest(store, [bounce_event("m0", [A], day(1), "Permanent", "General")])
        assert store.suppression(A, NOW) is None
        # ...one timestamped after it suppresses again.
        ingest(store, [bounce_event("m2", [A], day(4), "Permanent", "General")])
        found = store.suppression(A, NOW)
        assert found is not None
        assert found.since == day(4)

    def test_list_is_sorted_and_complete(self, store: Store) -> None:
        ingest(store, [bounce_event("m1", ["z@example.com"], day(2), "Permanent", "General"),
                       event("Complaint", "m2", ["b@example.com"], day(3)),
                       delivered("m3", day(1))])  # fmt: skip
        store.add_action("m@example.com", Action("suppress", day(4)))
        assert [s.address for s in store.suppressions(now=NOW)] == [
            "b@example.com", "m@example.com", "z@example.com",
        ]  # fmt: skip


SOFT_EVENTS = [("soft", n) for n in (1, 5, 9, 14, 20, 26)] + [("delivery", n) for n in (3, 12, 24)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=st.lists(st.sampled_from(SOFT_EVENTS), min_size=1, max_size=9, unique=True), data=st.data())
def test_suppression_does_not_depend_on_arrival_order(chosen: list[tuple[str, int]], data: st.DataObject) -> None:
    """Any set of soft bounces and deliveries, in two arrival orders and two batchings: same suppression."""
    records = [soft(f"s{n}", day(n)) if kind == "soft" else delivered(f"d{n}", day(n)) for kind, n in chosen]
    shuffled = data.draw(st.permutations(records))
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, batches in (("a", [records]), ("b", [[r] for r in shuffled])):
            store = open_store(f"sqlite:///{Path(folder) / name}.db")
            try:
                for batch in batches:
                    ingest(store, batch)
                results.append(store.suppression(A, NOW))
            finally:
                store.close()
    assert results[0] == results[1]


class TestSesAccountList:
    """moto does not implement the sesv2 suppression operations, so botocore's Stubber stands in for SES."""

    def client(self) -> Any:
        return boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

    def test_push_sends_bounces_and_complaints(self) -> None:
        client = self.client()
        found = [
            Suppression("a@example.com", "bounce", day(1), None, None),
            Suppression("b@example.com", "complaint", day(2), None, None),
            Suppression("c@example.com", "soft_bounce", day(3), day(33), None),
            Suppression("bounce@simulator.amazonses.com", "bounce", day(4), None, None),
            Suppression("complaint@simulator.amazonses.com", "complaint", day(4), None, None),
        ]
        with Stubber(client) as stub:
            stub.add_response("put_suppressed_destination", {}, {"EmailAddress": "a@example.com", "Reason": "BOUNCE"})
            stub.add_response(
                "put_suppressed_destination", {}, {"EmailAddress": "b@example.com", "Reason": "COMPLAINT"}
            )
            assert push(client, found) == Pushed(sent=2, simulator=2)  # a third call would find no response
            stub.assert_no_pending_responses()

    def test_pull_reads_every_page(self, store: Store) -> None:
        client = self.client()
        when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
        with Stubber(client) as stub:
            stub.add_response(
                "list_suppressed_destinations",
                {
                    "SuppressedDestinationSummaries": [
                        {"EmailAddress": "One@Example.com", "Reason": "BOUNCE", "LastUpdateTime": when}
                    ],
                    "NextToken": "page-2",
                },
                {},
            )
            stub.add_response("list_suppressed_destinations", {
                "SuppressedDestinationSummaries": [
                    {"EmailAddress": "two@example.com", "Reason": "COMPLAINT", "LastUpdateTime": when}]},
                {"NextToken": "page-2"})  # fmt: skip
            pulled = pull(client)
        assert pulled == [
            ("one@example.com", Action("suppress", "2026-10-01T00:00:00.000Z", "ses:BOUNCE")),
            ("two@example.com", Action("suppress", "2026-10-01T00:00:00.000Z", "ses:COMPLAINT")),
        ]
        for address, action in pulled:
            store.add_action(address, action)
            store.add_action(address, action)  # pulling twice changes nothing
        assert [(s.address, s.reason) for s in store.suppressions(now=NOW)] == [
            ("one@example.com", "manual"), ("two@example.com", "manual")]  # fmt: skip

    def test_ses_errors_are_clear(self) -> None:
        client = self.client()
        with Stubber(client) as stub:
            stub.add_client_error("list_suppressed_destinations", "TooManyRequestsException", "slow down")
            with pytest.raises(SesError, match="slow down"):
                pull(client)


# -- one place decides, from few facts ----------------------------------------------------------------

KINDS = ["delivery", "soft", "ambiguous", "hard", "complaint", "not-spam"]


def _event(kind: str, message: str, minute: int) -> Event:
    when = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=minute * 7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    details: dict[str, Any] = {
        "delivery": {},
        "soft": {"bounce_type": "Transient", "bounce_subtype": "MailboxFull", "status": "4.2.2"},
        "ambiguous": {"bounce_type": "Transient", "bounce_subtype": "General"},
        "hard": {"bounce_type": "Permanent", "bounce_subtype": "General", "status": "5.1.1"},
        "complaint": {"feedback_type": "abuse", "feedback_id": f"f{minute}"},
        "not-spam": {"feedback_type": "not-spam", "feedback_id": f"n{minute}"},
    }[kind]
    ses_kind = {"delivery": Kind.DELIVERY, "complaint": Kind.COMPLAINT, "not-spam": Kind.COMPLAINT}.get(
        kind, Kind.BOUNCE
    )
    return Event(ses_kind, message, A, A, when, details)


def _record(kind: str, mid: str, address: str, when: str) -> dict[str, Any]:
    match kind:
        case "delivery":
            return event("Delivery", mid, [address], when)
        case "soft":
            return bounce_event(mid, [address], when, "Transient", "MailboxFull", "4.2.2")
        case "ambiguous":
            return bounce_event(mid, [address], when, "Transient", "General")
        case "hard":
            return bounce_event(mid, [address], when, "Permanent", "General", "5.1.1")
        case "complaint":
            return event("Complaint", mid, [address], when)
    return event("Complaint", mid, [address], when, complaintFeedbackType="not-spam")


def _facts(events: list[Event]) -> list[FateFacts]:
    return [
        FateFacts(m, s.status, json.loads(s.bounce) if s.bounce else None,
                  json.loads(s.complaint_info) if s.complaint_info else None, s.delivered_at)
        for (m, _), s in fold(events).items()
    ]  # fmt: skip


HISTORY = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(["m0", "m1", "m2", "m3", "m4", "m5", "m6"]),
              st.integers(0, 300)),
    max_size=25,
)  # fmt: skip
ACTIONS = st.lists(st.tuples(st.sampled_from(["suppress", "lift"]), st.integers(0, 300)), max_size=3)


@settings(max_examples=300, deadline=None)
@given(history=HISTORY, actions=ACTIONS, clock=st.integers(0, 400), data=st.data())
def test_the_few_facts_the_stores_read_decide_as_all_of_them_do(
    history: list[tuple[str, str, int]], actions: list[tuple[str, int]], clock: int, data: st.DataObject
) -> None:
    """And in whatever order the store reads them: ties between causes are broken by the facts."""
    fates = _facts([_event(kind, message, minute) for kind, message, minute in history])
    done = [Action(a, _event("delivery", "x", minute).timestamp, "note") for a, minute in actions]
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=clock * 7)
    policy = Policy(soft_bounce_window=dt.timedelta(days=10), soft_bounce_expiry=dt.timedelta(days=20))
    expected = suppression_of(A, fates, done, policy, now)
    few_fates, few_actions = sufficient_facts(fates, done)
    assert suppression_of(A, few_fates, few_actions, policy, now) == expected
    shuffled = data.draw(st.permutations(few_fates))
    assert suppression_of(A, shuffled, few_actions, policy, now) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=HISTORY, actions=ACTIONS)
def test_the_kept_suppression_is_what_the_rules_say_of_every_fact(
    store: Store, history: list[tuple[str, str, int]], actions: list[tuple[str, int]]
) -> None:
    """Whatever arrives, in batches, the store keeps what suppression_of says of the whole history."""
    address = f"h{uuid.uuid4().hex[:10]}@example.com"  # one store for every example: a new address each
    records = [
        _record(kind, f"{address}-{message}", address, _event(kind, message, minute).timestamp)
        for kind, message, minute in history
    ]
    for batch in (records[: len(records) // 2], records[len(records) // 2 :]):
        ingest(store, batch)
    for action, minute in actions:
        store.add_action(address, Action(action, _event("delivery", "x", minute).timestamp, None))
    rows = store._read(  # type: ignore[attr-defined]
        "SELECT message_id, status, bounce, complaint_info, delivered_at FROM recipients WHERE address = ?", (address,)
    )
    done = [Action(a, at, r) for a, at, r in store._read(  # type: ignore[attr-defined]
        "SELECT action, at, reason FROM suppression_actions WHERE address = ?", (address,))]  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    expected = suppression_of(address, [FateFacts.from_row(*r) for r in rows], done, Policy(), now)
    assert store.suppression(address, now) == expected
    assert [s for s in store.suppressions(now=now) if s.address == address] == ([expected] if expected else [])
    changes = [c.payload for c in store.changes(0, 100_000) if c.payload["address"] == address]
    latest = [c for c in changes if c["type"] == "suppression"][-1:] or [{"suppression": None}]
    assert latest[0]["suppression"] == (expected.to_json() if expected else None)


def test_a_later_bounce_of_a_bounced_message_is_seen(store: Store) -> None:
    """A second soft bounce of one message leaves its status as it was but moves its bounce time: the
    kept suppression follows (three messages whose latest soft bounces fall within 30 days)."""
    ingest(store, [soft("m1", day(1)), soft("m2", day(20)), soft("m3", day(45))])
    assert store.suppression(A, NOW) is None  # 1, 20, 45: no three within 30 days
    ingest(store, [soft("m1", day(40))])  # m1 is soft_bounced still; its bounce is now day 40
    found = store.suppression(A, day_time(46))
    assert found is not None
    assert (found.reason, found.since) == ("soft_bounce", day(45))
    assert [c.payload["suppressed"] for c in store.changes(0, 1000) if c.payload["type"] == "suppression"] == [True]


def day_time(n: int) -> dt.datetime:
    return dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC) + dt.timedelta(days=n)


def test_the_library_lookup_shows_the_suppression(store: Store) -> None:
    ingest(store, [bounce_event("m1", [A], day(2), "Transient", "General", "5.1.1")])
    view = store.recipient("Jane <A@Example.com>").to_json()
    assert (view["address"], view["suppressed"], view["suppression"]["reason"]) == (A, True, "bounce")
    assert view["messages"][0]["message_id"] == "m1"


def test_a_soft_bounce_suppression_ends_when_read_after_it_expires(store: Store) -> None:
    """Time ends it: nothing is written, yet every reader sees it gone, and the feed says so when read."""
    now = dt.datetime.now(dt.UTC)
    stamps = [(now - dt.timedelta(days=29, hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for h in (3, 2, 1)]
    ingest(store, [soft(f"e{n}", at) for n, at in enumerate(stamps)])
    found = store.suppression(A)
    assert found is not None
    assert found.expires_at is not None
    later = parse_timestamp(found.expires_at)
    assert store.suppression(A, later - dt.timedelta(seconds=1)) == found
    assert store.suppression(A, later) is None
    assert store.suppressions(now=later) == []
    assert store.check([A], now=later)[0].allowed
    assert store.expire_suppressions(later) == 1
    last = [c.payload for c in store.changes(0, 100) if c.payload["type"] == "suppression"][-1]
    assert (last["suppressed"], last["previous_suppression"]["reason"]) == (False, "soft_bounce")


def test_the_upgrade_decides_every_suppression_again(store_url: str) -> None:
    """A database from before migration 0007, holding a suppression it missed, gets it kept and announced."""
    store = open_store(store_url)
    ingest(store, [bounce_event("m1", [A], day(2), "Permanent", "General"), delivered("m2", day(3))])
    with store._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("DELETE FROM suppression_state")  # what an earlier version could miss
        for name in ("recipients_complaints", "recipients_hard_bounces", "recipients_soft_bounces",
                     "recipients_address", "suppression_actions_lifts"):  # fmt: skip
            tx.execute(f"DROP INDEX {name}")
        tx.execute("CREATE INDEX recipients_address ON recipients (address)")
        tx.execute("CREATE INDEX recipients_trouble ON recipients (address) WHERE complaint OR hard_bounce")
        tx.execute("DELETE FROM schema_migrations WHERE version = '0007_suppression_facts'")
    assert store.suppression(A, NOW) is None
    store.close()
    store = open_store(store_url)
    try:
        found = store.suppression(A, NOW)
        assert found is not None
        assert (found.reason, found.since) == ("bounce", day(2))
        last = [c.payload for c in store.changes(0, 100) if c.payload["type"] == "suppression"][-1]
        assert (last["suppressed"], last["suppression"]) == (True, found.to_json())
    finally:
        store.close()


def test_new_thresholds_decide_every_suppression_again(store_url: str) -> None:
    """The kept suppressions follow the settings: a writer with other thresholds decides them all again
    when it opens the database, and the feed says what changed. A reader repeats what is kept."""
    two = Policy(soft_bounce_count=2)
    store = open_store(store_url)  # three soft bounces suppress
    ingest(store, [soft("m1", day(1)), soft("m2", day(2))])
    assert store.suppression(A, NOW) is None
    store.close()
    store = open_store(store_url, policy=two)
    try:
        found = store.suppression(A, NOW)
        assert found is not None
        assert (found.reason, found.since) == ("soft_bounce", day(2))
        assert [c.payload["suppressed"] for c in store.changes(0, 100) if c.payload["type"] == "suppression"] == [True]
    finally:
        store.close()
    reader = open_store(store_url, migrate=False)  # other settings, but it only reads
    try:
        assert reader.suppression(A, NOW) == found
    finally:
        reader.close()
    store = open_store(store_url, policy=two)  # the same thresholds again: nothing to decide
    try:
        assert len(store.changes(0, 100)) == 3  # two fates, one suppression
    finally:
        store.close()


def test_the_list_reads_numbers_as_numbers(store: Store) -> None:
    """user2 before user10 before user111 before user1007, across pages; the key is exact per address."""
    from mailfate.core.addresses import natural_key

    names = ["user1007", "user111", "user2", "user10", "user01", "user1", "bob", "a9z", "a10"]
    for name in names:
        store.add_action(f"{name}@example.com", Action("suppress", "2026-11-20T10:00:00.000Z", None))
    expected = ["a9z", "a10", "bob", "user01", "user1", "user2", "user10", "user111", "user1007"]
    assert [s.address for s in store.suppressions()] == [f"{n}@example.com" for n in expected]
    paged, after = [], None
    for _ in range(len(names)):  # two at a time, by the cursor the API gives (the last address)
        page = store.suppressions(after=after, limit=2)
        if not page:
            break
        paged += [s.address for s in page]
        after = page[-1].address
    assert paged == [f"{n}@example.com" for n in expected]
    assert natural_key("user1007@x9.example") == "user041007@x019.example"


def test_the_upgrade_gives_the_kept_suppressions_their_order(store_url: str) -> None:
    """Suppressions kept before migration 0012 are listed as a person reads them once it has run."""
    store = open_store(store_url)
    for name in ("user10", "user9", "user100"):
        store.add_action(f"{name}@example.com", Action("suppress", "2026-11-20T10:00:00.000Z", None))
    with store._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("DROP INDEX suppression_state_order")
        tx.execute("ALTER TABLE suppression_state DROP COLUMN sort_key")
        tx.execute("DELETE FROM schema_migrations WHERE version = '0012_suppression_order'")
    store.close()
    store = open_store(store_url)
    try:
        assert [s.address for s in store.suppressions()] == [f"user{n}@example.com" for n in (9, 10, 100)]
    finally:
        store.close()
