"""docs/fate.md: the fate of a recipient is a pure function of the set of its events."""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.core.fate import STATUS_RULES, Summary, fold, message_status
from mailfate.core.model import Event, Status
from mailfate.sources.parse import parse_record
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema

T0 = "2026-03-01T10:00:00.000Z"
T1 = "2026-03-01T10:00:05.000Z"
T2 = "2026-03-01T10:30:00.000Z"
A = "a@example.com"


def events_of(*records: dict[str, Any]) -> list[Event]:
    return [e for r in records for e in parse_record(r, json.dumps(r)).events]


def fate(*records: dict[str, Any]) -> Summary:
    (summary,) = fold(events_of(*records)).values()
    return summary


def delivery(t: str = T1) -> dict[str, Any]:
    return event("Delivery", "m", [A], t)


def bounce(kind: str, sub: str, status: str | None = None, t: str = T2) -> dict[str, Any]:
    return bounce_event("m", [A], t, kind, sub, status)


def complaint(feedback: str | None = "abuse") -> dict[str, Any]:
    return event("Complaint", "m", [A], T2, complaintFeedbackType=feedback)


# (why, records, status, auto_reply, reclassified)
RULES = [
    ("1 complaint beats a delivery", [delivery(), complaint()], Status.COMPLAINED, False, None),
    ("1 complaint without a feedback type counts", [complaint(None)], Status.COMPLAINED, False, None),
    ("1 not-spam is no complaint", [delivery(), complaint("not-spam")], Status.DELIVERED, False, None),
    ("6 not-spam alone: it reached the mailbox", [event("Send", "m", [A], T0), complaint("not-spam")],
     Status.DELIVERED, False, None),
    ("6 not-spam beats a delay", [event("DeliveryDelay", "m", [A], T1), complaint("not-spam")], Status.DELIVERED,
     False, None),
    ("5 not-spam is no Delivery: an ambiguous bounce stays soft", [bounce("Transient", "General"),
     complaint("not-spam")], Status.SOFT_BOUNCED, False, False),
    ("1 complaint beats a hard bounce", [bounce("Permanent", "General"), complaint()], Status.COMPLAINED, False, None),
    ("2 permanent bounce", [bounce("Permanent", "NoEmail", "5.1.1")], Status.BOUNCED, False, False),
    ("2 permanent bounce after delivery", [delivery(), bounce("Permanent", "General")], Status.BOUNCED, False, False),
    ("2 unknown permanent subtype", [bounce("Permanent", "OnTenantSuppressionList")], Status.BOUNCED, False, False),
    ("2 transient/general with 5.1.1 is hard", [bounce("Transient", "General", "5.1.1")], Status.BOUNCED, False, True),
    ("2 undetermined with 5.2.1 is hard", [delivery(), bounce("Undetermined", "Undetermined", "5.2.1")],
     Status.BOUNCED, False, True),
    ("2 policy code 5.7.1 is not promoted", [bounce("Transient", "General", "5.7.1")], Status.SOFT_BOUNCED, False,
     False),
    ("2 transient/mailboxfull with 5.x stays soft", [bounce("Transient", "MailboxFull", "5.2.2")],
     Status.SOFT_BOUNCED, False, False),
    ("3 reject", [event("Send", "m", [A], T0), event("Reject", "m", [A], T0)], Status.REJECTED, False, None),
    ("3 reject beats rendering failure", [event("Reject", "m", [A], T0), event("Rendering Failure", "m", [A], T0)],
     Status.REJECTED, False, None),
    ("4 rendering failure", [event("Rendering Failure", "m", [A], T0)], Status.FAILED, False, None),
    ("5 transient other than general", [bounce("Transient", "MailboxFull", "4.2.2")], Status.SOFT_BOUNCED, False,
     False),
    ("5 transient other than general beats delivery", [delivery(), bounce("Transient", "MessageTooLarge")],
     Status.SOFT_BOUNCED, False, False),
    ("5 transient/general without delivery", [bounce("Transient", "General")], Status.SOFT_BOUNCED, False, False),
    ("5 undetermined without delivery", [bounce("Undetermined", "Undetermined")], Status.SOFT_BOUNCED, False, False),
    ("5 soft bounce beats delay", [event("DeliveryDelay", "m", [A], T1), bounce("Transient", "General")],
     Status.SOFT_BOUNCED, False, False),
    ("6 delivery", [event("Send", "m", [A], T0), delivery()], Status.DELIVERED, False, None),
    ("6 an open alone means delivered", [event("Open", "m", [A], T2)], Status.DELIVERED, False, None),
    ("6 auto-reply: delivery then transient/general", [delivery(), bounce("Transient", "General", "4.0.0")],
     Status.DELIVERED, True, False),
    ("6 auto-reply: click then undetermined", [event("Click", "m", [A], T2), bounce("Undetermined", "Undetermined")],
     Status.DELIVERED, True, False),
    ("6 delivery beats delay", [event("DeliveryDelay", "m", [A], T0), delivery()], Status.DELIVERED, False, None),
    ("7 delay", [event("Send", "m", [A], T0), event("DeliveryDelay", "m", [A], T1)], Status.DELAYED, False, None),
    ("8 send", [event("Send", "m", [A], T0)], Status.SENT, False, None),
    ("8 subscription", [event("Subscription", "m", [A], T2)], Status.SENT, False, None),
]  # fmt: skip


