"""Where the trouble is and why (docs/insights.md): providers recognised from what SES reports, figures by
recipient domain and provider with delivery latency, and the top bounce and complaint reasons."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfate.cli import main
from mailfate.core.diagnostics import bounce_reason, complaint_reason, normalize
from mailfate.core.insights import LATENCY_BOUNDS, DiagnosticsQuery, latency_bucket, percentile
from mailfate.core.providers import _FINGERPRINTS, classify
from mailfate.core.stats import StatsQuery
from mailfate.store import Store, open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, postgres_schema, stored

SENT = "2026-11-20T09:00:00.000Z"
LATER = "2026-11-20T09:05:00.000Z"
WINDOW = ("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z")

# What each provider's servers really answer, as SES reports it (message and queue ids made up).
GOOGLE_OK = "250 2.0.0 OK  1763629200 d9443c01a7336-2986d4b6b1esi1234567ad.404 - gsmtp"
GOOGLE_NO_USER = (
    "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\n"
    "550-5.1.1 unnecessary spaces. For more information, go to\n"
    "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser {id}.{n} - gsmtp"
)
MICROSOFT_OK = (
    "250 2.6.0 <0100019a4f2b1c3d-5e6f7a8b-{n}-4c5d-9e0f-1a2b3c4d5e6f-000000@email.amazonses.com> "
    "[InternalId=1305670{n}1234, Hostname=DM6PR11MB4{n}57.namprd11.prod.outlook.com] 18734 bytes in 0.{n}12, "
    "148.202 KB/sec Queued mail for delivery"
)
MICROSOFT_REJECTED = (
    "smtp; 550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
    "[DB5PEPF000{n}4B9E.eurprd02.prod.outlook.com 2026-11-20T09:0{n}:01.123Z 08DE0A1B2C3D4E{n}F]"
)
YAHOO_OK = "250 ok dirdel"
YAHOO_NO_USER = (
    "smtp; 554 delivery error: dd This user doesn't have a yahoo.com account ({address}) [0] - "
    "mta40{n}9.mail.bf1.yahoo.com"
)
APPLE_POLICY = (
    "smtp; 554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137"
)
POSTFIX_OK = "250 2.0.0 Ok: queued as 4Tq9Xz1abcZ"


class TestClassify:
    """One event's say on who hosts its recipient."""

    @pytest.mark.parametrize(
        ("address", "details", "expected"),
        [
            ("ann@gmail.com", {}, "google"),
            ("ann@googlemail.com", {"smtp_response": POSTFIX_OK}, "google"),  # the domain decides
            ("bob@hotmail.co.uk", {}, "microsoft"),
            ("cy@aol.com", {}, "yahoo"),
            ("di@me.com", {}, "apple"),
            ("ed@corp.example", {"smtp_response": GOOGLE_OK}, "google"),
            ("ed@corp.example", {"diagnostic_code": GOOGLE_NO_USER.format(id="a1b2c3d4e5", n=7)}, "google"),
            ("fa@corp.example", {"smtp_response": MICROSOFT_OK.format(n=3)}, "microsoft"),
            ("fa@corp.example", {"diagnostic_code": MICROSOFT_REJECTED.format(n=2)}, "microsoft"),
            ("fa@corp.example", {"reporting_mta": "dns; AM0PR02MB5623.eurprd02.prod.outlook.com"}, "microsoft"),
            ("gu@corp.example", {"smtp_response": YAHOO_OK}, "yahoo"),
            ("ha@corp.example", {"diagnostic_code": APPLE_POLICY}, "apple"),
            ("ha@corp.example", {"remote_mta_ip": "17.57.154.6"}, "apple"),
            ("iv@corp.example", {"remote_mta_ip": "40.107.22.52"}, "microsoft"),
            ("iv@corp.example", {"remote_mta_ip": "142.251.9.27"}, "google"),
            ("jo@corp.example", {"smtp_response": POSTFIX_OK, "remote_mta_ip": "192.0.2.25"}, ""),
            ("jo@corp.example", {"reporting_mta": "a8-70.smtp-out.amazonses.com"}, ""),  # SES's own host
            ("jo@notgoogle.com", {"diagnostic_code": "550 5.1.1 unknown at mx.notgoogle.com"}, ""),
            ("jo@corp.example", {"remote_mta_ip": "not an address"}, ""),
        ],
    )
    def test_provider_from_domain_or_fingerprint(self, address: str, details: dict[str, Any], expected: str) -> None:
        assert classify(address, details) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("250 2.0.0 OK  1700000000 a1si123 - GSMTP", "google"),  # the case of a fingerprint does not matter
            ("250 2.0.0 OK  1700000000 a1si123 - g\u017fmtp", "google"),  # long s: re.I folds it onto "s"
            ("550 5.7.1 Service unavailable; [DM6PR.prod.outloo\u212a.com]", "microsoft"),  # Kelvin sign: a "k"
            ("250 ok dirdel \u00e9t\u00e9", "yahoo"),  # not ASCII: every pattern is tried
            ("250 ok queued as 4Z9 by relay.example.net", ""),
        ],
    )
    def test_fingerprints_read_the_same_with_or_without_the_quick_look(self, text: str, expected: str) -> None:
        """ASCII text without any fingerprint's word skips the patterns; text that is not ASCII never does."""
        assert classify("x@corp.example", {"smtp_response": text}) == expected
        assert bool(expected) == any(pattern.search(text) for _, pattern in _FINGERPRINTS)


