"""SQS ingest: what one `consume sqs` consumer costs per message (parse, store, delete bookkeeping).

There is no SQS here, and moto's SQS takes about a quarter of a second per call (it would measure
moto, not mailfate), so the queue is a minimal in-memory stand-in with SQS's receive/delete-batch
semantics. Against real SQS each batch of ten also waits one network round trip for the receive and
one for the delete; several consumers overlap those waits.

    .venv/bin/python bench/sqs_ingest.py [--messages 100000] [--db URL]
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from typing import Any

from mailfate.sources.sqs import SqsConsumer
from mailfate.store import open_store
from mailfate.testing import event, sns_envelope

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"


class MemoryQueue:
    """receive_message / delete_message_batch over a deque; received messages stay until deleted."""

    def __init__(self, bodies: list[str]) -> None:
        self.waiting = collections.deque(
            {"MessageId": str(i), "ReceiptHandle": f"r{i}", "Body": body} for i, body in enumerate(bodies)
        )
        self.in_flight: dict[str, dict[str, Any]] = {}

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, WaitTimeSeconds: int) -> dict[str, Any]:
        messages = [self.waiting.popleft() for _ in range(min(MaxNumberOfMessages, len(self.waiting)))]
        self.in_flight.update((m["ReceiptHandle"], m) for m in messages)
        return {"Messages": messages}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        for entry in Entries:
            del self.in_flight[entry["ReceiptHandle"]]
        return {"Successful": Entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    bodies = []
    for i in range(args.messages):
        ses = event("Delivery", f"sqs-bench-{i}", [f"u{i}@example.com"], "2026-11-20T10:00:01.000Z")
        bodies.append(json.dumps(sns_envelope(ses, TOPIC, message_id=f"00000000-0000-4000-8000-{i:012d}")))
    queue = MemoryQueue(bodies)
    with tempfile.TemporaryDirectory(prefix="mailfate-sqs-") as folder:
        store = open_store(args.db or f"sqlite:///{folder}/bench.db")
        consumer = SqsConsumer(store, queue, "memory://bench", wait_seconds=0)
        started = time.perf_counter()
        while queue.waiting:
            consumer.consume_once()
        elapsed = time.perf_counter() - started
        stored = consumer.stats.stored
        store.close()
    print(f"consumed:    {args.messages:,} SNS notifications in batches of 10, one consumer, {elapsed:.1f} s")
    print(f"throughput:  {args.messages / elapsed:,.0f} messages/s (each batch its own transaction)")
    print(f"stored:      {stored:,}; left on the queue: {len(queue.waiting) + len(queue.in_flight)}")


if __name__ == "__main__":
    main()
