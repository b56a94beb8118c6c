"""Every list is paged: one message with 10,000 recipients, the messages of one address, the suppression
list (API, dashboard's parameters and the CLI); message ids holding "/"; tag names holding colons.
Both backends, through the store and through a real server."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from mailfate.core.suppression import Action
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import UsageError
from mailfate.store import Store, open_store
from mailfate.store.listing import MessagePart, MessageQuery, decode_cursor, parse_tag
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema
from .support import Server, request

NOW = datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def get(server: Server, path: str) -> tuple[int, Any, dict[str, str]]:
    response = request(server.port, "GET", path)
    return response.status, response.json(), dict(response.headers)


class TestOneMessageInParts:
    def test_parts_cover_every_recipient_and_event_once(self, store: Store) -> None:
        to = [f"r{i:05d}@example.com" for i in range(2500)]
        sent = "2026-11-20T10:00:00.000Z"
        ingest(store, [event("Send", "big", to, sent), event("Delivery", "big", to[:1200], "2026-11-20T10:00:05Z")])
        first = store.message("big")
        assert first is not None
        assert len(first.recipients) == 1000
        assert first.recipient_counts["delivered"] == 1200  # counts are of every recipient, not of the part
        assert first.recipient_counts["sent"] == 1300
        assert first.status.value == "sent"
        addresses, events = [f.address for f in first.recipients], list(first.events)
        recipients_cursor, events_cursor = first.next_recipients_cursor, first.next_events_cursor
        for _ in range(5):  # bounded: 2,500 recipients and 3,700 events in parts of 1,000
            if recipients_cursor:
                view = store.message("big", MessagePart.parse({"recipients_cursor": recipients_cursor}))
                assert view is not None
                addresses += [f.address for f in view.recipients]
                recipients_cursor = view.next_recipients_cursor
            if events_cursor:
                view = store.message("big", MessagePart.parse({"events_cursor": events_cursor}))
                assert view is not None
                events += view.events
                events_cursor = view.next_events_cursor
        assert addresses == to  # by address, none twice, none missing
        assert len(events) == 3700
        assert len({(e.kind, e.recipient) for e in events}) == 3700
        order = [(e.timestamp, e.kind, e.recipient) for e in events]
        assert order == sorted(order)

    def test_a_small_message_is_whole_and_keeps_its_shape(self, store: Store) -> None:
        ingest(store, [event("Send", "small", ["a@example.com", "b@example.com"], "2026-11-20T10:00:00Z")])
        view = store.message("small")
        assert view is not None
        body = view.to_json()
        assert "next_recipients_cursor" not in body
        assert "next_events_cursor" not in body
        assert body["recipient_counts"]["sent"] == 2

    @pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1001"}, {"recipients_cursor": "nope"},
                                        {"events_cursor": "WyJhIl0"}])  # fmt: skip
    def test_bad_part_is_a_usage_error(self, params: dict[str, str]) -> None:
        with pytest.raises(UsageError):
            MessagePart.parse(params)


class TestAddressPages:
    def test_messages_of_an_address_newest_first_in_pages(self, store: Store) -> None:
        records = []
        for i in range(250):
            sent = _stamp(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i // 2))  # two at a time: ties
            records.append(event("Send", f"m-{i:03d}", ["many@example.com"], sent))
        ingest(store, records)
        seen: list[str] = []
        cursor = None
        pages = 0
        for _ in range(5):
            view = store.recipient("many@example.com", 100, cursor)
            pages += 1
            seen += [m.fate.message_id for m in view.messages]
            if view.next_cursor is None:
                break
            raw = decode_cursor(view.next_cursor, 2)
            cursor = (raw[0], raw[1])
        assert pages == 3
        assert len(seen) == 250
        assert len(set(seen)) == 250
        expected = sorted(records, key=lambda r: (r["mail"]["timestamp"], r["mail"]["messageId"]), reverse=True)
        assert seen == [r["mail"]["messageId"] for r in expected]
        assert "next_cursor" not in store.recipient("many@example.com", 1000).to_json()


class TestSuppressionPages:
    def test_pages_by_address_with_filter_and_expiry(self, store: Store) -> None:
        for i in range(230):
            store.add_action(f"hand{i:03d}@example.com", Action("suppress", _stamp(NOW - timedelta(days=1)), "asked"))
        store.add_action("hand007@example.com", Action("lift", _stamp(NOW)))
        # A soft-bounce suppression that expired a day ago is not on the list.
        old = NOW - timedelta(days=40)
        soft = [
            bounce_event(f"s-{i}", ["soft@example.com"], _stamp(old + timedelta(hours=i)), "Transient",
                         "MailboxFull", "4.2.2")
            for i in range(3)
        ]  # fmt: skip
        ingest(store, [*soft, bounce_event("h-1", ["hard@example.org"], _stamp(NOW), "Permanent", "General", "5.1.1")])
        listed: list[str] = []
        after = None
        for _ in range(10):
            page = store.suppressions(after, 101, now=NOW)
            listed += [s.address for s in page[:100]]
            if len(page) <= 100:
                break
            after = page[99].address
        expected = sorted([f"hand{i:03d}@example.com" for i in range(230) if i != 7] + ["hard@example.org"])
        assert listed == expected
        found = store.suppressions(None, 101, "d02", now=NOW)
        assert [s.address for s in found] == [f"hand{i:03d}@example.com" for i in range(20, 30)]
        assert store.suppressions(contains="%", now=NOW) == []  # LIKE wildcards are text


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on either backend with: one message of 10,000 recipients, an address with 150 messages,
    1,100 suppressions by hand, a message id holding slashes, and SES's colon-named tags. Read-only
    tests share it (seeding takes seconds)."""
    folder = tmp_path_factory.mktemp("paging")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'paging.db'}"
        else:
            url = stack.enter_context(postgres_schema())
        _seed(url)
        server = Server(url, {"MAILFATE_CONFIRM": "off"}, folder / "server.log").start()
        stack.callback(server.stop)
        yield server