class TestReasons:
    def test_google_no_such_user_is_one_reason_whoever_it_was(self) -> None:
        """Ids and continuation lines differ per recipient; the reason does not."""
        one = normalize(GOOGLE_NO_USER.format(id="d9443c01a7336-2986d4b6b1esi12345", n=404))
        two = normalize(GOOGLE_NO_USER.format(id="a640c23a62f3a-5e6f7a8b9si98765", n=12))
        assert one == two
        assert one.startswith("550 5.1.1 The email account that you tried to reach does not exist.")
        assert "https://support.google.com/mail/?p=NoSuchUser" in one
        assert "550-5.1.1" not in one

    def test_addresses_ips_times_and_numbers_are_masked(self) -> None:
        text = normalize(
            "smtp; 421 4.7.0 [TSS04] Messages from 54.240.8.1 temporarily deferred for ann@example.com at 10:42:01 "
            "(attempt 3, queue 3f9a8b7c6d5e) via 2001:db8::1"
        )
        assert text == (
            "421 4.7.0 [TSS04] Messages from <ip> temporarily deferred for <address> at <time> "
            "(attempt #, queue <id>) via <ip>"
        )

    def test_host_serials_are_masked_but_not_whose_host(self) -> None:
        one = normalize(YAHOO_NO_USER.format(address="a@yahoo.com", n=1))
        two = normalize(YAHOO_NO_USER.format(address="b.c@yahoo.com", n=7))
        assert one == two
        assert one.endswith("- #.mail.#.yahoo.com")

    def test_bounce_and_complaint_reasons(self) -> None:
        hard = {"bounce_type": "Permanent", "bounce_subtype": "General", "diagnostic_code": "smtp; 550 5.1.1 <x@y.z>"}
        assert bounce_reason(hard) == "Permanent/General: 550 5.1.1 <address>"
        assert bounce_reason({"bounce_type": "Transient", "bounce_subtype": "MailboxFull", "status": "4.2.2"}) == (
            "Transient/MailboxFull: 4.2.2 (no diagnostic code)"
        )
        assert bounce_reason({}) == "Undetermined/? (no diagnostic code)"
        assert complaint_reason({"feedback_type": "abuse"}) == "abuse"
        assert complaint_reason({"complaint_subtype": "OnAccountSuppressionList"}) == (
            "no feedback type (OnAccountSuppressionList)"
        )

    def test_hostile_text_is_bounded_and_printable(self) -> None:
        text = normalize("smtp; 550 " + "\x00\x1b[31m\U000f0001" * 2000)
        assert len(text) <= 300
        assert all(c.isprintable() for c in text)


