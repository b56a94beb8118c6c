"""The activity list on one million messages (SQLite): the first page under each filter, and a CSV export.

Target (docs/performance.md): the first page, and the first page under any one filter, in under 300 ms
over HTTP (``GET /api/activity`` from ``mailfate serve``, one client, one request at a time); the CSV
export of 100,000 rows with the server's memory flat.

The data is written straight into the tables the list reads (messages, recipients, search_terms), in
bulk, with the rows and terms mailfate's own code makes; going through ingest would take an hour and
measure ingest. 90 days of mail, newest first; 1 recipient per message, 3 for one in 25. Statuses,
domains, senders, configuration sets, tags and subjects are spread the way real mail is: a few common
values and a long tail of rare ones, so that each filter is tried both dense and sparse.

    .venv/bin/python bench/activity.py [--messages 1000000] [--port 8581] [--db PATH (kept, reused)]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mailfate.core.search import message_terms, recipient_terms, subject_words
from mailfate.store import open_store
from mailfate.store.listing import ActivityQuery

sys.path.insert(0, str(Path(__file__).parent))
from check import serve, stop  # the same server start and stop as the check bench

TARGET_MS = 300
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=90)
COLUMNS = "complaint, hard_bounce, reject, render_failure, soft_bounce, ambiguous_bounce, engaged, delayed"
# status: (share, flags in the order of COLUMNS, bounce JSON, complaint JSON)
HARD = '{"type": "Permanent", "subtype": "General", "status": "5.1.1", "diagnostic_code": "smtp; 550 5.1.1 unknown"}'
SOFT = '{"type": "Transient", "subtype": "MailboxFull", "status": "4.2.2", "diagnostic_code": "smtp; 452 full"}'
AUTO = '{"type": "Transient", "subtype": "General", "status": null, "diagnostic_code": "smtp; 250 away"}'
FATES = [
    (0.9300, (0, 0, 0, 0, 0, 0, 1, 0), None, None),  # delivered
    (0.0350, (0, 0, 0, 0, 0, 0, 0, 0), None, None),  # sent
    (0.0200, (0, 1, 0, 0, 0, 0, 0, 0), HARD, None),  # bounced
    (0.0050, (0, 0, 0, 0, 1, 0, 0, 0), SOFT, None),  # soft_bounced
    (0.0050, (0, 0, 0, 0, 0, 0, 0, 1), None, None),  # delayed
    (0.0040, (0, 0, 0, 0, 0, 1, 1, 0), AUTO, None),  # delivered, an auto-reply
    (0.0005, (1, 0, 0, 0, 0, 0, 1, 0), None, '{"feedback_type": "abuse"}'),  # complained
    (0.0004, (0, 0, 1, 0, 0, 0, 0, 0), None, None),  # rejected
    (0.0001, (0, 0, 0, 1, 0, 0, 0, 0), None, None),  # failed
]
DOMAINS = [("gmail.com", 0.30), ("yahoo.com", 0.15), ("outlook.com", 0.10), ("hotmail.com", 0.05)]
CONFIGURATION_SETS = [("transactional", 0.70), ("marketing", 0.25), ("alerts", 0.049), ("legacy", 0.001)]
SENDERS = [("orders@acme.example", 0.5), ("noreply@acme.example", 0.4), ("billing@acme.example", 0.099),
           ("ceo@acme.example", 0.001)]  # fmt: skip
SUBJECTS = [
    (0.40, "Your order {n} has shipped"),
    (0.20, "Password reset for your account"),
    (0.15, "Invoice {n} for {month}"),
    (0.15, "Welcome to Acme, {name}"),
    (0.0999, "Weekly digest: {topic} and more"),
    (0.0001, "Quarterly tax statement {n}"),
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
TOPICS = ["gardening", "cycling", "cooking", "travel", "books", "music", "films", "running"]
NAMES = ["Ana", "Ben", "Chloe", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas"]


def pick(rng: random.Random, choices: list[tuple[Any, float]]) -> Any:
    roll = rng.random()
    for value, share in choices:
        roll -= share
        if roll < 0:
            return value
    return choices[-1][0]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


Rows = list[tuple[Any, ...]]


def generate(count: int, seed: int = 7) -> Iterator[tuple[tuple[Any, ...], Rows, Rows]]:
    """Per message: its row, its recipients' rows, its search terms' rows."""
    rng = random.Random(seed)
    for i in range(count):
        sent = stamp(NOW - SPAN * (i / count) - timedelta(microseconds=rng.randrange(1000)))
        message_id = f"{0x0100019C00000000 + count - i:016x}-{rng.getrandbits(128):032x}-000000"
        source, configuration_set = pick(rng, SENDERS), pick(rng, CONFIGURATION_SETS)
        template = pick(rng, [(t, share) for share, t in SUBJECTS])
        subject = template.format(n=rng.randrange(10**6), month=rng.choice(MONTHS), name=rng.choice(NAMES),
                                  topic=rng.choice(TOPICS))  # fmt: skip
        tags = {  # what SES adds to every message, and a campaign of the application's own
            "ses:operation": ["SendEmail"], "ses:configuration-set": [configuration_set],
            "ses:source-ip": [f"192.0.2.{rng.randrange(256)}"], "ses:from-domain": [source.split("@")[1]],
            "ses:caller-identity": ["mailer"], "ses:outgoing-ip": [f"54.240.{i % 4}.{rng.randrange(8)}"],
            "campaign": [f"c{min(49, int(rng.expovariate(0.15)))}"],
        }  # fmt: skip
        addresses = [address(rng, i) for _ in range(3 if i % 25 == 0 else 1)]
        message = (message_id, source, json.dumps([source]), subject, sent, json.dumps(addresses), json.dumps(tags),
                   configuration_set, "123456789012", source.split("@")[1], subject_words(subject))  # fmt: skip
        recipients = []
        terms = [(t, sent, message_id, "") for t in message_terms(message_id, subject, source, configuration_set, tags)]
        for to in dict.fromkeys(addresses):
            fate = pick(rng, [(f, f[0]) for f in FATES])
            later = stamp(NOW - SPAN * (i / count) + timedelta(seconds=30))
            recipients.append((message_id, to, to, *fate[1], fate[2], fate[3], sent, later, sent))
            terms.extend((t, sent, message_id, to) for t in recipient_terms(to))
        yield message, recipients, terms


def address(rng: random.Random, i: int) -> str:
    domain = pick(rng, DOMAINS) if rng.random() < 0.6 else f"company{int(rng.paretovariate(1.2)) % 20000}.example"
    if i % 50_000 == 7:
        return f"heidi.{i}@{domain}"
    return f"user{rng.randrange(300_000)}@{domain}"


def build(path: Path, count: int) -> None:
    started = time.perf_counter()
    open_store(f"sqlite:///{path}").close()  # mailfate's own schema, fully migrated
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1500000")  # 1.5 GB: the indexes stay in memory while they grow
    conn.execute("BEGIN")
    messages, recipients, terms = [], [], []

    def flush() -> None:
        conn.executemany("INSERT INTO messages (message_id, source, from_addresses, subject, sent_at, destination, "
                         "tags, configuration_set, sending_account, from_domain, subject_words) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", messages)  # fmt: skip
        conn.executemany(f"INSERT INTO recipients (message_id, address, address_raw, {COLUMNS}, bounce, "
                         "complaint_info, first_event_at, last_event_at, sent_at) "
                         f"VALUES ({', '.join('?' * 16)})", recipients)  # fmt: skip
        conn.executemany("INSERT INTO search_terms (term, sent_at, message_id, address) VALUES (?, ?, ?, ?)",
                         sorted(terms))  # fmt: skip
        messages.clear(), recipients.clear(), terms.clear()

    for n, (message, rows, keys) in enumerate(generate(count), start=1):
        messages.append(message)
        recipients.extend(rows)
        terms.extend(keys)
        if n % 50_000 == 0:
            flush()
            print(f"  {n:,} messages in {time.perf_counter() - started:.0f} s", end="\r", flush=True)
    flush()
    conn.execute("COMMIT")
    conn.close()
    size = path.stat().st_size / 2**30
    print(f"  {count:,} messages written in {time.perf_counter() - started:.0f} s ({size:.1f} GiB)      ")


def known(path: Path) -> dict[str, str]:
    """Values to look for that exist in the data: an id, an address, a rare company domain."""
    conn = sqlite3.connect(path)
    try:
        ((message_id,),) = conn.execute(
            "SELECT message_id FROM messages ORDER BY sent_at DESC LIMIT 1 OFFSET (SELECT count(*) / 8 FROM messages)"
        )
        ((to,),) = conn.execute("SELECT address FROM recipients WHERE message_id = ? LIMIT 1", (message_id,))
        ((rare,),) = conn.execute(  # a domain of the long tail: a few dozen recipients
            "SELECT substr(term, 3) FROM search_terms WHERE term >= 'a:company1' AND term < 'a:company2' "
            "AND term LIKE '%.example' GROUP BY term HAVING count(*) BETWEEN 20 AND 200 LIMIT 1"
        )
    finally:
        conn.close()
    return {"id": message_id, "address": to, "domain": rare}


def cases(found: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    day = stamp(NOW - timedelta(days=1))
    week = stamp(NOW - timedelta(days=7))
    return [
        ("no filter", {}),
        ("status=bounced (2 %)", {"status": "bounced"}),
        ("status=complained (0.05 %)", {"status": "complained"}),
        ("status=failed (0.01 %)", {"status": "failed"}),
        ("status=bounced,complained", {"status": "bounced,complained"}),
        ("status=delivered (93 %)", {"status": "delivered"}),
        ("auto_reply=true (0.4 %)", {"auto_reply": "true"}),
        ("since: last 24 h", {"since": day}),
        ("since 7 days ago, until 1 day ago", {"since": week, "until": day}),
        ("configuration_set=transactional (70 %)", {"configuration_set": "transactional"}),
        ("configuration_set=legacy (0.1 %)", {"configuration_set": "legacy"}),
        ("sender=ceo@acme.example (0.1 %)", {"sender": "ceo@acme.example"}),
        ("tag=campaign:c1 (dense)", {"tag": "campaign:c1"}),
        ("tag=campaign:c49 (sparse)", {"tag": "campaign:c49"}),
        ("tag=ses:outgoing-ip:54.240.2.5 (3 %)", {"tag": "ses:outgoing-ip:54.240.2.5"}),
        ("domain=gmail.com (30 %)", {"domain": "gmail.com"}),
        (f"domain={found['domain']} (rare)", {"domain": found["domain"]}),
        ("recipient=<an address>", {"recipient": found["address"]}),
        ("q=heidi", {"q": "heidi"}),
        ("q=<12 characters of an id>", {"q": found["id"][:12]}),
        ("q=<a whole id>", {"q": found["id"]}),
        ("q=<an address>", {"q": found["address"]}),
        ("q=invoice (15 % of subjects)", {"q": "invoice"}),
        ("q=quarterly (0.01 %)", {"q": "quarterly"}),
        ("q=password reset", {"q": "password reset"}),
        ("q=gm (a short prefix)", {"q": "gm"}),
        ("q=c (one letter)", {"q": "c"}),
        ("status=bounced&domain=gmail.com", {"status": "bounced", "domain": "gmail.com"}),
        ("status=delivered&domain=<that rare domain>", {"status": "delivered", "domain": found["domain"]}),
        ("status=complained&q=invoice", {"status": "complained", "q": "invoice"}),
        ("status=bounced&since 7 days", {"status": "bounced", "since": week}),
        ("configuration_set=marketing&tag=campaign:c3&status=bounced",
         {"configuration_set": "marketing", "tag": "campaign:c3", "status": "bounced"}),
    ]  # fmt: skip


def timings(run: Any, repeat: int) -> tuple[float, float]:
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        found.append((time.perf_counter() - started) * 1000)
    return statistics.median(found), max(found)


def measure(path: Path, port: int, repeat: int) -> None:
    url = f"sqlite:///{path}"
    found = known(path)
    process = serve(url, port, path.with_suffix(".log"))
    worst = 0.0
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def get(target: str) -> tuple[int, bytes]:
            conn.request("GET", target)
            response = conn.getresponse()
            return response.status, response.read()

        store = open_store(url, migrate=False)
        print(f"  {'filter':<62} {'rows':>5} {'in-process':>19} {'over HTTP':>19}")
        for name, params in cases(found):
            query = ActivityQuery.parse(params)
            page = store.activity(query)  # once to warm the pages it reads, as a refreshing dashboard does
            local = timings(lambda q=query: store.activity(q), repeat)
            target = f"/api/activity?{urlencode(params)}"
            status, body = get(target)
            assert status == 200, body[:300]
            assert len(json.loads(body)["activity"]) == len(page.rows)
            remote = timings(lambda t=target: get(t), repeat)
            worst = max(worst, remote[0])
            print(f"  {name:<62} {len(page.rows):>5} {local[0]:7.1f} ms (max {local[1]:5.0f}) "
                  f"{remote[0]:7.1f} ms (max {remote[1]:5.0f})")  # fmt: skip
        store.close()
        verdict = "meets" if worst < TARGET_MS else "MISSES"
        print(f"  slowest median over HTTP: {worst:.0f} ms ({verdict} < {TARGET_MS} ms)")
        export(get, process.pid)
        conn.close()
    finally:
        stop(process)


def export(get: Any, pid: int) -> None:
    """100,000 rows as CSV: the time, and the server's peak memory before and after."""
    since = stamp(NOW - SPAN * 0.1)  # the newest tenth: about 108,000 recipients
    before = peak(pid)
    started = time.perf_counter()
    status, body = get(f"/api/activity.csv?{urlencode({'since': since})}")
    elapsed = time.perf_counter() - started
    assert status == 200
    lines = body.count(b"\n") - 1
    print(f"  CSV export: {lines:,} rows, {len(body) / 2**20:.0f} MiB in {elapsed:.1f} s; server peak RSS "
          f"{before:.0f} MiB before, {peak(pid):.0f} MiB after")  # fmt: skip


def peak(pid: int) -> float:
    """The peak resident memory (VmHWM) of the server and its worker, in MiB."""
    total = 0.0
    for candidate in [pid, *children(pid)]:
        for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total = max(total, int(line.split()[1]) / 1024)
    return total


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split()[3]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--port", type=int, default=8581)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="build the data here once, and reuse it on later runs")
    args = parser.parse_args()
    print(f"activity list, SQLite, {args.messages:,} messages:")
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "activity.db"
        if not path.exists():
            build(path, args.messages)
        measure(path, args.port, args.repeat)


if __name__ == "__main__":
    main()
