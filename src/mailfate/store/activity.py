"""How the message and activity lists find their rows fast, whatever the filters (docs/performance.md).

Both lists page recipients newest first, by (sent_at, message_id, address). Each filter can *probe* a
row that another filter found, and most can also *drive* the query: their index yields the candidate
rows. Some drivers yield them already in list order, so a page costs its own rows: the status index
(status, sent_at, ...), the auto-reply index, an exact term of the search index (term, sent_at, ...),
and, with no such filter, the messages' time index. Others (several statuses, an address, a search
word's prefix) yield rows to be sorted: they drive only when they match fewer than CAP rows, which a
capped count says before the query. A filter that matches more is dense, so the newest-first scan of
an ordered driver meets its matches early. On SQLite the driver is imposed (INDEXED BY, CROSS JOIN);
PostgreSQL's planner decides with its statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mailfate.core.model import Status
from mailfate.core.search import (
    configuration_set_term,
    domain_term,
    like,
    sender_term,
    tag_term,
)
from mailfate.store.listing import Filters
from mailfate.store.sql import Dialect
from mailfate.store.tx import Run

#: A driver that yields rows to sort drives only below this many candidate rows.
CAP = 10_000

_RANK = " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(Status))
_AUTO_REPLY = "r.status = 'delivered' AND r.ambiguous_bounce"  # the partial index's own predicate
_MESSAGE = "m.message_id = r.message_id"


@dataclass(frozen=True, slots=True)
class Driver:
    """Where candidate rows come from: a FROM clause over ``r`` (recipients) and ``m`` (messages), its
    join and filter conditions, and the columns of the key (sent_at, message_id, address) in the order
    of its index. ``index`` is the SQLite index it must read; ``count`` selects its candidates."""

    source: str
    where: str
    args: tuple[Any, ...]
    keys: tuple[str, str, str]
    ordered: bool
    count: str


@dataclass(slots=True)
class Condition:
    probe: str
    args: list[Any]
    driver: Driver | None = None
    estimate: int = 0


def _by_recipients(d: Dialect, index: str, test: str, args: Sequence[Any], ordered: bool) -> Driver:
    hint = f" INDEXED BY {index}" if d.index_hints else ""
    return Driver(
        f"recipients r{hint} CROSS JOIN messages m", f"{_MESSAGE} AND {test}", tuple(args),
        ("r.sent_at", "r.message_id", "r.address"), ordered, f"SELECT 1 FROM recipients r{hint} WHERE {test}",
    )  # fmt: skip


def _by_terms(test: str, args: Sequence[Any], owner: str, ordered: bool) -> Driver:
    """Rows of the search index; ``owner`` joins a term to its recipients (a message's: every one)."""
    address = "t.address" if owner == "t.address = r.address" else "r.address"
    return Driver(
        "search_terms t CROSS JOIN recipients r CROSS JOIN messages m",
        f"r.message_id = t.message_id AND {owner} AND {_MESSAGE} AND {test}", tuple(args),
        ("t.sent_at", "t.message_id", address), ordered,
        f"SELECT 1 FROM search_terms t WHERE {test}" + (" AND t.address = ''" if owner == "t.address = ''" else ""),
    )  # fmt: skip


def _has_term(terms: Sequence[str], owner: str) -> str:
    test = "p.term = ?" if len(terms) == 1 else f"p.term IN ({', '.join('?' * len(terms))})"
    return (
        f"EXISTS (SELECT 1 FROM search_terms p WHERE {test} AND p.sent_at = r.sent_at "
        f"AND p.message_id = r.message_id AND p.address = {owner})"
    )


def conditions(filters: Filters, d: Dialect, message_status: bool = False) -> list[Condition]:
    """Each filter as a probe of a row (``r``, ``m``), and as a driver where it can be one."""
    found: list[Condition] = []
    if filters.status:
        test = f"r.status IN ({', '.join('?' * len(filters.status))})"
        one = len(filters.status) == 1
        driver = _by_recipients(d, "recipients_status_sent", test, filters.status, one)
        found.append(Condition(test, list(filters.status), driver))
        if message_status:  # the message's own status: no recipient of it is worse
            found.append(Condition(
                f"NOT EXISTS (SELECT 1 FROM recipients w WHERE w.message_id = r.message_id "
                f"AND (CASE w.status {_RANK} END) < (CASE r.status {_RANK} END))", []))  # fmt: skip
    if filters.auto_reply is not None:
        driver = _by_recipients(d, "recipients_auto_replies", _AUTO_REPLY, (), True)
        found.append(Condition(f"({_AUTO_REPLY})", [], driver) if filters.auto_reply
                     else Condition(f"NOT ({_AUTO_REPLY})", []))  # fmt: skip
    if filters.recipient:
        driver = _by_recipients(d, "recipients_address", "r.address = ?", [filters.recipient], False)
        found.append(Condition("r.address = ?", [filters.recipient], driver))
    exact = []
    if filters.sender:
        exact.append(sender_term(filters.sender))
    if filters.configuration_set:
        exact.append(configuration_set_term(filters.configuration_set))
    for term in exact:
        found.append(
            Condition(_has_term([term], "''"), [term], _by_terms("t.term = ?", [term], "t.address = ''", True))
        )
    if filters.tag:
        found.append(_tag(filters.tag))
    if filters.domain:
        term = domain_term(filters.domain)
        driver = _by_terms("t.term = ?", [term], "t.address = r.address", True)
        found.append(Condition(_has_term([term], "r.address"), [term], driver))
    for token in filters.q:
        tests = ["lower(m.message_id) LIKE ? ESCAPE '!'"] + ["r.address LIKE ? ESCAPE '!'"] * 3
        args = [f"{like(token.text)}%", f"{like(token.text)}%", f"%@{like(token.text)}%", f"%.{like(token.text)}%"]
        if token.word is not None:
            tests.append("m.subject_words LIKE ? ESCAPE '!'")
            args.append(f"% {like(token.word)}%")
        ranges = " OR ".join(["(t.term >= ? AND t.term < ?)"] * len(token.ranges))
        driver = _by_terms(f"({ranges})", [b for pair in token.ranges for b in pair],
                           "(t.address = '' OR t.address = r.address)", False)  # fmt: skip
        found.append(Condition(f"({' OR '.join(tests)})", args, driver))
    return found


def _tag(pairs: Sequence[tuple[str, str]]) -> Condition:
    """Any of the (name, value) pairs that a ``tag`` filter may mean (listing.parse_tag)."""
    terms = [tag_term(name, value) for name, value in pairs]
    test = "t.term = ?" if len(terms) == 1 else f"t.term IN ({', '.join('?' * len(terms))})"
    return Condition(_has_term(terms, "''"), terms, _by_terms(test, terms, "t.address = ''", len(terms) == 1))


def _time(d: Dialect) -> Driver:
    """With no filter that can drive: messages newest first, each with its recipients."""
    hint = " INDEXED BY messages_sent_at" if d.index_hints else ""
    return Driver(f"messages m{hint} CROSS JOIN recipients r", "r.message_id = m.message_id", (),
                  ("m.sent_at", "m.message_id", "r.address"), True, "")  # fmt: skip


def choose(found: list[Condition], filters: Filters, run: Run) -> Condition | None:
    """The condition whose driver reads the fewest rows (None: the time index drives)."""
    candidates = [c for c in found if c.driver is not None]
    if not candidates:
        return None
    if len(candidates) == 1 and candidates[0].driver is not None and candidates[0].driver.ordered:
        return candidates[0]
    for candidate in candidates:
        assert candidate.driver is not None
        time, args = _bounds(candidate.driver.keys[0], filters)
        ((count,),) = run(f"SELECT count(*) FROM ({candidate.driver.count}{time} LIMIT ?) c",
                          [*candidate.driver.args, *args, CAP])  # fmt: skip
        candidate.estimate = int(count)
    best = min(candidates, key=lambda c: c.estimate)
    if best.estimate < CAP:
        return best
    ordered = [c for c in candidates if c.driver is not None and c.driver.ordered]
    return ordered[0] if ordered else None


def _bounds(column: str, filters: Filters) -> tuple[str, list[Any]]:
    where, args = "", []
    if filters.since:
        where += f" AND {column} >= ?"
        args.append(filters.since)
    if filters.until:
        where += f" AND {column} < ?"
        args.append(filters.until)
    return where, args


def keys_query(
    filters: Filters, d: Dialect, run: Run, limit: int, after: Sequence[str] | None, message_status: bool = False
) -> tuple[str, list[Any]]:
    """The query of one page's keys: (sent_at, message_id, address), newest first, after ``after``."""
    found = conditions(filters, d, message_status)
    chosen = choose(found, filters, run)
    driver = chosen.driver if chosen is not None and chosen.driver is not None else _time(d)
    sent, message, address = driver.keys
    where, args = [driver.where], list(driver.args)
    for condition in found:
        if condition is not chosen:
            where.append(condition.probe)
            args.extend(condition.args)
    time, bounds = _bounds(sent, filters)
    args.extend(bounds)
    if after is not None:
        time += f" AND ({sent}, {message}, {address}) < (?, ?, ?)"
        args.extend(after)
    distinct = "" if driver.ordered else "DISTINCT "
    statement = (
        f"SELECT {distinct}{sent}, {message}, {address} FROM {driver.source} WHERE {' AND '.join(where)}{time} "
        f"ORDER BY {sent} DESC, {message} DESC, {address} DESC LIMIT ?"
    )
    return statement, [*args, limit]