def test_latency_buckets_agree_with_the_sql(store: Store) -> None:
    """The stores count delivery times into the same buckets as the core does, bound by bound."""
    values = [0, 99, 100, 546, 999, 1000, 12_345, 3_599_999, 3_600_000, 31_622_400_000]
    records = []
    for n, value in enumerate(values):
        records += _delivered(f"lat{n}", f"u{n}@lat{n}.example", POSTFIX_OK, value)
    ingest(store, records)
    body = _stats(store, "recipient_domain")
    assert body["totals"]["sent"] == len(values)
    run = store._read  # type: ignore[attr-defined]
    columns = ", ".join(f"latency_{i}" for i in range(len(LATENCY_BOUNDS) + 1))
    for n, value in enumerate(values):
        (row,) = run(f"SELECT {columns} FROM domain_days WHERE domain = ?", (f"lat{n}.example",))
        expected = [0] * (len(LATENCY_BOUNDS) + 1)
        if value <= 366 * 86_400_000:  # beyond a year is no time SES took: not counted
            expected[latency_bucket(value)] = 1
        assert [int(v) for v in row] == expected, value
    assert [latency_bucket(v) for v in (99, 100, 546, 3_600_000)] == [0, 1, 4, len(LATENCY_BOUNDS)]


def test_percentile_is_interpolated_within_its_bucket() -> None:
    histogram = [0] * (len(LATENCY_BOUNDS) + 1)
    histogram[3], histogram[4] = 2, 2  # two in [300, 500), two in [500, 750)
    assert percentile(histogram, 0.5) == 500
    assert percentile(histogram, 0.25) == 400
    assert percentile(histogram, 0.95) == 725  # 500 + 250 * 1.8 / 2
    histogram[-1] = 100  # beyond the last bound: its lower bound
    assert percentile(histogram, 0.95) == LATENCY_BOUNDS[-1]
    assert percentile([0] * len(histogram), 0.5) is None


def _delivered(mid: str, to: str, smtp: str, millis: int, ip: str | None = None) -> list[dict[str, Any]]:
    delivery = event("Delivery", mid, [to], LATER, sent_at=SENT, smtpResponse=smtp, processingTimeMillis=millis)
    if ip:
        delivery["delivery"]["remoteMtaIp"] = ip
    return [event("Send", mid, [to], SENT), delivery]


def _bounced(mid: str, to: str, diagnostic: str) -> list[dict[str, Any]]:
    bounce = bounce_event(mid, [to], LATER, "Permanent", "General", "5.1.1", diagnostic, sent_at=SENT)
    return [event("Send", mid, [to], SENT), bounce]


def dataset() -> list[dict[str, Any]]:
    """Recipients at consumer domains and at company domains hosted by each provider."""
    records: list[dict[str, Any]] = []
    for n in range(4):  # Google: two gmail.com, two at a company on Google Workspace
        to = f"g{n}@gmail.com" if n < 2 else f"g{n}@acme.example"
        records += _delivered(f"g{n}", to, GOOGLE_OK, 500 + 100 * n)
    for n in range(3):  # Google rejects three unknown users, each answer with its own ids
        to = f"nobody{n}@gmail.com" if n else "nobody@acme.example"
        records += _bounced(f"gb{n}", to, GOOGLE_NO_USER.format(id=f"a{n}b2c3d4e5f6g7h8", n=100 + n))
    for n in range(3):  # Microsoft: hotmail.com and a company on Microsoft 365
        to = "m0@hotmail.com" if n == 0 else f"m{n}@contoso.example"
        records += _delivered(f"m{n}", to, MICROSOFT_OK.format(n=n), 2_000 + 1_000 * n)
    records += _bounced("mb", "gone@contoso.example", MICROSOFT_REJECTED.format(n=4))
    records += _delivered("y0", "y0@yahoo.com", YAHOO_OK, 9_000)
    records += _bounced("yb", "no@yahoo.com", YAHOO_NO_USER.format(address="no@yahoo.com", n=3))
    records += _delivered("a0", "a0@icloud.com", POSTFIX_OK, 700)
    records += _delivered("a1", "a1@fruit.example", POSTFIX_OK, 800, ip="17.57.154.6")  # iCloud+ custom domain
    records += _delivered("o0", "o0@small.example", POSTFIX_OK, 300)
    records += [event("Send", "o1", ["o1@small.example"], SENT)]  # sent, nothing else yet
    records += [
        *_delivered("c0", "c0@gmail.com", GOOGLE_OK, 450),
        event("Complaint", "c0", ["c0@gmail.com"], LATER, sent_at=SENT),
    ]
    return records