def _seed(store_url: str) -> None:
    store = open_store(store_url)
    try:
        to = [f"r{i:05d}@example.com" for i in range(10_000)]
        huge = event("Send", "huge", to, "2026-11-20T10:00:00.000Z")
        many = [event("Send", f"many-{i:03d}", ["many@example.com"], f"2026-11-{1 + i // 10:02d}T10:{i % 10:02d}:00Z")
                for i in range(150)]  # fmt: skip
        slash = event("Send", "team/2026/welcome", ["x@example.com"], "2026-11-20T10:00:00Z")
        tagged = event("Send", "tagged", ["t@example.com"], "2026-11-20T10:00:00Z")
        tagged["mail"]["tags"] = {"ses:configuration-set": ["marketing"], "ses:source-ip": ["2001:db8::1"],
                                  "campaign": ["a:b"]}  # fmt: skip
        ingest(store, [huge, *many, slash, tagged])
        for i in range(1100):
            store.add_action(f"s{i:04d}@example.com", Action("suppress", _stamp(NOW - timedelta(hours=1))))
    finally:
        store.close()


@pytest.mark.server
class TestOverHttp:
    def test_a_message_of_ten_thousand_recipients(self, seeded_server: Server) -> None:
        response = request(seeded_server.port, "GET", "/api/messages/huge")
        assert response.status == 200
        assert len(response.body) < 2_000_000  # was 14 MB in one piece
        body = response.json()
        assert body["recipient_counts"]["sent"] == 10_000
        assert len(body["recipients"]) == len(body["events"]) == 1000
        addresses = [r["address"] for r in body["recipients"]]
        for _ in range(12):  # bounded: ten parts
            cursor = body.get("next_recipients_cursor")
            if cursor is None:
                break
            status, body, _ = get(seeded_server, f"/api/messages/huge?limit=1000&recipients_cursor={cursor}")
            assert status == 200
            addresses += [r["address"] for r in body["recipients"]]
        assert addresses == [f"r{i:05d}@example.com" for i in range(10_000)]
        assert get(seeded_server, "/api/messages/huge?limit=5")[1]["recipients"][-1]["address"] == "r00004@example.com"

    def test_messages_of_an_address(self, seeded_server: Server) -> None:
        status, first, _ = get(seeded_server, "/api/recipients/many@example.com")
        assert status == 200
        assert len(first["messages"]) == 100
        status, second, _ = get(seeded_server, f"/api/recipients/many@example.com?cursor={first['next_cursor']}")
        assert len(second["messages"]) == 50
        assert "next_cursor" not in second
        ids = [m["message_id"] for m in first["messages"] + second["messages"]]
        assert ids == [f"many-{i:03d}" for i in range(149, -1, -1)]
        assert get(seeded_server, "/api/recipients/many@example.com?limit=0")[0] == 400
        assert get(seeded_server, "/api/recipients/many@example.com?cursor=x")[0] == 400

    def test_suppression_list_pages_with_a_link_header(self, seeded_server: Server) -> None:
        status, page, headers = get(seeded_server, "/api/suppressions")
        assert status == 200
        assert len(page) == 100  # the default page, not all 1,100
        listed = [s["address"] for s in page]
        for _ in range(20):
            link = headers.get("link")
            if link is None:
                break
            assert link.endswith('>; rel="next"')
            status, page, headers = get(seeded_server, link[1 : link.index(">")])
            assert status == 200
            listed += [s["address"] for s in page]
        assert listed == [f"s{i:04d}@example.com" for i in range(1100)]
        status, page, headers = get(seeded_server, "/api/suppressions?limit=1000&contains=S109")
        assert [s["address"] for s in page] == [f"s109{i}@example.com" for i in range(10)]
        assert "link" not in headers
        for bad in ("limit=1001", "limit=-1", "cursor=%%%"):
            assert get(seeded_server, f"/api/suppressions?{bad}")[0] == 400

    def test_a_message_id_with_slashes(self, seeded_server: Server) -> None:
        status, body, _ = get(seeded_server, f"/api/messages/{quote('team/2026/welcome', safe='')}")
        assert (status, body["message_id"]) == (200, "team/2026/welcome")
        assert get(seeded_server, "/api/messages/team/2026/welcome")[1]["message_id"] == "team/2026/welcome"

    @pytest.mark.parametrize(
        "tag", ["ses:configuration-set:marketing", "ses:source-ip:2001:db8::1", "campaign:a:b", "campaign=a:b"]
    )
    def test_tags_whose_names_or_values_hold_colons(self, seeded_server: Server, tag: str) -> None:
        status, page, _ = get(seeded_server, f"/api/messages?tag={quote(tag)}")
        assert status == 200
        assert [m["message_id"] for m in page["messages"]] == ["tagged"]

    @pytest.mark.parametrize("tag", ["ses:configuration-set:other", "ses:configuration-set", "campaign=a"])
    def test_tags_that_match_nothing(self, seeded_server: Server, tag: str) -> None:
        status, page, _ = get(seeded_server, f"/api/messages?tag={quote(tag)}")
        assert (status, page["messages"]) == (200, [])

    def test_cli_prints_every_suppression(self, seeded_server: Server) -> None:
        exe = Path(sys.executable).with_name("mailfate")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
        done = subprocess.run(
            [str(exe), "suppressions", "--json", "--db", seeded_server.db],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert [s["address"] for s in json.loads(done.stdout)] == [f"s{i:04d}@example.com" for i in range(1100)]


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("campaign:welcome", (("campaign", "welcome"),)),
        ("ses:configuration-set:marketing", (("ses", "configuration-set:marketing"),
                                             ("ses:configuration-set", "marketing"))),
        ("name=va:lue=x", (("name", "va:lue=x"),)),
    ],
)  # fmt: skip
def test_tag_splits(text: str, pairs: tuple[tuple[str, str], ...]) -> None:
    assert parse_tag(text) == pairs
    assert MessageQuery.parse({"tag": text}).tag == pairs


@pytest.mark.parametrize("text", ["nocolon", ":value", "=value"])
def test_bad_tags(text: str) -> None:
    with pytest.raises(UsageError):
        parse_tag(text)
