"""Reading records from files: every layout SES data is found in, and bad content that loses nothing."""

from __future__ import annotations

import gzip
import io
import json
import textwrap
from typing import Any

import pytest

from mailfate.core.model import Rejected
from mailfate.sources.records import Decoded, read_records, split_chunks


def read(data: bytes) -> list[Decoded | Rejected]:
    return list(read_records(io.BytesIO(data), "f"))


def values(items: list[Decoded | Rejected]) -> list[Any]:
    return [i.value for i in items if isinstance(i, Decoded)]


def rejected(items: list[Decoded | Rejected]) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


RECORDS = [{"n": 1, "s": "x\ny"}, {"n": 2, "nested": {"a": [1, {"b": 2}]}}, {"n": 3}]


LAYOUTS = {
    "one document": json.dumps(RECORDS[0]).encode(),
    "json lines": b"".join(json.dumps(r).encode() + b"\n" for r in RECORDS),
    "json lines, CRLF and blank lines": b"\r\n\r\n".join(json.dumps(r).encode() for r in RECORDS) + b"\r\n",
    "concatenated, no separator (Firehose)": b"".join(json.dumps(r).encode() for r in RECORDS),
    "pretty-printed documents one after another": b"\n".join(json.dumps(r, indent=2).encode() for r in RECORDS),
    "a JSON array": json.dumps(RECORDS).encode(),
    "a pretty JSON array": json.dumps(RECORDS, indent=2).encode(),
    "byte order mark": b"\xef\xbb\xbf" + json.dumps(RECORDS[0]).encode(),
    "json lines with leading whitespace": b"".join(b"  \t" + json.dumps(r).encode() + b"\n" for r in RECORDS),
    "documents indented as a whole": b"\n".join(
        textwrap.indent(json.dumps(r, indent=3), "    ").encode() for r in RECORDS
    ),
    "pretty-printed, concatenated with no line break": b"".join(json.dumps(r, indent=2).encode() for r in RECORDS),
    "an array of records, one per line": b"[\n" + b",\n".join(json.dumps(r).encode() for r in RECORDS) + b"\n]\n",
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layouts(layout: str) -> None:
    """Each layout yields exactly its records, in order, with nothing rejected."""
    expected = RECORDS[:1] if layout in ("one document", "byte order mark") else RECORDS
    items = read(LAYOUTS[layout])
    assert rejected(items) == []
    assert values(items) == expected


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_read_in_tiny_blocks(layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents cut across block boundaries anywhere read the same."""
    from mailfate.sources import records as records_module

    whole = read(LAYOUTS[layout])
    monkeypatch.setattr(records_module, "BLOCK", 7)
    assert read(LAYOUTS[layout]) == whole


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_gzip_of_each_layout(layout: str) -> None:
    assert values(read(gzip.compress(LAYOUTS[layout]))) == values(read(LAYOUTS[layout]))


def test_raw_text_of_each_record_is_kept() -> None:
    """The stored raw record is the text as received, not a re-serialization."""
    line = b'{"b": 1,   "a": "\\u00e9"}\n'
    (item,) = read(line)
    assert isinstance(item, Decoded)
    assert item.text == line.decode().strip()


def test_invalid_line_in_the_middle_of_json_lines() -> None:
    """A broken line is rejected with its reason and line number; the lines around it are kept."""
    data = b'{"n": 1}\n{"n": 2,, }\n{"n": 3}\n'
    items = read(data)
    assert values(items) == [{"n": 1}, {"n": 3}]
    (bad,) = rejected(items)
    assert bad.body == b'{"n": 2,, }'
    assert bad.location == "f:2"
    assert "invalid JSON" in bad.reason


def test_truncated_line_in_the_middle_of_json_lines() -> None:
    data = b'{"n": 1}\n{"n": 2, "s": "unfinished\n{"n": 3}\n'
    items = read(data)
    assert values(items) == [{"n": 1}, {"n": 3}]
    assert [r.location for r in rejected(items)] == ["f:2"]


def test_garbage_before_a_pretty_printed_document() -> None:
    data = b"not json at all\n" + json.dumps({"n": 9}, indent=2).encode()
    items = read(data)
    assert values(items) == [{"n": 9}]
    assert rejected(items)[0].body.startswith(b"not json")


def test_truncated_last_record() -> None:
    items = read(b'{"n": 1}\n{"n": 2, "a": [1, 2')
    assert values(items) == [{"n": 1}]
    (bad,) = rejected(items)
    assert bad.location == "f:2"


def test_truncated_gzip_keeps_what_was_read() -> None:
    """A gzip cut short: every record before the cut is read, the cut itself is reported."""
    whole = gzip.compress(b"".join(json.dumps({"n": i, "pad": "x" * 50}).encode() + b"\n" for i in range(2000)))
    items = read(whole[: len(whole) // 2])
    good = values(items)
    assert 100 < len(good) < 2000
    assert good == [{"n": i, "pad": "x" * 50} for i in range(len(good))]
    assert any("cannot read past line" in r.reason for r in rejected(items))


def test_empty_input() -> None:
    assert read(b"") == []
    assert read(b"\n\n  \n") == []


def test_aws_documentation_examples_as_printed() -> None:
    """The samples in tests/fixtures/aws-samples are pretty-printed as AWS prints them: all read as one file."""
    from .conftest import AWS_SAMPLES

    samples = sorted(AWS_SAMPLES.glob("*.json"))
    data = b"\n".join(p.read_bytes() for p in samples)
    items = read(data)
    assert rejected(items) == []
    assert len(values(items)) == len(samples)


def test_a_large_pretty_printed_array() -> None:
    """An array of thousands of pretty-printed records: each one is a record, read without loading it whole."""
    records = [
        {"n": i, "mail": {"messageId": f"m-{i}", "tags": {"k": ["v"] * 5}}, "pad": "x" * 200} for i in range(3000)
    ]
    items = read(json.dumps(records, indent=4).encode())
    assert rejected(items) == []
    assert values(items) == records


@pytest.mark.parametrize("block", [1024 * 1024, 4096, 777])
def test_a_record_too_large_is_kept_by_reference(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Whether it arrives in one block or in many, a record over the limit is cut to its beginning."""
    from mailfate.sources import records as records_module

    monkeypatch.setattr(records_module, "BLOCK", block)
    monkeypatch.setattr(records_module, "MAX_RECORD_BYTES", 10_000)
    monkeypatch.setattr(records_module, "HEAD_BYTES", 100)
    huge = b'{"a": "' + b"y" * 50_000 + b'"}'
    items = read(b'{"n": 1}\n' + huge + b'\n{"n": 2}\n' + b"z" * 30_000 + b'\n{"n": 3}\n')
    assert values(items) == [{"n": 1}, {"n": 2}, {"n": 3}]
    big, garbage = rejected(items)
    assert (big.location, big.size, big.body) == ("f:2", len(huge), huge[:100])
    assert "kept by reference" in big.reason
    assert (garbage.location, garbage.size) == ("f:4", 30_000)


def test_a_chunk_is_bounded_by_its_bytes_not_only_by_its_count() -> None:
    """Large records make small chunks: what bulk ingest holds (read ahead, parsed, written) follows the
    bytes, so a file of 100 KB notifications cannot make a chunk of a gigabyte."""
    pad = "x" * 10_000
    lines = [json.dumps({"eventType": "Send", "n": n, "pad": pad}).encode() for n in range(100)]
    chunks = list(split_chunks(io.BytesIO(b"\n".join(lines)), pieces=1000, max_bytes=50_000))
    sizes = [sum(len(data) for _, data in chunk) for chunk in chunks if not isinstance(chunk, Rejected)]
    assert [len(chunk) for chunk in chunks] == [5] * 20
    assert all(50_000 <= size < 50_000 + len(lines[0]) for size in sizes)
    small = list(split_chunks(io.BytesIO(b"\n".join(lines)), pieces=30, max_bytes=10**9))
    assert [len(chunk) for chunk in small] == [30, 30, 30, 10]