@pytest.fixture
def db(store_url: str) -> str:
    store = open_store(store_url)
    ingest(store, dataset())
    store.close()
    return store_url


def _stats(store: Store, group_by: str) -> dict[str, Any]:
    query = StatsQuery.parse(*WINDOW, group_by, datetime.now(UTC))
    body: dict[str, Any] = store.stats(query).to_json()
    return body


def test_figures_by_provider(db: str) -> None:
    store = open_store(db)
    try:
        body = _stats(store, "provider")
    finally:
        store.close()
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["google", "microsoft", "apple", "small.example", "yahoo"]  # busiest, then by name
    google = groups["google"]
    assert (google["sent"], google["delivered"], google["hard_bounces"], google["complaints"]) == (8, 4, 3, 1)
    assert google["bounce_rate"] == round(3 / 8, 6)
    assert google["bounce_level"] == "pause_risk"
    # 450, 500, 600, 700, 800 ms (the complained recipient was delivered too): one in [300, 500), three
    # in [500, 750), one in [750, 1000); estimated within the buckets
    assert (google["delivery_p50_ms"], google["delivery_p95_ms"]) == (625, 938)
    assert (groups["microsoft"]["sent"], groups["microsoft"]["hard_bounces"]) == (4, 1)
    # 2, 3 and 4 s: one in [2 s, 3 s), two in [3 s, 5 s)
    assert (groups["microsoft"]["delivery_p50_ms"], groups["microsoft"]["delivery_p95_ms"]) == (3_500, 4_850)
    assert (groups["yahoo"]["sent"], groups["yahoo"]["delivery_p50_ms"]) == (2, 7_500)  # 9 s, in [5 s, 10 s)
    assert (groups["apple"]["sent"], groups["apple"]["delivered"]) == (2, 2)
    assert (groups["small.example"]["sent"], groups["small.example"]["delivery_p95_ms"]) == (2, 490)
    assert groups["small.example"]["delivery_p50_ms"] == 400
    assert body["totals"]["sent"] == 18
    assert body["totals"]["sent"] == sum(g["sent"] for g in body["groups"])
    assert 500 <= body["totals"]["delivery_p50_ms"] < 1_000


def test_figures_by_recipient_domain(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", db, "--json", "--since", WINDOW[0], "--until", WINDOW[1],
                 "--group-by", "recipient_domain"]) == 0  # fmt: skip
    groups = {g["key"]: g for g in json.loads(capsys.readouterr().out)["groups"]}
    assert groups["gmail.com"]["sent"] == 5
    assert (groups["acme.example"]["sent"], groups["acme.example"]["provider"]) == (3, "google")
    assert (groups["contoso.example"]["provider"], groups["small.example"]["provider"]) == ("microsoft", None)
    assert groups["fruit.example"]["provider"] == "apple"
    assert main(["stats", "--db", db, "--since", WINDOW[0], "--until", WINDOW[1], "--group-by", "provider"]) == 0
    text = capsys.readouterr().out
    block = next(b for b in text.split("\n\n") if b.startswith("microsoft"))
    assert block.splitlines()[-1] == "  delivery time   p50 3,500 ms, p95 4,850 ms"


