"""The activity list and search (docs/api.md): every filter, alone and together, against a model of what
it means, on both backends, whichever index drives the query; its pages; the message list's filters;
the CSV export; and an upgrade that indexes what was stored before."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest

from mailfate.core.model import Status
from mailfate.store import Store, activity, open_store
from mailfate.store import migrate as migrate_module
from mailfate.store.listing import ActivityQuery, Filters, MessageQuery, decode_cursor
from mailfate.testing import bounce_event, event

from .conftest import ingest
from .support import Server, request

SUBJECTS = ["Your order 17 has shipped", "Password reset", "Invoice 2026-11 for Acme", "Weekly digest: gardening",
            "Re: your question", "Order #42 confirmed", None]  # fmt: skip
DOMAINS = ["example.com", "mail.example.com", "gmail.com", "example.org", "sub.mail.example.com"]
SENDERS = ["Orders@Shop.example", "noreply@shop.example", "billing@shop.example"]
SETS = ["transactional", "marketing", None]
KINDS = ["delivered", "bounced", "complained", "soft_bounced", "auto_reply", "sent", "delayed", "rejected"]


@dataclass(frozen=True)
class Row:
    message_id: str
    address: str
    sent_at: str
    status: str
    auto_reply: bool
    subject: str | None
    source: str
    configuration_set: str | None
    campaign: str


def stamp(n: int) -> str:
    return f"2026-11-{1 + n // 24:02d}T{n % 24:02d}:00:00.000Z"


def dataset() -> tuple[list[dict[str, Any]], list[Row]]:
    """60 messages (one in five to three recipients), and the model of each recipient row."""
    records: list[dict[str, Any]] = []
    rows: list[Row] = []
    for i in range(60):
        message_id = f"0100019c{i:04x}{'AB' if i == 7 else 'cd'}-activity-000000"
        sent_at = stamp(i // 2 * 2 if i % 10 == 3 else i)  # some messages share their send time
        count = 3 if i % 5 == 0 else 1
        addresses = [f"{'heidi' if (i + k) % 13 == 0 else 'user'}{i}.{k}@{DOMAINS[(i + k) % 5]}" for k in range(count)]
        subject, source = SUBJECTS[i % 7], SENDERS[i % 3]
        configuration_set, campaign = SETS[i % 3], f"c{i % 4}"
        for k, to in enumerate(addresses):
            kind = KINDS[(i + 3 * k) % 8]
            if kind == "rejected" and count > 1:  # a Reject is of the whole message: every recipient
                kind = "delayed"
            later = sent_at.replace(":00:00.", ":30:00.")
            found = [event("Send", message_id, [to], sent_at, sent_at=sent_at)]
            found += {
                "delivered": [event("Delivery", message_id, [to], later, sent_at=sent_at)],
                "bounced": [bounce_event(message_id, [to], later, "Permanent", "General", sent_at=sent_at)],
                "complained": [event("Delivery", message_id, [to], later, sent_at=sent_at),
                               event("Complaint", message_id, [to], later, sent_at=sent_at)],
                "soft_bounced": [bounce_event(message_id, [to], later, "Transient", "MailboxFull", sent_at=sent_at)],
                "auto_reply": [event("Delivery", message_id, [to], later, sent_at=sent_at),
                               bounce_event(message_id, [to], later, "Transient", "General", sent_at=sent_at)],
                "sent": [],
                "delayed": [event("DeliveryDelay", message_id, [to], later, sent_at=sent_at)],
                "rejected": [event("Reject", message_id, [to], sent_at, sent_at=sent_at)],
            }[kind]  # fmt: skip
            for record in found:
                mail = record["mail"]
                mail["commonHeaders"]["subject"] = subject
                if subject is None:
                    del mail["commonHeaders"]["subject"]
                mail["source"], mail["tags"]["campaign"] = source, [campaign]
                mail["destination"] = addresses
                if configuration_set is None:
                    mail.pop("configurationSet", None)
                    mail["tags"].pop("ses:configuration-set", None)
                else:
                    mail["configurationSet"] = configuration_set
                    mail["tags"]["ses:configuration-set"] = [configuration_set]
            records.extend(found)
            status = "delivered" if kind == "auto_reply" else kind
            rows.append(Row(message_id, to, sent_at, status, kind == "auto_reply", subject, source,
                            configuration_set, campaign))  # fmt: skip
    return records, rows


_WORD = re.compile(r"[^\W_]+")


def matches(row: Row, params: dict[str, str]) -> bool:
    """What each filter means, said plainly (docs/api.md), independently of the store's terms."""
    if "status" in params and row.status not in params["status"].split(","):
        return False
    if "auto_reply" in params and row.auto_reply != (params["auto_reply"] == "true"):
        return False
    if "recipient" in params and row.address != params["recipient"].lower():
        return False
    domain = params.get("domain", "").strip().lower().lstrip("@")
    if domain and not (row.address.endswith("@" + domain) or row.address.endswith("." + domain)):
        return False
    if "sender" in params and row.source.lower() != params["sender"].strip().lower():
        return False
    if "configuration_set" in params and row.configuration_set != params["configuration_set"]:
        return False
    if "tag" in params and params["tag"] not in (
        f"campaign:{row.campaign}",
        f"ses:configuration-set:{row.configuration_set}",
    ):
        return False
    if "since" in params and row.sent_at < params["since"]:
        return False
    if "until" in params and row.sent_at >= params["until"]:
        return False
    for token in params.get("q", "").lower().split():
        words = _WORD.findall((row.subject or "").casefold())
        word = _WORD.findall(token)
        if not (
            row.message_id.lower().startswith(token)
            or row.address.startswith(token) or f"@{token}" in row.address or f".{token}" in row.address
            or (len(word) == 1 and any(w.startswith(word[0]) for w in words))
        ):  # fmt: skip
            return False
    return True


