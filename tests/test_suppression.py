"""SPEC section 5: suppression, by rule, in any arrival order; and the SES account-level list."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.aws.ses_suppression import SesError, pull, push
from mailfate.core.suppression import Action, Policy, Suppression, suppression_for, suppressions
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


def state(store: Store, records: list[dict[str, Any]], policy: Policy | None = None) -> Suppression | None:
    ingest(store, records)
    return suppression_for(store, A, policy or Policy(), NOW)


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

    def test_thresholds_are_settings(self, store: Store) -> None:
        policy = Policy(soft_bounce_count=2, soft_bounce_window=dt.timedelta(days=5))
        assert state(store, [soft("m1", day(1)), soft("m2", day(4))], policy) is not None
        assert state(store, [], Policy(soft_bounce_count=2, soft_bounce_window=dt.timedelta(days=2))) is None

    def test_mailbox_simulator_is_suppressed_like_any_address(self, store: Store) -> None:
        sim = "bounce@simulator.amazonses.com"
        ingest(store, [bounce_event("m1", [sim], day(1), "Permanent", "General")])
        found = suppression_for(store, sim, Policy(), NOW)
        assert found is not None
        assert found.reason == "bounce"


class TestByHand:
    def test_manual_suppression(self, store: Store) -> None:
        store.add_action(A, Action("suppress", day(5), "asked us to stop"))
        found = suppression_for(store, A, Policy(), NOW)
        assert found is not None
        assert (found.reason, found.since, found.event) == (
            "manual",
            day(5),
            {"kind": "manual", "reason": "asked us to stop"},
        )

    def test_lifting_clears_only_what_came_before(self, store: Store) -> None:
        ingest(store, [bounce_event("m1", [A], day(2), "Permanent", "General")])
        store.add_action(A, Action("lift", day(3)))
        assert suppression_for(store, A, Policy(), NOW) is None
        # A bounce timestamped before the lift but arriving after it changes nothing...
        ingest(store, [bounce_event("m0", [A], day(1), "Permanent", "General")])
        assert suppression_for(store, A, Policy(), NOW) is None
        # ...one timestamped after it suppresses again.
        ingest(store, [bounce_event("m2", [A], day(4), "Permanent", "General")])
        found = suppression_for(store, A, Policy(), NOW)
        assert found is not None
        assert found.since == day(4)

    def test_list_is_sorted_and_complete(self, store: Store) -> None:
        ingest(store, [bounce_event("m1", ["z@example.com"], day(2), "Permanent", "General"),
                       event("Complaint", "m2", ["b@example.com"], day(3)),
                       delivered("m3", day(1))])  # fmt: skip
        store.add_action("m@example.com", Action("suppress", day(4)))
        assert [s.address for s in suppressions(store, Policy(), NOW)] == [
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
                results.append(suppression_for(store, A, Policy(), NOW))
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
        ]
        with Stubber(client) as stub:
            stub.add_response("put_suppressed_destination", {}, {"EmailAddress": "a@example.com", "Reason": "BOUNCE"})
            stub.add_response(
                "put_suppressed_destination", {}, {"EmailAddress": "b@example.com", "Reason": "COMPLAINT"}
            )
            assert push(client, found) == 2
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
        assert [(s.address, s.reason) for s in suppressions(store, Policy(), NOW)] == [
            ("one@example.com", "manual"), ("two@example.com", "manual")]  # fmt: skip

    def test_ses_errors_are_clear(self) -> None:
        client = self.client()
        with Stubber(client) as stub:
            stub.add_client_error("list_suppressed_destinations", "TooManyRequestsException", "slow down")
            with pytest.raises(SesError, match="slow down"):
                pull(client)
