"""What mailfate counts for ``GET /metrics`` (docs/operations.md): the counters and the histogram that
the paths bytes arrive by increment. What the database already knows (the quarantine, the webhook
outbox, the feed's head, the rates and levels) is not counted here: it is read at scrape time.

A process counts in memory, unless ``PROMETHEUS_MULTIPROC_DIR`` was set before prometheus-client was
imported: then each process writes its counts to files in that directory and a scrape sums them.
``mailfate serve --workers N`` gives its workers a directory of its own, so a scrape that reaches any
one worker answers for all of them.
"""

from __future__ import annotations

import bisect
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, values
from prometheus_client.multiprocess import MultiProcessCollector

# The *_created series say when a process first counted: one worker's, in a sum over workers, means
# nothing (and the files of several workers do not keep them), so no process shows them.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: The registry mailfate's own metrics live in (not prometheus-client's global one, which would add the
#: process and platform metrics of whichever worker answered: meaningless summed over workers).
REGISTRY = CollectorRegistry(auto_describe=True)

RECEIVED = Counter(
    "mailfate_records_received",
    "Records received, by transport (sns: POST /sns; sqs: consume sqs) and outcome (stored, duplicate, "
    "quarantined, refused)",
    ["transport", "outcome"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "mailfate_refusals",
    "Answers of POST /sns other than 200, by reason: auth, signature, headers, not_json, not_sns, malformed, "
    "unknown_shape, unstorable, too_large, disconnected, certificate_unavailable, confirmation_failed, "
    "storage_unavailable, error",
    ["reason"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "mailfate_duplicates",
    "Records received again (an SNS retry, an SQS redelivery, the same event by two routes): recognised, "
    "not stored twice",
    ["transport"],
    registry=REGISTRY,
)
#: The latency histogram's bucket bounds, in seconds.
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INGEST_SECONDS = Histogram(
    "mailfate_ingest_seconds",
    "Time from a request's arrival to its answer (sns: POST /sns, durably committed), or to store an SQS batch (sqs)",
    ["transport"],
    buckets=LATENCY_BOUNDS,
    registry=REGISTRY,
)
SQS_CONSUMED = Counter(
    "mailfate_sqs_messages_consumed",
    "SQS messages received by consume sqs, by queue name (each is stored, recognised or quarantined, then deleted)",
    ["queue"],
    registry=REGISTRY,
)

#: The outcomes of a record (store outcomes, and a refusal before anything could be stored).
OUTCOMES = ("stored", "duplicate", "quarantined", "refused")


def shared_directory() -> str | None:
    """The directory this process writes its counts to, when it shares them with other processes."""
    if getattr(values.ValueClass, "_multiprocess", False):
        return os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return None


def counters() -> CollectorRegistry:
    """A registry to collect the counters from: every process's when they are shared, else this one's."""
    directory = shared_directory()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return registry


class Tally:
    """One transport's counts, kept in plain numbers on the hot path and added to the metrics in bulk by
    :meth:`flush`. A shared counter's increment takes a lock and writes a file mapping (about 4 µs, three
    of them per request); this is a few dictionary updates. Not thread-safe: one event loop owns it."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.refusals: dict[str, int] = {}
        self.buckets = [0] * (len(LATENCY_BOUNDS) + 1)  # the last: above every bound
        self.seconds = 0.0
        self.dirty = False

    def count(self, outcome: str | None, refusal: str, seconds: float) -> bool:
        """Count one request: its record's outcome (refused when none), its refusal (every answer but a
        200, by reason), its latency. True when it is the first since the last flush: schedule one."""
        self.outcomes[outcome if outcome in self.outcomes else "refused"] += 1
        if refusal:
            self.refusals[refusal] = self.refusals.get(refusal, 0) + 1
        self.buckets[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.seconds += seconds
        first, self.dirty = not self.dirty, True
        return first

    def flush(self) -> None:
        if not self.dirty:
            return
        for outcome, n in self.outcomes.items():
            RECEIVED.labels(self.transport, outcome).inc(n)
        if self.outcomes["duplicate"]:
            DUPLICATES.labels(self.transport).inc(self.outcomes["duplicate"])
        for reason, n in self.refusals.items():
            REFUSED.labels(reason).inc(n)
        # prometheus-client has no bulk observe: add to the child's buckets and sum as observe() would.
        histogram = INGEST_SECONDS.labels(self.transport)
        for bucket, n in zip(histogram._buckets, self.buckets, strict=True):
            if n:
                bucket.inc(n)
        histogram._sum.inc(self.seconds)
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.refusals = {}
        self.buckets = [0] * (len(LATENCY_BOUNDS) + 1)
        self.seconds = 0.0
        self.dirty = False


#: POST /sns's counts (each serve process has one event loop, which owns it).
SNS = Tally("sns")
#: How long a count may wait in a tally before it reaches the metrics.
FLUSH_SECONDS = 0.25
