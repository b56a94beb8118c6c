"""The command line (docs/cli.md): outputs, JSON shapes and exit codes 0/1/2."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailfate.cli import main
from mailfate.testing import bounce_event, event, sns_envelope

from .conftest import GENUINE, jsonl


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


class TestIngest:
    def test_summary_and_success(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        records = [
            event("Delivery", "m-1", ["a@example.com"], "2026-01-01T00:00:01Z"),
            bounce_event("m-1", ["a@example.com"], "2026-01-01T00:00:05Z", "Transient", "General"),
        ]
        path = write(tmp_path / "in.jsonl", jsonl(records) + jsonl(records[:1]))
        code, out, _ = run(capsys, "ingest", path, "--db", db)
        assert code == 0
        assert out.strip() == (
            "2 records stored, 1 duplicate record, 0 quarantined; 2 events stored, 0 duplicate events"
        )

    def test_json_summary(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        path = write(tmp_path / "in.json.gz", gzip.compress((GENUINE / "django-ses-identity-bounce.json").read_bytes()))
        code, out, _ = run(capsys, "ingest", path, "--db", db, "--json")
        assert code == 0
        assert json.loads(out)["records"] == 1

    def test_the_summary_adds_up(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Records and events are counted apart: one record twice, one event by two routes, one bad line."""
        delivery = event("Delivery", "m-5", ["a@example.com"], "2026-01-01T00:00:01Z")
        by_sns = sns_envelope(delivery, message_id="11111111-2222-4333-8444-555555555555")
        lines = jsonl([delivery, delivery, by_sns]) + b"{oops\n"
        code, out, _ = run(capsys, "ingest", write(tmp_path / "in.jsonl", lines), "--db", db, "--json")
        assert code == 1
        summary = json.loads(out)
        assert {k: summary[k] for k in ("records", "duplicate_records", "duplicates", "quarantined")} == {
            "records": 2,
            "duplicate_records": 1,
            "duplicates": 1,
            "quarantined": 1,
        }
        assert (summary["events"], summary["duplicate_events"]) == (1, 1)
        assert summary["records"] + summary["duplicate_records"] + summary["quarantined"] == 4  # lines read

    def test_an_empty_file_is_reported(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Nothing wrong was found, so exit 0 (not a refusal); but it says the file held nothing."""
        for content in (b"", b"\n\n  \n"):
            path = write(tmp_path / "empty.jsonl", content)
            code, out, err = run(capsys, "ingest", path, "--db", db)
            assert code == 0
            assert "empty.jsonl: empty, no records in it" in err
            code, out, _ = run(capsys, "ingest", path, "--db", db, "--json")
            assert json.loads(out)["empty"] == [path]

    def test_bad_line_is_quarantined_the_rest_kept_exit_1(
        self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        good = jsonl([event("Send", "m-2", ["a@example.com"], "2026-01-01T00:00:00Z")])
        path = write(tmp_path / "in.jsonl", good + b'{"eventType": "Send", oops}\n' + good.replace(b"m-2", b"m-3"))
        code, out, err = run(capsys, "ingest", path, "--db", db)
        assert code == 1
        assert "2 records stored, 0 duplicate records, 1 quarantined; 2 events stored" in out
        assert "mailfate quarantine" in err
        code, out, _ = run(capsys, "quarantine", "--db", db, "--json")
        assert code == 0
        (item,) = json.loads(out)
        assert item["location"].endswith("in.jsonl:2")
        assert "invalid JSON" in item["reason"]
        assert run(capsys, "status", "m-3", "--db", db)[0] == 0

    def test_truncated_gzip(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        lines = [event("Send", f"m-{i}", ["a@example.com"], "2026-01-01T00:00:00Z") for i in range(300)]
        whole = gzip.compress(jsonl(lines))
        path = write(tmp_path / "cut.jsonl.gz", whole[: len(whole) * 2 // 3])
        code, out, _ = run(capsys, "ingest", path, "--db", db)
        assert code == 1
        assert "quarantined" in out
        assert not out.startswith("0 records")

    def test_missing_file_is_reported_and_others_still_ingested(
        self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        good = write(tmp_path / "ok.jsonl", jsonl([event("Send", "m-9", ["a@example.com"], "2026-01-01T00:00:00Z")]))
        code, out, err = run(capsys, "ingest", str(tmp_path / "nope.json"), good, "--db", db)
        assert code == 1
        assert "cannot open" in err
        assert "nope.json" in err
        assert out.startswith("1 record stored")

    def test_a_folder_is_every_file_under_it(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        sync = tmp_path / "s3" / "2026" / "11"
        sync.mkdir(parents=True)
        write(sync / "a.jsonl", jsonl([event("Send", "m-a", ["a@example.com"], "2026-11-01T00:00:00Z")]))
        write(sync / "b.gz", gzip.compress(jsonl([event("Send", "m-b", ["b@example.com"], "2026-11-01T00:00:00Z")])))
        write(sync / ".DS_Store", b"junk")  # hidden files are not records
        code, out, _ = run(capsys, "ingest", str(tmp_path / "s3"), "--db", db)
        assert code == 0
        assert out.startswith("2 records")
        assert run(capsys, "status", "m-b", "--db", db)[0] == 0


class TestLookups:
    @pytest.fixture
    def loaded(self, tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> str:
        path = write(tmp_path / "g.json", (GENUINE / "django-ses-identity-bounce.json").read_bytes())
        assert run(capsys, "ingest", path, "--db", db)[0] == 0
        return db

    MID = "0100017fe7043e8e-fc9c357d-a9a4-49bc-a4b4-fa984009d568-000000"

    def test_status_text_and_json(self, loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "status", self.MID, "--db", loaded)
        assert code == 0
        assert "bounced" in out
        assert "bounce@simulator.amazonses.com" in out
        code, out, _ = run(capsys, "status", self.MID, "--db", loaded, "--json")
        assert json.loads(out)["status"] == "bounced"

    def test_unknown_message_exits_1(self, loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "status", "no-such-id", "--db", loaded)
        assert code == 1
        assert "no events for message no-such-id" in err

    def test_recipient_json(self, loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "recipient", "Bounce <BOUNCE@simulator.amazonses.com>", "--db", loaded, "--json")
        assert code == 0
        body = json.loads(out)
        assert body["address"] == "bounce@simulator.amazonses.com"
        assert [m["message_id"] for m in body["messages"]] == [self.MID]

    def test_quarantine_empty(self, loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(capsys, "quarantine", "--db", loaded, "--json") == (0, "[]\n", "")


class TestUsage:
    def test_unknown_command_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exc:
            main(["teleport"])
        assert exc.value.code == 2

    def test_missing_argument_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exc:
            main(["status"])
        assert exc.value.code == 2

    def test_bad_db_url_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "status", "x", "--db", "mysql://nope")
        assert code == 2
        assert "unknown database URL" in err


def test_installed_entry_point_runs_the_demo(tmp_path: Path) -> None:
    """`mailfate demo` as a user runs it: a real process, from an empty folder."""
    exe = Path(sys.executable).with_name("mailfate")
    done = subprocess.run(
        [str(exe), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "MAILFATE_DB": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "delivered (auto-reply)" in done.stdout
    assert "demo-late-hard-bounce  bounced" in done.stdout
    assert list(tmp_path.iterdir()) == []  # the demo leaves nothing behind


def test_stdin_dash(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("mailfate")
    data = jsonl([event("Send", "m-s", ["a@example.com"], "2026-01-01T00:00:00Z")])
    done = subprocess.run(
        [str(exe), "ingest", "-", "--db", f"sqlite:///{tmp_path / 's.db'}"],
        input=data, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"1 record stored, 0 duplicate records, 0 quarantined; 1 event stored")


def test_ingest_verify_checks_sns_envelopes_at_their_own_time(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--verify: genuine AWS-signed envelopes pass (checked at their signed Timestamp, as archives
    outlive certificates); a tampered one is quarantined with the reason, never stored as fact."""
    monkeypatch.setenv("MAILFATE_SNS_CERTS_DIR", str(GENUINE / "certs"))
    bounce = json.loads((GENUINE / "django-ses-identity-bounce.json").read_text())
    complaint = json.loads((GENUINE / "django-ses-event-publishing-complaint.json").read_text())
    tampered = dict(bounce, MessageId="71a6b82e-0f1a-58db-b902-000000000000")
    bare = event("Send", "m-bare", ["a@example.com"], "2026-01-01T00:00:00Z")
    path = write(tmp_path / "archive.jsonl", jsonl([bounce, complaint, tampered, bare]))
    code, out, _ = run(capsys, "ingest", path, "--db", db, "--verify")
    assert code == 1
    assert "3 records" in out
    assert "1 quarantined" in out
    code, out, _ = run(capsys, "quarantine", "--db", db, "--json")
    (item,) = json.loads(out)
    assert item["reason"].startswith("SignatureInvalid")
