"""Deterministic SES event files for the benchmarks (cached under bench/.data)."""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mailfate.testing import bounce_event, event

DATA = Path(__file__).parent / ".data"
BASE = "2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def _stamp(rng: random.Random, day: int) -> str:
    return BASE.format(
        day=day, hour=rng.randrange(24), minute=rng.randrange(60), second=rng.randrange(60), ms=rng.randrange(1000)
    )


def message_records(index: int, rng: random.Random, recipients_per_message: int = 1) -> Iterator[dict[str, Any]]:
    """The records SES would publish for one message: Send, then what happened to each recipient."""
    mid = f"0100018{index:09x}-{rng.getrandbits(32):08x}-bench-000000"
    day = 1 + index % 27
    to = [f"user{rng.randrange(2_000_000)}@example{rng.randrange(50)}.com" for _ in range(recipients_per_message)]
    sent = _stamp(rng, day)
    yield event("Send", mid, to, sent, sent_at=sent)
    roll = rng.random()
    if roll < 0.03:
        yield bounce_event(mid, to, _stamp(rng, day), "Permanent", "General", "5.1.1", destination=to, sent_at=sent)
        return
    yield event("Delivery", mid, to, _stamp(rng, day), sent_at=sent)
    if roll < 0.05:
        yield bounce_event(mid, to, _stamp(rng, day), "Transient", "General", destination=to, sent_at=sent)
    elif roll < 0.052:
        yield event("Complaint", mid, to, _stamp(rng, day), destination=to, sent_at=sent)
    elif roll < 0.40:
        yield event("Open", mid, to, _stamp(rng, day), sent_at=sent)
        if roll < 0.15:
            yield event("Click", mid, to, _stamp(rng, day), sent_at=sent)


# Recipients as a real list spreads them: most at the big consumer providers, the rest over many company
# domains, some hosted by the same providers (their servers' answers say so).
_CONSUMER = [("gmail.com", 35), ("outlook.com", 8), ("hotmail.com", 8), ("yahoo.com", 9), ("aol.com", 2),
             ("icloud.com", 6), ("me.com", 1)]  # fmt: skip
_ANSWERS = {
    "google": ("250 2.0.0 OK  1763629200 {id}.{n} - gsmtp",
               "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 "
               "double-checking the recipient's email address for typos or\n550 5.1.1 unnecessary spaces. "
               "https://support.google.com/mail/?p=NoSuchUser {id}.{n} - gsmtp"),
    "microsoft": ("250 2.6.0 <{id}@email.amazonses.com> [InternalId={n}, "
                  "Hostname=DM6PR11MB{n}.namprd11.prod.outlook.com] Queued mail for delivery",
                  "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
                  "[DM6NAM11FT{n}.eop-nam11.prod.protection.outlook.com {id}]"),
    "yahoo": ("250 ok dirdel", "smtp; 554 delivery error: dd This user doesn't have a yahoo.com account ({to}) [0] - "
                               "mta{n}.mail.bf1.yahoo.com"),
    "apple": ("250 2.0.0 Ok: queued as {id}", "smtp; 550 5.1.1 <{to}>: user does not exist"),
    "": ("250 2.0.0 Ok: queued as {id}", "smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown in "
                                         "virtual mailbox table"),
}  # fmt: skip
_HOSTED = {"gmail.com": "google", "outlook.com": "microsoft", "hotmail.com": "microsoft", "yahoo.com": "yahoo",
           "aol.com": "yahoo", "icloud.com": "apple", "me.com": "apple"}  # fmt: skip


def _recipient(rng: random.Random) -> tuple[str, str]:
    """An address and the provider whose servers answer for it ("" for a self-hosted domain)."""
    roll = rng.randrange(100)
    for domain, share in _CONSUMER:
        if roll < share:
            return f"user{rng.randrange(2_000_000)}@{domain}", _HOSTED[domain]
        roll -= share
    company = rng.randrange(2000)
    hosted = ("google", "microsoft", "", "")[company % 4]  # half of the companies use Google or Microsoft
    return f"staff{rng.randrange(5000)}@company{company}.example", hosted


def insight_records(index: int, rng: random.Random, recipients_per_message: int = 5) -> Iterator[dict[str, Any]]:
    """A message to recipients spread over providers and domains, each with a delivery time and, when it
    bounces, its provider's own answer (with the ids and addresses that differ per recipient)."""
    mid = f"0100019{index:09x}-{rng.getrandbits(32):08x}-bench-000000"
    day = 1 + index % 27
    sent = _stamp(rng, day)
    people = [_recipient(rng) for _ in range(recipients_per_message)]
    to = [address for address, _ in people]
    yield event("Send", mid, to, sent, sent_at=sent)
    for address, hosted in people:
        roll = rng.random()
        ok, failed = _ANSWERS[hosted]
        values = {"id": f"{rng.getrandbits(48):012x}", "n": rng.randrange(10_000), "to": address}
        if roll < 0.04:
            yield bounce_event(mid, [address], _stamp(rng, day), "Permanent", "General", "5.1.1",
                               failed.format(**values), destination=to, sent_at=sent)  # fmt: skip
            continue
        millis = int(rng.lognormvariate(6.5, 1.0))  # a median near 700 ms, a long tail
        yield event("Delivery", mid, [address], _stamp(rng, day), destination=to, sent_at=sent,
                    smtpResponse=ok.format(**values), processingTimeMillis=millis)  # fmt: skip
        if roll < 0.041:
            yield event("Complaint", mid, [address], _stamp(rng, day), destination=to, sent_at=sent)


def events_file(events: int, recipients_per_message: int = 1, name: str | None = None) -> Path:
    """A JSON Lines file holding at least ``events`` per-recipient events; built once, then reused."""
    DATA.mkdir(exist_ok=True)
    path = DATA / (name or f"events-{events}-r{recipients_per_message}.jsonl")
    if path.exists():
        return path
    rng = random.Random(20261128)
    written = 0
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        index = 0
        while written < events:
            for record in message_records(index, rng, recipients_per_message):
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
                written += recipients_per_message
            index += 1
    partial.rename(path)
    return path


def build_database(source: Path, path: Path) -> None:
    """Ingest ``source`` through the normal path into the SQLite file ``path`` (kept); drop the source."""
    from mailfate.sources.ingest import ingest_paths
    from mailfate.store import open_store

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{partial}", bulk=True)
    started = time.perf_counter()
    (outcome,) = ingest_paths(store, [str(source)])
    store.close()
    assert outcome.result is not None
    elapsed = time.perf_counter() - started
    rate = outcome.result.events / elapsed
    print(f"built {path.name}: {outcome.result.events:,} events in {elapsed:.0f} s ({rate:,.0f}/s)")
    partial.rename(path)
    source.unlink()  # the database is what is kept; the source file can be made again


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the server of ``server_url`` for one run, dropped after it."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        sys.exit(f"cannot create a scratch database on {server_url}: {exc} (--postgres none skips PostgreSQL)")
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