def expected(rows: list[Row], params: dict[str, str]) -> list[tuple[str, str]]:
    found = sorted((r for r in rows if matches(r, params)), key=lambda r: (r.sent_at, r.message_id, r.address))
    return [(r.message_id, r.address) for r in reversed(found)]


FILTERS: list[dict[str, str]] = [
    {},
    {"status": "bounced"}, {"status": "complained,soft_bounced"}, {"status": "rejected"}, {"status": "failed"},
    {"auto_reply": "true"}, {"auto_reply": "false", "status": "delivered"},
    {"recipient": "USER5.1@example.org"}, {"domain": "example.com"}, {"domain": "mail.example.com"},
    {"domain": "@gmail.com"}, {"sender": " orders@SHOP.example "}, {"configuration_set": "marketing"},
    {"tag": "campaign:c2"}, {"tag": "ses:configuration-set:transactional"},
    {"since": stamp(20), "until": stamp(40)}, {"q": "heidi"}, {"q": "0100019c000"}, {"q": "0100019C0007AB"},
    {"q": "mail.ex"}, {"q": "example"}, {"q": "ord"}, {"q": "password reset"}, {"q": "#42"}, {"q": "2026"},
    {"q": "heidi example.com"}, {"q": "nothing-like-this"}, {"q": "user1"},
    {"status": "delivered", "domain": "gmail.com"}, {"q": "invoice", "status": "bounced,delivered"},
    {"tag": "campaign:c1", "configuration_set": "transactional", "since": stamp(10)},
    {"q": "user", "sender": "billing@shop.example", "auto_reply": "false"},
]  # fmt: skip


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Row]]:
    records, rows = dataset()
    ingest(store, records)
    return store, rows


def keys(store: Store, params: dict[str, str], limit: int = 500) -> list[tuple[str, str]]:
    page = store.activity(ActivityQuery.parse({**params, "limit": str(limit)}))
    return [(r.fate.message_id, r.fate.address) for r in page.rows]