def test_diagnostics_group_reasons_per_provider(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnostics", "--db", db, "--json", "--since", WINDOW[0], "--until", WINDOW[1]]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["totals"] == {"bounce": 5, "soft_bounce": 0, "complaint": 1}
    first = body["reasons"][0]
    assert (first["kind"], first["provider"], first["count"]) == ("bounce", "google", 3)
    assert first["reason"].startswith("Permanent/General: 550 5.1.1 The email account that you tried to reach")
    assert set(first["examples"]) <= {"gb0", "gb1", "gb2"}
    assert len(first["examples"]) >= 2
    rest = {(r["kind"], r["provider"]): r for r in body["reasons"][1:]}
    assert set(rest) == {("bounce", "microsoft"), ("bounce", "yahoo"), ("complaint", "google")}
    assert rest[("complaint", "google")]["reason"] == "abuse"
    assert rest[("complaint", "google")]["examples"] == ["c0"]
    assert "<address>" in rest[("bounce", "yahoo")]["reason"]
    assert main(["diagnostics", "--db", db, "--json", "--since", WINDOW[0], "--until", WINDOW[1],
                 "--provider", "Microsoft"]) == 0  # fmt: skip
    only = json.loads(capsys.readouterr().out)
    assert [(r["provider"], r["count"]) for r in only["reasons"]] == [("microsoft", 1)]
    assert only["totals"] == {"bounce": 1, "soft_bounce": 0, "complaint": 0}
    assert main(["diagnostics", "--db", db, "--since", WINDOW[0], "--until", WINDOW[1],
                 "--provider", "Microsoft"]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[0].endswith(": 1 hard bounce, 0 soft bounces, 0 complaints")
    assert main(["diagnostics", "--db", db, "--since", WINDOW[0], "--until", WINDOW[1], "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # the window, the heading, one reason
    assert lines[2].split()[:3] == ["3", "bounce", "google"]


def test_diagnostics_usage_errors(db: str) -> None:
    assert main(["diagnostics", "--db", db, "--limit", "0"]) == 2
    assert main(["diagnostics", "--db", db, "--since", "yesterday"]) == 2
    with pytest.raises(Exception, match="limit must be a whole number"):
        DiagnosticsQuery.parse(None, None, None, "ten", datetime.now(UTC))


@pytest.mark.parametrize(
    ("since", "until", "counted"),
    [
        (WINDOW[0], "9999-12-31T00:00:00Z", True),
        (WINDOW[0], "9999-12-31T23:59:59.999Z", True),
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z", False),
        ("9999-12-31T05:00:00Z", "9999-12-31T23:59:59Z", False),
    ],
)
def test_a_window_may_end_on_the_calendars_last_day(db: str, since: str, until: str, counted: bool) -> None:
    """9999-12-31 has no day after it: a window that reaches it counts what it holds, without an error."""
    store = open_store(db)
    try:
        now = datetime.now(UTC)
        reasons = store.diagnostics(DiagnosticsQuery.parse(since, until, None, None, now)).to_json()["totals"]
        figures = store.stats(StatsQuery.parse(since, until, "provider", now)).to_json()["totals"]
    finally:
        store.close()
    assert reasons == ({"bounce": 5, "soft_bounce": 0, "complaint": 1} if counted else dict.fromkeys(reasons, 0))
    assert figures["sent"] == (18 if counted else 0)
    assert main(["diagnostics", "--db", db, "--json", "--until", until]) == 0


def test_a_late_event_moves_a_recipient_between_groups(store: Store) -> None:
    """Counts follow the fate: a Delivery that names the provider, then a bounce, regroup the recipient."""
    ingest(store, [event("Send", "late", ["x@corp.example"], SENT)])
    assert [g["key"] for g in _stats(store, "provider")["groups"]] == ["corp.example"]
    ingest(store, _delivered("late", "x@corp.example", MICROSOFT_OK.format(n=1), 1_234)[1:])
    (group,) = _stats(store, "provider")["groups"]
    assert (group["key"], group["delivered"], group["delivery_p50_ms"]) == ("microsoft", 1, 1_250)
    ingest(store, _bounced("late", "x@corp.example", MICROSOFT_REJECTED.format(n=1))[1:])
    (group,) = _stats(store, "provider")["groups"]
    assert (group["hard_bounces"], group["delivered"]) == (1, 0)
    query = DiagnosticsQuery.parse(*WINDOW, None, None, datetime.now(UTC))
    (reason,) = store.diagnostics(query).reasons
    assert (reason.provider, reason.count, reason.examples) == ("microsoft", 1, ("late",))


def test_the_migration_fills_what_was_stored_before(db: str) -> None:
    """A database from before providers and reasons were kept gets them from its stored events."""
    store = open_store(db)
    query = DiagnosticsQuery.parse(*WINDOW, None, None, datetime.now(UTC))
    try:
        expected = (_stats(store, "provider"), _stats(store, "recipient_domain"), store.diagnostics(query).to_json())
        with store._transaction() as tx:  # type: ignore[attr-defined]  # back to the schema before 0009
            tx.execute("DROP INDEX recipients_bounce_reasons")
            tx.execute("DROP INDEX recipients_complaint_reasons")
            for column in ("provider", "delivery_ms", "bounce_reason", "complaint_reason"):
                tx.execute(f"ALTER TABLE recipients DROP COLUMN {column}")
            tx.execute("DROP TABLE domain_days")
            tx.execute("DELETE FROM schema_migrations WHERE version = '0009_a_domain_days'")
    finally:
        store.close()
    upgraded = open_store(db)
    try:
        diagnostics = upgraded.diagnostics(query).to_json()
        assert (_stats(upgraded, "provider"), _stats(upgraded, "recipient_domain"), diagnostics) == expected
    finally:
        upgraded.close()


def test_mx_lookup_names_the_provider_of_a_domain_no_event_did(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With MAILFATE_MX_LOOKUP=on, a company domain whose MX hosts are Google's counts as Google."""
    from .dns_server import DnsServer

    dns = DnsServer({"small.example": ["aspmx.l.google.com", "alt1.aspmx.l.google.com"]}).start()
    try:
        monkeypatch.setenv("MAILFATE_MX_LOOKUP", "on")
        monkeypatch.setenv("MAILFATE_MX_NAMESERVER", f"127.0.0.1:{dns.port}")
        args = ["stats", "--db", db, "--json", "--since", WINDOW[0], "--until", WINDOW[1], "--group-by", "provider"]
        assert main(args) == 0
        groups = {g["key"]: g["sent"] for g in json.loads(capsys.readouterr().out)["groups"]}
        assert groups["google"] == 10  # 8, and small.example's 2
        assert "small.example" not in groups
        assert main(args) == 0  # from the cache: not asked again
        capsys.readouterr()
        assert dns.asked.count("small.example") == 1
        assert "acme.example" not in dns.asked  # its events named Google: nothing to look up
    finally:
        dns.stop()
    monkeypatch.setenv("MAILFATE_MX_LOOKUP", "off")
    assert main(args) == 0
    assert "small.example" in {g["key"] for g in json.loads(capsys.readouterr().out)["groups"]}


def test_mx_settings_are_checked() -> None:
    from mailfate.errors import UsageError
    from mailfate.settings import Settings

    assert Settings.from_env({}).mx_lookup() is None
    ipv6 = Settings.from_env({"MAILFATE_MX_LOOKUP": "on", "MAILFATE_MX_NAMESERVER": "[::1]:5353"})
    assert ipv6.mx == (("::1", 5353),)
    assert Settings.from_env({"MAILFATE_MX_LOOKUP": "on"}).mx == (None,)
    for bad in ({"MAILFATE_MX_LOOKUP": "yes"}, {"MAILFATE_MX_NAMESERVER": "dns.example"},
                {"MAILFATE_MX_NAMESERVER": "127.0.0.1:99999"}):  # fmt: skip
        with pytest.raises(UsageError, match="MAILFATE_MX"):
            Settings.from_env(bad)


@pytest.mark.server
def test_http_diagnostics_and_provider_figures(servers: Any, tmp_path: Any) -> None:
    """The API answers what the command line prints, in the documented shape, behind the token."""
    from mailfate.web.openapi_schemas import SCHEMAS

    from .support import request

    db = stored(f"sqlite:///{tmp_path / 'server.db'}", dataset())
    server = servers({"MAILFATE_API_TOKEN": "insights-token-1"}, db=db)
    auth = {"Authorization": "Bearer insights-token-1"}
    window = f"since={WINDOW[0]}&until={WINDOW[1]}"
    assert request(server.port, "GET", f"/api/diagnostics?{window}").status == 401
    answer = request(server.port, "GET", f"/api/diagnostics?{window}&limit=2", headers=auth)
    assert answer.status == 200
    body = answer.json()
    assert set(SCHEMAS["Diagnostics"]["required"]) <= set(body)
    assert [(r["provider"], r["count"]) for r in body["reasons"]] == [("google", 3), ("microsoft", 1)]
    assert request(server.port, "GET", "/api/diagnostics?limit=nope", headers=auth).status == 400
    assert request(server.port, "GET", "/api/diagnostics?colour=red", headers=auth).status == 400
    for end in ("until=9999-12-31T00:00:00Z", "since=9999-12-30T00:00:00Z&until=9999-12-31T23:59:59Z"):
        assert request(server.port, "GET", f"/api/diagnostics?{end}", headers=auth).status == 200
        assert request(server.port, "GET", f"/api/stats?{end}&group_by=provider", headers=auth).status == 200
    stats = request(server.port, "GET", f"/api/stats?{window}&group_by=provider", headers=auth).json()
    assert [g["key"] for g in stats["groups"]][:2] == ["google", "microsoft"]
    assert set(SCHEMAS["Figures"]["required"]) <= set(stats["groups"][0])
    assert stats["groups"][1]["delivery_p95_ms"] == 4_850


# -- the per-day rows stay exact, whatever the order and batching of writes ---------------------------

_PEOPLE = ["a@gmail.com", "b@corp.example", "c@corp.example", "d@other.example"]
_SENT_TIMES = ["2026-03-01T23:59:59.000Z", "2026-03-02T00:00:00.000Z", "2026-03-02T10:00:00.000Z"]
_ANSWERS = [GOOGLE_OK, MICROSOFT_OK.format(n=1), YAHOO_OK, POSTFIX_OK]


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    message = draw(st.sampled_from(["m1", "m2", "m3"]))
    sent = {"m1": _SENT_TIMES[0], "m2": _SENT_TIMES[1], "m3": draw(st.sampled_from(_SENT_TIMES))}[message]
    people = draw(st.lists(st.sampled_from(_PEOPLE), min_size=1, max_size=2, unique=True))
    when = "2026-03-02T12:00:00.000Z"
    kind = draw(st.sampled_from(["Send", "Delivery", "Bounce", "Soft", "Complaint", "Open"]))
    if kind == "Delivery":
        millis = draw(st.sampled_from([50, 450, 2_500, 90_000]))
        answer = draw(st.sampled_from(_ANSWERS))
        return event("Delivery", message, people, when, destination=_PEOPLE, sent_at=sent, smtpResponse=answer,
                     processingTimeMillis=millis)  # fmt: skip
    if kind in ("Bounce", "Soft"):
        diagnostic = draw(st.sampled_from([GOOGLE_NO_USER.format(id="x1y2z3w4v5", n=1), APPLE_POLICY, None]))
        bounce_type, sub = ("Permanent", "General") if kind == "Bounce" else ("Transient", "MailboxFull")
        return bounce_event(message, people, when, bounce_type, sub, None, diagnostic, destination=_PEOPLE,
                            sent_at=sent)  # fmt: skip
    if kind == "Complaint":
        return event("Complaint", message, people, when, destination=_PEOPLE, sent_at=sent)
    return event(kind, message, people, sent if kind == "Send" else when, destination=people, sent_at=sent)


def _domain_days(store: Store) -> dict[tuple[str, ...], list[int]]:
    from mailfate.store.insights import KEYS, VALUES

    rows = store._read(f"SELECT {', '.join(KEYS + VALUES)} FROM domain_days")  # type: ignore[attr-defined]
    return {tuple(r[: len(KEYS)]): [int(v) for v in r[len(KEYS) :]] for r in rows if any(r[len(KEYS) :])}


@pytest.mark.postgres
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_records(), min_size=1, max_size=12), data=st.data())
def test_domain_days_equal_a_recount_whatever_the_order(records: list[dict[str, Any]], data: st.DataObject) -> None:
    """Writes in any order and any batches leave per-day rows equal to counting every recipient again,
    on both databases; the figures read from them do not depend on the order either."""
    from mailfate.store.insights import rebuild

    reordered = data.draw(st.permutations(records))
    cut = data.draw(st.integers(0, len(reordered)))
    found = []
    with tempfile.TemporaryDirectory() as folder, postgres_schema() as pg:
        for url in (f"sqlite:///{folder}/x.db", pg):
            store = open_store(url)
            try:
                if url.startswith("sqlite"):
                    for record in reordered:  # one at a time, as an HTTP ingest writes them
                        ingest(store, [record])
                else:  # two transactions, as a bulk ingest writes them
                    for batch in (reordered[:cut], reordered[cut:]):
                        if batch:
                            ingest(store, batch)
                kept = _domain_days(store)
                with store._transaction() as tx:  # type: ignore[attr-defined]
                    rebuild(tx, store.dialect)  # type: ignore[attr-defined]
                assert kept == _domain_days(store)
                found.append(kept)
            finally:
                store.close()
    assert found[0] == found[1]
