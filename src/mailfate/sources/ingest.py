"""Bytes in, stored records out: the one path that every source (files, HTTP, SQS) goes through."""

from __future__ import annotations

import collections
import functools
import gc
import io
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mailfate.core.model import Record, Rejected
from mailfate.core.timestamps import now, parse_timestamp
from mailfate.core.views import IngestResult
from mailfate.errors import (
    CertificateUnavailable,
    PayloadError,
    RecordConflict,
    RecordRace,
    UnstorableData,
    VerificationError,
)
from mailfate.sns.certs import CertificateCache
from mailfate.sns.envelope import sns_message
from mailfate.sns.verify import Verifier
from mailfate.sources.parse import parse_record
from mailfate.sources.records import Decoded, Piece, decode_piece, split_chunks
from mailfate.store.base import Store
from mailfate.store.sql import PreparedBatch, prepare

#: Records per chunk (and so per transaction) when ingesting files: large enough to amortise the commit,
#: small enough that memory stays flat and a failure loses little work.
CHUNK_LINES = 10_000

#: An optional check of each record before it is stored (SNS signature verification for --verify).
RecordCheck = Callable[[Record], None]
#: How the reason of a record quarantined for a passing failure begins: ingest it again later.
REPLAYABLE = "replayable: "


def understand(
    decoded: Decoded | Rejected, transport: str = "file", check: RecordCheck | None = None
) -> Record | Rejected:
    """Parse one decoded value into a Record, or say why it goes to quarantine."""
    if isinstance(decoded, Rejected):
        return decoded
    try:
        record = parse_record(decoded.value, decoded.text, transport)
        if check is not None:
            check(record)
    except PayloadError as exc:
        return Rejected(str(exc), decoded.text, transport, decoded.location)
    except VerificationError as exc:  # never stored as fact, but kept for a person to look at
        return Rejected(f"{type(exc).__name__}: {exc}", decoded.text, transport, decoded.location)
    except CertificateUnavailable as exc:  # not the record's fault: kept to be replayed later
        reason = f"{REPLAYABLE}signing certificate unavailable: {exc}"
        return Rejected(reason, decoded.text, transport, decoded.location)
    except Exception as exc:  # a bug must not stop a file: keep the record, say what happened
        reason = f"{REPLAYABLE}cannot be understood: {type(exc).__name__}: {exc}"[:500]
        return Rejected(reason, decoded.text, transport, decoded.location)
    return record


@dataclass(frozen=True)
class VerifyEnvelopes:
    """``ingest --verify``: every SNS envelope must carry a valid signature for an allowed topic.

    Archived notifications outlive their signing certificates, so each one is checked at its own signed
    Timestamp rather than today. Picklable, so that worker processes can run it; each builds its own
    certificate cache.
    """

    certs_dir: Path | None = None
    topics: frozenset[str] | None = None

    def __call__(self, record: Record) -> None:
        if record.sns is None:
            return  # a bare SES or EventBridge event: there is no SNS signature to check
        message = sns_message(record.sns)
        _verifier(self).verify(message, at=parse_timestamp(message.timestamp))


@functools.lru_cache(maxsize=4)
def _verifier(check: VerifyEnvelopes) -> Verifier:
    return Verifier(CertificateCache(certs_dir=check.certs_dir), check.topics)


def ingest_bytes(store: Store, data: bytes, transport: str = "file", check: RecordCheck | None = None) -> IngestResult:
    """Ingest everything in ``data`` (any format that :func:`mailfate.sources.records.read_records` reads)."""
    return ingest_stream(store, io.BytesIO(data), name="<bytes>", transport=transport, check=check, workers=1)