@pytest.mark.parametrize("cap", [0, 4, activity.CAP], ids=["dense", "mixed", "default"])
def test_every_filter_finds_what_it_means_whichever_index_drives(
    loaded: tuple[Store, list[Row]], cap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CAP decides which filter drives: 0 makes every filter look dense (ordered drivers, or the time
    index), a huge one lets the smallest drive. The rows must not depend on it."""
    store, rows = loaded
    monkeypatch.setattr(activity, "CAP", cap)
    for params in FILTERS:
        assert keys(store, params) == expected(rows, params), params
    assert len(keys(store, {})) == len(rows)


def test_pages_follow_each_other_without_a_gap_or_a_repeat(loaded: tuple[Store, list[Row]]) -> None:
    store, rows = loaded
    for params in ({}, {"q": "user"}, {"status": "delivered,sent"}, {"domain": "example.com"}):
        seen: list[tuple[str, str]] = []
        cursor = None
        for _ in range(100):
            page = store.activity(
                ActivityQuery.parse({**params, "limit": "4", **({"cursor": cursor} if cursor else {})})
            )
            seen += [(r.fate.message_id, r.fate.address) for r in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected(rows, params)


def test_a_row_carries_its_fate_and_its_message(loaded: tuple[Store, list[Row]]) -> None:
    store, rows = loaded
    (auto_reply, *_) = store.activity(ActivityQuery.parse({"auto_reply": "true", "limit": "1"})).rows
    body = auto_reply.to_json()
    assert (body["status"], body["auto_reply"]) == ("delivered", True)
    assert body["bounce"]["type"] == "Transient"
    model = next(r for r in rows if (r.message_id, r.address) == (body["message_id"], body["address"]))
    assert (body["subject"], body["source"], body["sent_at"]) == (model.subject, model.source, model.sent_at)
    (bounced, *_) = store.activity(ActivityQuery.parse({"status": "bounced", "limit": "1"})).rows
    assert bounced.to_json()["bounce"]["type"] == "Permanent"
    (complained, *_) = store.activity(ActivityQuery.parse({"status": "complained", "limit": "1"})).rows
    assert complained.to_json()["complaint"]["feedback_type"] == "abuse"


def test_the_message_list_takes_the_same_filters_and_keeps_its_own_status(loaded: tuple[Store, list[Row]]) -> None:
    store, rows = loaded

    def worst(message_id: str) -> str:
        statuses = {r.status for r in rows if r.message_id == message_id}
        return next(s.value for s in Status if s.value in statuses)

    for params in ({"q": "heidi"}, {"domain": "gmail.com"}, {"status": "bounced"}, {"status": "delivered"},
                   {"auto_reply": "true"}, {"q": "order", "configuration_set": "marketing"}):  # fmt: skip
        recipient_filters = {k: v for k, v in params.items() if k != "status"}
        ids = list(dict.fromkeys(m for m, _ in expected(rows, recipient_filters)))
        if "status" in params:  # the message's own status: its most severe recipient's
            ids = [m for m in ids if worst(m) == params["status"]]
        seen: list[str] = []
        cursor = None
        for _ in range(50):
            page = store.messages(
                MessageQuery.parse({**params, "limit": "2", **({"cursor": cursor} if cursor else {})})
            )
            seen += [m.message_id for m in page.messages]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ids, params


def test_a_changed_subject_is_found_by_its_new_words_only(store: Store) -> None:
    first = event("Send", "m-subject", ["a@example.com"], stamp(1))
    first["mail"]["commonHeaders"]["subject"] = "Apples"
    later = event("Delivery", "m-subject", ["a@example.com"], stamp(2), sent_at=stamp(1))
    later["mail"]["commonHeaders"]["subject"] = "Bananas"  # the greater value is kept (merge rule)
    ingest(store, [first])
    assert keys(store, {"q": "apples"}) == [("m-subject", "a@example.com")]
    ingest(store, [later])
    assert keys(store, {"q": "apples"}) == []
    assert keys(store, {"q": "banan"}) == [("m-subject", "a@example.com")]
    assert store.message("m-subject").subject == "Bananas"  # type: ignore[union-attr]


@pytest.mark.parametrize("params", [{"status": "lost"}, {"auto_reply": "yes"}, {"cursor": "bogus"},
                                    {"since": "yesterday"}, {"tag": "nocolon"}, {"limit": "501"}])  # fmt: skip
def test_bad_filters_are_usage_errors(params: dict[str, str]) -> None:
    from mailfate.errors import UsageError

    with pytest.raises(UsageError):
        ActivityQuery.parse(params)


def test_the_upgrade_indexes_what_was_stored_before(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database from before migration 0008 holds a message: once upgraded, every filter finds it."""
    everything = migrate_module.migrations
    monkeypatch.setattr(migrate_module, "migrations", lambda d: [m for m in everything(d) if m[0] < "0008"])
    old = open_store(store_url)
    with old._transaction() as tx:  # type: ignore[attr-defined]  # written as the version before would
        tx.execute(
            "INSERT INTO messages (message_id, source, subject, sent_at, tags, configuration_set) "
            "VALUES ('m-old', 'shop@example.com', 'Quarterly statement', ?, '{\"team\": [\"ops\"]}', 'legacy')",
            (stamp(3),),
        )
        tx.execute(
            "INSERT INTO recipients (message_id, address, engaged) VALUES ('m-old', 'heidi@mail.example.com', ?)",
            (True,),
        )
    old.close()
    monkeypatch.setattr(migrate_module, "migrations", everything)
    new = open_store(store_url)
    try:
        for params in ({}, {"q": "heidi"}, {"q": "quarter"}, {"q": "m-o"}, {"domain": "example.com"},
                       {"sender": "SHOP@example.com"}, {"configuration_set": "legacy"}, {"tag": "team:ops"},
                       {"status": "delivered", "since": stamp(2)}):  # fmt: skip
            assert keys(new, params) == [("m-old", "heidi@mail.example.com")], params
    finally:
        new.close()


def test_the_api_lists_searches_and_exports(servers: Any, tmp_path: Any) -> None:
    records, rows = dataset()
    url = f"sqlite:///{tmp_path / 'api.db'}"
    store = open_store(url)
    try:
        ingest(store, records)
    finally:
        store.close()
    server: Server = servers(db=url)
    page = request(server.port, "GET", "/api/activity?q=heidi&limit=2").json()
    assert [(r["message_id"], r["address"]) for r in page["activity"]] == expected(rows, {"q": "heidi"})[:2]
    assert decode_cursor(page["next_cursor"], 3)[1:] == expected(rows, {"q": "heidi"})[1]
    assert request(server.port, "GET", "/api/activity?auto_reply=maybe").status == 400
    assert "unknown query parameter 'colour'" in request(server.port, "GET", "/api/activity?colour=red").json()["error"]
    messages = request(server.port, "GET", "/api/messages?domain=gmail.com&status=bounced").json()["messages"]
    assert messages
    assert {m["status"] for m in messages} == {"bounced"}

    answer = request(server.port, "GET", "/api/activity.csv?domain=example.com&status=delivered")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(answer.body.decode())))
    assert table[0][:5] == ["sent_at", "message_id", "address", "status", "auto_reply"]
    want = expected(rows, {"domain": "example.com", "status": "delivered"})
    assert [(line[1], line[2]) for line in table[1:]] == want
    assert {line[3] for line in table[1:]} == {"delivered"}
    assert request(server.port, "GET", "/api/activity.csv?status=nope").json()["status"] == 400


