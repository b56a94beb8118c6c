"""Split a stream of bytes into JSON records, keeping what cannot be read.

Reads every layout a person or a tool writes: one document per line (leading whitespace and blank
lines allowed), pretty-printed documents, documents concatenated with or without whitespace between
them (as Firehose writes them to S3), and arrays of records however large; any of these
gzip-compressed. The stream is read in blocks and scanned for where each document ends, so memory
stays flat whatever the file holds: a record over :data:`MAX_RECORD_BYTES` (a gzip bomb, a line of a
gigabyte) is not loaded but kept by reference, its beginning and its size, and reading goes on.

A piece that is not valid JSON is yielded as a :class:`~mailfate.core.model.Rejected` with its bytes,
and reading goes on at the next document, so one bad line never costs the records around it.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import orjson

from mailfate.core.jsonutil import loads
from mailfate.core.model import Rejected

#: A single record larger than this is kept by reference rather than loaded.
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: How much of a record kept by reference is stored: enough for a person to recognise it.
HEAD_BYTES = 64 * 1024
BLOCK = 1024 * 1024
#: The bytes of records in one chunk at the most (one record may pass it alone): a chunk is parsed, held
#: and written as a unit, so this bounds the memory of bulk ingest together with the read-ahead.
CHUNK_BYTES = 16 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_BETWEEN = re.compile(rb"[ \t\r\n,]*")
_IN_DOCUMENT = re.compile(rb'["{}\[\]\n]')
_IN_STRING = re.compile(rb'["\\\n]')
_END_OF_SCALAR = re.compile(rb"[\n,\]]")

#: One piece of a stream: the line it starts on, and its bytes (one JSON document, or garbage).
Piece = tuple[int, bytes]


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


def split_pieces(raw: IO[bytes], name: str = "-") -> Iterator[Piece | Rejected]:
    """Every document of the stream as a piece, in order; records too large to load, and a stream
    that cannot be read to its end (a corrupt gzip), as Rejected. Never raises for bad content."""
    yield from _Splitter(open_stream(raw), name).pieces()


def split_chunks(
    raw: IO[bytes], name: str = "-", pieces: int = 5000, max_bytes: int = CHUNK_BYTES
) -> Iterator[list[Piece] | Rejected]:
    """The pieces of a stream in lists of ``pieces``, or fewer when they reach ``max_bytes``: what a
    chunk costs in memory follows its bytes, and records may be large (a notification of 200 KB, or a
    record of up to MAX_RECORD_BYTES), so the count alone would not bound it."""
    chunk: list[Piece] = []
    size = 0
    for piece in split_pieces(raw, name):
        if isinstance(piece, Rejected):
            yield piece
            continue
        chunk.append(piece)
        size += len(piece[1])
        if len(chunk) >= pieces or size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def read_records(raw: IO[bytes], name: str = "-") -> Iterator[Decoded | Rejected]:
    """Yield every record of ``raw`` in order; never raises for bad content."""
    for piece in split_pieces(raw, name):
        yield piece if isinstance(piece, Rejected) else decode_piece(piece, name)


def decode_piece(piece: Piece, name: str) -> Decoded | Rejected:
    line, data = piece
    location = f"{name}:{line}"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            value = loads(data)  # what orjson refuses but JSON allows, or the reason it is not JSON
        except ValueError as exc:
            return Rejected(f"invalid JSON: {str(exc)[:200]}", data, location=location)
    return Decoded(value, data.decode("utf-8", errors="replace"), location)


class _Splitter:
    """Finds where each top-level document ends, block by block.

    Outside a document only whitespace and commas are skipped. A top-level array is opened, not read
    whole: its elements are the documents. Inside a document the scanner jumps from one bracket or
    quote to the next (a regular expression does the skipping), counting depth. Two things end a
    document that never closes, so that reading can go on: a raw line break inside a string (JSON
    does not allow one), and a line that starts with ``{`` at its first column (pretty-printers
    indent what is nested, so that is the next document).
    """

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self.stream, self.name = stream, name
        self.buf = b""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.failure: str | None = None

    def _more(self) -> bool:
        """Append about a block to the buffer, dropping what was consumed; False at the end of the stream."""
        if self.eof:
            return False
        parts: list[bytes] = []
        size = 0
        read = getattr(self.stream, "read1", self.stream.read)  # read1: a cut gzip gives all it had
        try:
            while size < BLOCK:
                part = read(BLOCK - size)
                if not part:
                    self.eof = True
                    break
                parts.append(part)
                size += len(part)
        except (OSError, EOFError, zlib.error) as exc:
            self.eof, self.failure = True, f"cannot read past line {self.line}: {exc}"
        if not parts:
            return False
        block = b"".join(parts)
        if self.pos == 0 and self.line == 1 and not self.buf and block.startswith(_BOM):
            block = block[len(_BOM) :]
        self.buf = self.buf[self.pos :] + block
        self.pos = 0
        return True

    def pieces(self) -> Iterator[Piece | Rejected]:
        in_array = False
        while True:
            self._skip_between()
            if self.pos >= len(self.buf) and not self._more():
                break
            first = self.buf[self.pos : self.pos + 1]
            if first == b"[" and not in_array and self._opens_records():
                in_array, self.pos = True, self.pos + 1  # a list of records: its elements are read one by one
                continue
            if first == b"]" and in_array:
                in_array, self.pos = False, self.pos + 1
                continue
            piece = self._line_document() if first == b"{" and not in_array else None
            yield piece or self._document(in_array)
        if self.failure:
            yield Rejected(self.failure, b"", location=f"{self.name}:{self.line}")

    def _opens_records(self) -> bool:
        """Whether the ``[`` here opens a list of records (objects), rather than being one odd document."""
        while True:
            after = _BETWEEN.match(self.buf, self.pos + 1).end()  # type: ignore[union-attr]
            if after < len(self.buf):
                return self.buf[after : after + 1] in (b"{", b"]")
            if len(self.buf) - self.pos > MAX_RECORD_BYTES or not self._more():
                return False

    def _skip_between(self) -> None:
        while True:
            end = _BETWEEN.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            self.line += self.buf.count(b"\n", self.pos, end)
            self.pos = end
            if end < len(self.buf) or not self._more():
                return

    def _line_document(self) -> Piece | None:
        """The common case, one record per line: the whole line when it is one JSON object."""
        newline = self.buf.find(b"\n", self.pos)
        while newline < 0 and len(self.buf) - self.pos <= MAX_RECORD_BYTES and self._more():
            newline = self.buf.find(b"\n", self.pos)
        end = newline if newline >= 0 else len(self.buf)
        if end - self.pos > MAX_RECORD_BYTES:
            return None
        line = self.buf[self.pos : end].rstrip()
        if not line.endswith(b"}") or line.count(b"{") != line.count(b"}") or line.count(b"[") != line.count(b"]"):
            return None
        try:
            if not isinstance(orjson.loads(line), dict):
                return None
        except orjson.JSONDecodeError:
            return None  # several documents on one line, or odd JSON: the scanner decides
        piece = (self.line, line)
        self.pos = end
        return piece

    def _document(self, in_array: bool) -> Piece | Rejected:
        """One document (or a stretch of garbage) from the current position."""
        start_line, start = self.line, self.pos
        depth, in_string = 0, False
        scalar = self.buf[start : start + 1] not in (b"{", b"[")
        position = start
        while True:
            if scalar:
                match = _END_OF_SCALAR.search(self.buf, position)
                while match and not in_array and match.group() != b"\n":
                    match = _END_OF_SCALAR.search(self.buf, match.end())
                if match:
                    return self._finish(start_line, start, match.start())
                position = len(self.buf)
            else:
                match = (_IN_STRING if in_string else _IN_DOCUMENT).search(self.buf, position)
                if match is not None:
                    char, position = match.group(), match.end()
                    if char == b"\\":
                        position += 1  # the escaped character, whatever it is
                    elif char == b'"':
                        in_string = not in_string
                    elif char == b"\n":
                        self.line += 1
                        if in_string or (depth > 0 and self.buf[position : position + 1] == b"{"):
                            return self._finish(start_line, start, position - 1)  # it never closed
                    elif char in b"{[":
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            return self._finish(start_line, start, position)
                    continue
                position = len(self.buf)
            if position - start > MAX_RECORD_BYTES:
                return self._too_large(start_line, start, position)
            shift = self.pos
            if not self._more():
                return self._finish(start_line, start, len(self.buf))
            position, start = position - shift, start - shift

    def _too_large(self, line: int, start: int, position: int) -> Rejected:
        """Keep the beginning of a record too large to load, and skip to the next line that starts a
        document (or the end), in blocks, without looking at what lies between (``position``: how far
        lines were counted already)."""
        head = self.buf[start : start + HEAD_BYTES]
        size = 0
        while True:
            found = self.buf.find(b"\n{", position)
            if found >= 0:
                self.line += self.buf.count(b"\n", position, found + 1)
                size += found - start
                self.pos = found + 1
                break
            keep = len(self.buf) - 1  # a line break at the very end may start the next document
            self.line += self.buf.count(b"\n", position, keep)
            size += keep - start
            self.pos = start = position = keep
            if not self._more():
                size += len(self.buf) - self.pos
                self.line += self.buf.count(b"\n", self.pos)
                self.pos = len(self.buf)
                break
            start = position = 0
        return _by_reference(head, size, f"{self.name}:{line}")

    def _finish(self, line: int, start: int, stop: int) -> Piece | Rejected:
        self.pos = stop
        if stop - start > MAX_RECORD_BYTES:  # whole in the buffer, but too large to keep as a record
            return _by_reference(self.buf[start : start + HEAD_BYTES], stop - start, f"{self.name}:{line}")
        return (line, self.buf[start:stop].strip())


def _by_reference(head: bytes, size: int, location: str) -> Rejected:
    reason = f"record larger than {MAX_RECORD_BYTES} bytes ({size} bytes): kept by reference, its first bytes"
    return Rejected(reason, head, location=location, size=size)
