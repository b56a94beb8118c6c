"""Split a stream of bytes into JSON records, keeping what cannot be read.

Accepts one JSON document, a JSON array of records, JSON Lines, pretty-printed documents one after
another, and objects concatenated with no separator at all (as Firehose writes them to S3); any of these
gzip-compressed. Reads line by line so that memory stays flat however large the file.

A piece that is not valid JSON is yielded as a :class:`~mailfate.core.model.Rejected` and reading goes on
at the next line that starts a new document, so one bad line never costs the records around it.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import orjson

from mailfate.core.model import Rejected

#: A single record larger than this is refused rather than buffered without end.
MAX_RECORD_BYTES = 16 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Decoded:
    """One JSON value read from the stream, with its text (kept verbatim as the raw record)."""

    value: Any
    text: str
    location: str


def open_stream(raw: IO[bytes]) -> IO[bytes]:
    """Wrap ``raw`` in a gzip reader when it starts with the gzip magic bytes."""
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    return cast(IO[bytes], buffered)


def split_chunks(raw: IO[bytes], name: str = "-", lines: int = 5000) -> Iterator[tuple[int, bytes] | Rejected]:
    """Cut a stream into pieces of about ``lines`` lines, each ``(first line number, bytes)``.

    A piece ends only before a line that starts a top-level document (``{`` or ``[`` at column 0), so
    every record lies whole inside one piece and the pieces can be read in parallel.
    """
    stream = open_stream(raw)
    piece: list[bytes] = []
    first = line_no = 1
    try:
        for line_no, line in enumerate(stream, start=1):
            if len(piece) >= lines and line[:1] in (b"{", b"["):
                yield first, b"".join(piece)
                piece, first = [], line_no
            piece.append(line)
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated or corrupt gzip: what was read stays read; the rest is reported.
        if piece:
            yield first, b"".join(piece)
        yield Rejected(f"cannot read past line {line_no}: {exc}", "", location=f"{name}:{line_no}")
        return
    if piece:
        yield first, b"".join(piece)


def read_records(raw: IO[bytes], name: str = "-", first_line: int = 1) -> Iterator[Decoded | Rejected]:
    """Yield every record of ``raw`` in order; never raises for bad content."""
    stream = open_stream(raw)
    pending: list[str] = []
    pending_size = 0
    start = line_no = first_line
    try:
        for line_no, line_bytes in enumerate(stream, start=first_line):
            if not pending and line_bytes[:1] == b"{":
                # The common case, one record per line: decode it whole with the fast decoder.
                value = _whole_line(line_bytes)
                if value is not None:
                    yield Decoded(value, line_bytes.decode("utf-8", errors="replace").strip(), f"{name}:{line_no}")
                    continue
            line = _text(line_bytes, line_no)
            if not pending:
                if not line.strip():
                    continue
                start = line_no
            elif _starts_document(line) and _complete(line):
                # The open document never closed, and a new one begins here: the old one is bad.
                yield _reject(pending, start, name)
                pending, pending_size, start = [], 0, line_no
            pending.append(line)
            pending_size += len(line)
            if not _may_close(line):
                if pending_size > MAX_RECORD_BYTES:
                    yield _reject(pending, start, name, f"record larger than {MAX_RECORD_BYTES} bytes")
                    pending, pending_size = [], 0
                continue
            values, rest = _decode_pending(pending)
            for bad in values.rejected:
                yield _reject(bad, start, name)
            for value, value_text in values.decoded:
                yield Decoded(value, value_text, f"{name}:{start}")
            if not rest:
                pending, pending_size = [], 0
            elif values.decoded:  # complete records, then the beginning of the next one
                pending, pending_size, start = [rest], len(rest), line_no
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated or corrupt gzip: what was read stays read; the rest is reported.
        if pending:
            yield _reject(pending, start, name)
        yield Rejected(f"cannot read past line {line_no}: {exc}", "", location=f"{name}:{line_no + 1}")
        return
    if pending and "".join(pending).strip():
        yield _reject(pending, start, name)


def _whole_line(line: bytes) -> Any:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # maybe several objects on one line, or odd JSON: the careful path decides
    return value if isinstance(value, dict) else None


def _decode_all(text: str) -> tuple[list[tuple[Any, str]], str, str | None]:
    """Decode every complete JSON value in ``text``; return them, the undecoded rest, and the error."""
    values: list[tuple[Any, str]] = []
    position, end = 0, len(text)
    while True:
        while position < end and text[position] in " \t\r\n,":
            position += 1
        if position >= end:
            return values, "", None
        try:
            value, stop = _decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            return values, text[position:], f"invalid JSON: {exc.msg} (column {exc.colno})"
        chunk = text[position:stop]
        if isinstance(value, list) and values == [] and position == 0 and text[stop:].strip() == "":
            # A whole file that is one JSON array of records.
            values.extend((item, json.dumps(item)) for item in value)
        else:
            values.append((value, chunk))
        position = stop


def _starts_document(line: str) -> bool:
    # In pretty-printed JSON only the outermost braces sit at column 0.
    return line[:1] in ("{", "[")


def _may_close(line: str) -> bool:
    # Only a line that starts at column 0 and ends with a bracket can end a top-level document;
    # trying to decode after every nested "}" would make pretty-printed files quadratic.
    return line[:1] in ("{", "[", "}", "]") and line.rstrip().endswith(("}", "]"))


@dataclass(slots=True)
class _Outcome:
    decoded: list[tuple[Any, str]]
    rejected: list[list[str]]


def _decode_pending(pending: list[str]) -> tuple[_Outcome, str]:
    """Decode the open document; if it is bad but a later line starts a good one, give up the bad part."""
    values, rest, _ = _decode_all("".join(pending))
    if not rest or values:
        return _Outcome(values, []), rest
    for index in range(len(pending) - 1, 0, -1):
        if _starts_document(pending[index]):
            values, rest, _ = _decode_all("".join(pending[index:]))
            if values and not rest:
                return _Outcome(values, [pending[:index]]), ""
            break
    return _Outcome([], []), rest


def _complete(line: str) -> bool:
    values, rest, _ = _decode_all(line)
    return bool(values) and not rest


def _text(line: bytes, line_no: int) -> str:
    if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    return line.decode("utf-8", errors="replace")


def _reject(lines: list[str], start: int, name: str, reason: str | None = None) -> Rejected:
    text = "".join(lines)
    if reason is None:
        _, _, error = _decode_all(text)
        reason = error or "invalid JSON"
    return Rejected(reason, text, location=f"{name}:{start}")