def test_the_export_makes_formulas_harmless() -> None:
    """Whatever came from outside (a subject, a diagnostic, an address, a message id) cannot run as a
    spreadsheet formula; what mailfate writes itself is unchanged."""
    from mailfate.core.activity import ActivityRow, csv_text
    from mailfate.core.fate import Summary
    from mailfate.core.views import Fate

    bounce = '{"diagnostic_code": "=HYPERLINK(1)", "type": "\\tPermanent"}'
    fate = Fate('=HYPERLINK("http://evil.example")', "-2+3+cmd|'/C calc'!A0@example.com",
                Summary(hard_bounce=True, bounce=bounce, last_event_at="2026-11-20T09:05:00.000Z"))  # fmt: skip
    text = csv_text([ActivityRow(fate, "+SUM(A1)", "@shop", "2026-11-20T09:00:00.000Z", "\rset", {})], header=True)
    (_, line) = list(csv.reader(io.StringIO(text)))
    assert line[1] == '\'=HYPERLINK("http://evil.example")'
    assert line[2] == "'-2+3+cmd|'/C calc'!A0@example.com"
    assert (line[5], line[8], line[10], line[11], line[12]) == ("'\tPermanent", "'=HYPERLINK(1)", "'+SUM(A1)", "'@shop",
                                                                "'\rset")  # fmt: skip
    assert (line[0], line[3], line[4], line[13]) == (
        "2026-11-20T09:00:00.000Z",
        "bounced",
        "false",
        "2026-11-20T09:05:00.000Z",
    )


def test_the_api_export_makes_hostile_addresses_and_ids_harmless(servers: Any, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'csv.db'}"
    store = open_store(url)
    try:
        ingest(store, [event("Send", '=HYPERLINK("http://evil.example")', ["=1+2@example.com"], stamp(1))])
    finally:
        store.close()
    server: Server = servers(db=url)
    (_, line) = list(csv.reader(io.StringIO(request(server.port, "GET", "/api/activity.csv").body.decode())))
    assert (line[1], line[2]) == ('\'=HYPERLINK("http://evil.example")', "'=1+2@example.com")


def test_filters_parse_comma_lists_and_trim() -> None:
    filters = Filters.parse({"status": "bounced, complained,bounced", "domain": " @Example.COM ", "q": "Heidi  X"})
    assert filters.status == ("bounced", "complained")
    assert filters.domain == "example.com"
    assert [t.text for t in filters.q] == ["heidi", "x"]