class TestRules:
    @pytest.mark.parametrize(
        ("why", "records", "status", "auto_reply", "reclassified"), RULES, ids=[r[0] for r in RULES]
    )
    def test_rule(
        self, why: str, records: list[dict[str, Any]], status: Status, auto_reply: bool, reclassified: bool | None
    ) -> None:
        """Each row of the rules table in docs/fate.md, in both arrival orders."""
        for ordering in (records, records[::-1]):
            summary = fate(*ordering)
            assert summary.status is status, why
            assert summary.auto_reply is auto_reply, why
            if reclassified is not None:
                assert json.loads(summary.bounce or "{}")["reclassified"] is reclassified

    def test_opened_clicked_unsubscribed(self) -> None:
        s = fate(delivery(), event("Open", "m", [A], T2), event("Subscription", "m", [A], T2))
        assert (s.opened, s.clicked, s.unsubscribed) == (True, False, True)
        s = fate(event("Click", "m", [A], T2))
        assert (s.opened, s.clicked, s.unsubscribed) == (False, True, False)

    def test_first_and_last_event_time(self) -> None:
        s = fate(bounce("Transient", "General", t=T2), event("Send", "m", [A], T0), delivery(T1))
        assert (s.first_event_at, s.last_event_at) == (T0, T2)

    def test_bounce_details_prefer_the_hard_bounce(self) -> None:
        """The bounce shown is the most severe one, whichever arrived last."""
        s = fate(bounce("Permanent", "NoEmail", "5.1.1", t=T1), bounce("Transient", "General", t=T2))
        assert json.loads(s.bounce or "")["subtype"] == "NoEmail"

    def test_message_status_is_the_most_severe(self) -> None:
        order = [Status.DELIVERED, Status.SENT, Status.DELAYED, Status.SOFT_BOUNCED, Status.FAILED]
        assert message_status(order) is Status.FAILED
        assert message_status(order[:4]) is Status.SOFT_BOUNCED
        assert message_status([Status.DELIVERED, Status.SENT]) is Status.SENT
        assert message_status([Status.DELIVERED, Status.COMPLAINED, Status.BOUNCED]) is Status.COMPLAINED
        assert message_status([]) is None


FLAGS = [
    "complaint",
    "hard_bounce",
    "reject",
    "render_failure",
    "soft_bounce",
    "ambiguous_bounce",
    "engaged",
    "delayed",
    "not_spam",
]