def ingest_stream(
    store: Store,
    stream: IO[bytes],
    name: str = "-",
    transport: str = "file",
    check: RecordCheck | None = None,
    on_batch: Callable[[IngestResult], None] | None = None,
    workers: int | None = None,
) -> IngestResult:
    """Read, parse and store a stream; each chunk of about CHUNK_LINES records is one transaction.

    Parsing is pure Python and the bottleneck, so with ``workers`` > 1 (default: one per core) chunks
    are parsed in worker processes while this process writes them, in order. ``check`` must then be
    picklable (a module-level function or object). A chunk that holds a record the store will not take
    as it is (its key taken by other content, a value the database refuses) is parsed again here and
    stored item by item through ``Store.ingest``, which quarantines that record alone.
    """
    total = IngestResult()
    chunks = split_chunks(stream, name, CHUNK_LINES)
    workers = os.cpu_count() or 1 if workers is None else workers
    for chunk, prepared in _prepared(chunks, name, transport, check, workers):
        try:
            result = store.write(prepared)
        except (RecordConflict, RecordRace, UnstorableData):  # sorted out record by record
            result = store.ingest(list(_understood(chunk, name, transport, check)), now())
        result.outcomes.clear()  # per-item outcomes matter to HTTP callers, not to bulk ingest
        total.add(result)
        if on_batch is not None:
            on_batch(total)
    return total


Chunk = list[Piece] | Rejected


def _understood(chunk: Chunk, name: str, transport: str, check: RecordCheck | None) -> Iterator[Record | Rejected]:
    if isinstance(chunk, Rejected):
        yield chunk
        return
    for piece in chunk:
        yield understand(decode_piece(piece, name), transport, check)


def prepare_chunk(chunk: Chunk, name: str, transport: str, check: RecordCheck | None) -> PreparedBatch:
    """Parse one chunk of a stream into rows. Pure and picklable, so it runs in worker processes."""
    return prepare(_understood(chunk, name, transport, check), now())


def _prepared(
    chunks: Iterator[Chunk],
    name: str,
    transport: str,
    check: RecordCheck | None,
    workers: int,
) -> Iterator[tuple[Chunk, PreparedBatch]]:
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None or workers <= 1:  # small input: starting processes would cost more than it saves
        for chunk in itertools.chain([first], [second] if second is not None else [], chunks):
            yield chunk, prepare_chunk(chunk, name, transport, check)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_gc) as pool:
        in_flight: collections.deque[tuple[Chunk, Future[PreparedBatch]]] = collections.deque()
        for chunk in itertools.chain([first, second], chunks):
            in_flight.append((chunk, pool.submit(prepare_chunk, chunk, name, transport, check)))
            if len(in_flight) > workers:  # bounded read-ahead keeps memory flat
                done, future = in_flight.popleft()
                yield done, future.result()
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()


@dataclass
class FileOutcome:
    path: str
    result: IngestResult | None
    error: str | None = None


def _expand(paths: Iterable[str]) -> Iterator[str]:
    for path in paths:
        if path != "-" and Path(path).is_dir():
            yield from sorted(str(p) for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def ingest_paths(
    store: Store,
    paths: Iterable[str],
    stdin: IO[bytes] | None = None,
    check: RecordCheck | None = None,
    progress: Callable[[str, int, int, IngestResult], None] | None = None,
) -> list[FileOutcome]:
    """Ingest each path (``-`` is standard input; a folder, every file under it, in name order, as an S3
    sync leaves them); a file that cannot be opened is reported, not fatal."""
    outcomes = []
    for path in _expand(paths):
        try:
            handle: IO[bytes] = stdin if path == "-" and stdin is not None else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            outcomes.append(FileOutcome(path, None, f"cannot open {path}: {exc.strerror or exc}"))
            continue
        size = Path(path).stat().st_size if path != "-" else 0
        counting = _CountingReader(handle)

        def report(
            total: IngestResult, path: str = path, counting: _CountingReader = counting, size: int = size
        ) -> None:
            if progress is not None:
                progress(path, counting.count, size, total)

        try:
            result = ingest_stream(store, counting, name=path, check=check, on_batch=report)  # type: ignore[arg-type]
        finally:
            if handle is not stdin:
                handle.close()
        outcomes.append(FileOutcome(path, result))
    return outcomes


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the underlying file, for the progress bar (gzip reads through it too)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


def _quiet_gc() -> None:
    """Parsing workers allocate millions of short-lived, acyclic objects: collect cycles rarely."""
    gc.set_threshold(200_000, 100, 100)


class Throttle:
    """Calls ``fn`` at most every ``interval`` seconds (the progress bar must not slow ingest down)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = 0.0

    def ready(self) -> bool:
        current = time.monotonic()
        if current - self.last >= self.interval:
            self.last = current
            return True
        return False