def test_database_status_rules_match_the_python_rules(store_url: str) -> None:
    """The stored status column agrees with STATUS_RULES on every combination of flags, on both backends."""
    open_store(store_url).close()  # creates the schema
    combos = list(itertools.product([False, True], repeat=len(FLAGS)))
    rows = [(f"m{n}", "a", *combo) for n, combo in enumerate(combos)]
    marks = ", ".join(["{}"] * (len(FLAGS) + 2))
    insert = f"INSERT INTO recipients (message_id, address, {', '.join(FLAGS)}) VALUES ({marks})"
    if store_url.startswith("sqlite"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        conn.executemany(insert.format(*["?"] * (len(FLAGS) + 2)), rows)
        stored = dict(conn.execute("SELECT message_id, status FROM recipients").fetchall())
        conn.close()
    else:
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as pg:
            pg.cursor().executemany(insert.format(*["%s"] * (len(FLAGS) + 2)), rows)
            stored = dict(pg.execute("SELECT message_id, status FROM recipients").fetchall())
    for n, combo in enumerate(combos):
        expected = Summary(**dict(zip(FLAGS, combo, strict=True))).status  # type: ignore[arg-type]
        assert stored[f"m{n}"] == expected.value, dict(zip(FLAGS, combo, strict=True))
    assert len(STATUS_RULES) == len(Status)


# -- order independence, checked on random sets of events ---------------------------------------------

MESSAGES = ["m-1", "m-2", "m-3"]
RECIPIENTS = ["a@example.com", "B@Example.com", "c@example.com"]
TIMES = ["2026-03-01T10:00:00.000Z", "2026-03-01T10:00:05.000Z", "2026-03-02T08:00:00.000Z"]
BOUNCES = [
    ("Permanent", "General", "5.1.1"),
    ("Permanent", "OnAccountSuppressionList", None),
    ("Transient", "General", None),
    ("Transient", "General", "5.1.1"),
    ("Transient", "General", "5.7.1"),
    ("Transient", "MailboxFull", "4.2.2"),
    ("Undetermined", "Undetermined", None),
]
KINDS = ["Send", "Delivery", "Open", "Click", "DeliveryDelay", "Reject", "Rendering Failure", "Subscription"]


@st.composite
def ses_records(draw: st.DrawFn) -> dict[str, Any]:
    message = draw(st.sampled_from(MESSAGES))
    recipients = draw(st.lists(st.sampled_from(RECIPIENTS), min_size=1, max_size=2, unique=True))
    when = draw(st.sampled_from(TIMES))
    choice = draw(st.sampled_from([*KINDS, "Bounce", "Complaint", "not-spam"]))
    if choice == "Bounce":
        kind, sub, status = draw(st.sampled_from(BOUNCES))
        return bounce_event(message, recipients, when, kind, sub, status, destination=RECIPIENTS)
    if choice in ("Complaint", "not-spam"):
        feedback = "not-spam" if choice == "not-spam" else "abuse"
        return event("Complaint", message, recipients, when, destination=RECIPIENTS, complaintFeedbackType=feedback)
    return event(choice, message, recipients, when, destination=recipients)


def _fates(store_url: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    store = open_store(store_url)
    try:
        ingest(store, records)
        views = {m: store.message(m) for m in MESSAGES}
    finally:
        store.close()
    return {
        m: None
        if v is None
        else {"status": v.status, "recipients": [{**f.to_json(), "address_as_sent": None} for f in v.recipients]}
        for m, v in views.items()
    }


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(ses_records(), min_size=1, max_size=14), data=st.data())
def test_any_order_and_any_duplication_gives_the_same_fates(records: list[dict[str, Any]], data: st.DataObject) -> None:
    """Permuting and duplicating the input changes no fate: in the pure fold and in the database."""
    shuffled = data.draw(st.permutations(records))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(records), max_size=6))
    reordered = data.draw(st.permutations(duplicated))

    pure = fold(events_of(*records))
    assert fold(events_of(*reordered)) == pure

    with tempfile.TemporaryDirectory() as folder:
        in_order = _fates(f"sqlite:///{folder}/a.db", records)
        shuffled_fates = _fates(f"sqlite:///{folder}/b.db", reordered)
    assert shuffled_fates == in_order
    with postgres_schema() as url:  # the same set, shuffled and duplicated, merged by PostgreSQL
        assert _fates(url, reordered) == in_order
    stored = {(m, r["address"]): r["status"] for m, v in in_order.items() if v for r in v["recipients"]}
    assert stored == {key: s.status.value for key, s in pure.items()}
