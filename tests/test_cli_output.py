"""What the command line prints (docs/cli.md): records' control characters escaped in text and exact in
JSON, quiet ends when the reader stops reading, pointers instead of dead ends, help for every option."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mailfate.cli import main
from mailfate.cli.main import build_parser
from mailfate.store import open_store
from mailfate.testing import bounce_event, event

from .conftest import ingest, jsonl

EXE = str(Path(sys.executable).with_name("mailfate"))
ESC = "\x1b]0;owned\x07\x1b[2J\x1b[31m"  # retitle the terminal, clear it, turn red
C1 = "\x9b31m"  # the one-byte CSI that some terminals honour
BIDI = "\u202e"  # right-to-left override: makes text read backwards


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def hostile_records() -> list[dict[str, object]]:
    sent = event("Send", "m-hostile", ["jane@example.com"], "2026-11-20T10:00:00.000Z")
    bounce = bounce_event(
        "m-hostile", ["jane@example.com"], "2026-11-20T10:00:05.000Z", "Permanent", "General",
        status="5.1.1", diagnostic=f"smtp; 550 {ESC}no such user{C1}",
    )  # fmt: skip
    for record in (sent, bounce):  # every record carries the mail, as SES sends it
        record["mail"]["commonHeaders"]["subject"] = f"Hello {ESC}{C1}{BIDI}you"
        record["mail"]["tags"]["campaign"] = [f"spring{ESC}"]
    odd_id = event("Delivery", f"m-{ESC}", ["jane@example.com"], "2026-11-20T11:00:00.000Z")
    odd_address = event("Complaint", "m-complaint", [f"{ESC}mallory@example.com"], "2026-11-20T12:00:00.000Z")
    return [sent, bounce, odd_id, odd_address]


def assert_inert(text: str) -> None:
    """No control character or override reaches the terminal; each is shown as an escape."""
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\x9b" not in text
    assert BIDI not in text
    assert "\\x1b]0;owned\\x07\\x1b[2" in text


class TestEscaping:
    @pytest.fixture
    def db(self, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
        store = open_store(store_url)
        try:
            ingest(store, hostile_records())
        finally:
            store.close()
        (tmp_path / "bad.txt").write_text(f"not json {ESC}\nsecond line\n")
        (tmp_path / "odd.json").write_text(json.dumps({"garbage": ESC}))
        code, _, _ = run(capsys, "ingest", str(tmp_path / "bad.txt"), str(tmp_path / "odd.json"), "--db", store_url)
        assert code == 1  # quarantined
        assert run(capsys, "suppress", "amy@example.com", "--reason", f"asked {ESC}", "--db", store_url)[0] == 0
        return store_url

    def test_status(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "status", "m-hostile", "--db", db)
        assert code == 0
        assert_inert(out)
        assert "\\x9b31m" in out
        assert "\\u202e" in out

    def test_recipient(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "recipient", "jane@example.com", "--db", db)
        assert code == 0
        assert_inert(out)

    def test_suppressions(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "suppressions", "--db", db)
        assert code == 0
        assert_inert(out)
        assert "amy@example.com" in out

    def test_quarantine(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "quarantine", "--db", db)
        assert code == 0
        assert "\x1b" not in out
        assert "\x07" not in out
        assert "not json \ufffd]0;owned" in out  # the preview shows what it cannot print as U+FFFD
        items = json.loads(run(capsys, "quarantine", "--json", "--db", db)[1])
        assert sum(line.startswith("#") for line in out.splitlines()) == len(items)  # no line forged

    def test_stats_groups(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "stats", "--group-by", "tag:campaign", "--since", "2026-11-01", "--db", db)
        assert code == 0
        assert "\x1b" not in out
        assert "spring\\x1b" in out

    def test_json_stays_exact(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "status", "m-hostile", "--json", "--db", db)
        assert code == 0
        assert "\x1b" not in out
        assert "\x9b" not in out
        assert BIDI not in out
        assert json.loads(out)["subject"] == f"Hello {ESC}{C1}{BIDI}you"
        code, out, _ = run(capsys, "quarantine", "--json", "--db", db)
        assert "\x1b" not in out
        assert any(item["preview"].startswith("not json \ufffd]0;owned") for item in json.loads(out))
        code, out, _ = run(capsys, "changes", "--db", db)
        assert "\x1b" not in out
        assert "\x9b" not in out
        bounces = [json.loads(line).get("fate", {}).get("bounce") for line in out.splitlines()]
        assert f"smtp; 550 {ESC}no such user{C1}" in [b["diagnostic_code"] for b in bounces if b]


# -- a reader that stops reading ------------------------------------------------------------------------


@pytest.fixture
def big(tmp_path: Path) -> str:
    """A database whose lookups print far more than a pipe holds (64 KiB)."""
    url = f"sqlite:///{tmp_path / 'big.db'}"
    everyone = [f"reader{n}@example.com" for n in range(1500)]
    path = tmp_path / "big.jsonl"
    path.write_bytes(jsonl([event("Delivery", "m-big", everyone, "2026-11-20T10:00:01.000Z")]))
    done = subprocess.run([EXE, "ingest", str(path), "--db", url], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return url


@pytest.mark.parametrize(
    "argv",
    [["demo"], ["status", "m-big"], ["status", "m-big", "--json"], ["stats"], ["changes"], ["changes", "--follow"]],
    ids=" ".join,
)
def test_output_into_a_closed_pipe_ends_quietly(big: str, argv: list[str]) -> None:
    process = subprocess.Popen(
        [EXE, *argv, *([] if argv == ["demo"] else ["--db", big])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line
        assert process.wait(timeout=30) == 141
        assert process.stderr.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def test_changes_follow_ends_when_head_has_its_line(big: str) -> None:
    """``changes --follow | head -1``: the feed has nothing new to write, and still ends at once."""
    done = subprocess.run(  # noqa: S602 (a shell pipeline is the point)
        f"'{EXE}' changes --follow --db '{big}' | head -1; echo \"exit ${{PIPESTATUS[0]}}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    first, status = done.stdout.splitlines()
    assert json.loads(first)["seq"] == 1
    assert status == "exit 141"
    assert done.stderr == ""


# -- pointers instead of dead ends -----------------------------------------------------------------------


def test_status_of_an_address_points_to_recipient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert run(capsys, "migrate", "--db", url)[0] == 0
    code, _, err = run(capsys, "status", "alice@example.com", "--db", url)
    assert code == 1
    assert "try mailfate recipient alice@example.com" in err


@pytest.mark.parametrize("not_an_address", ["0100017fe7043e8e-fc9c357d", "alice@", "@example.com", "a b@example.com"])
def test_recipient_of_something_else_is_a_usage_error(not_an_address: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recipient", not_an_address, "--db", "sqlite:///never-opened.db")
    assert code == 2
    assert "is not an email address" in err
    assert ("try mailfate status" in err) is ("@" not in not_an_address)
    assert not Path("never-opened.db").exists()


# -- help ---------------------------------------------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    return dict(action.choices)  # type: ignore[arg-type]


def test_every_option_and_argument_has_help() -> None:
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.dest == "db":
                continue
            assert action.help, f"mailfate {name}: {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("name", ["explain", "setup", "doctor"])
def test_db_is_not_offered_where_it_means_nothing(name: str) -> None:
    help_text = _subcommands()[name].format_help()
    assert "--db" not in help_text


def test_db_is_offered_where_it_means_something() -> None:
    for name, parser in _subcommands().items():
        if name not in ("explain", "setup", "doctor"):
            assert "--db URL" in parser.format_help(), name


def test_db_is_still_accepted_where_it_means_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Scripts may pass --db to every command (the interface promises it): it is ignored there."""
    code, out, _ = run(capsys, "explain", "Permanent", "General", "--db", "sqlite:///never-opened.db")
    assert code == 0
    assert out.startswith("Permanent/General")
    assert not Path("never-opened.db").exists()


# -- stats for a terminal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("group_by", [[], ["--group-by", "day"], ["--group-by", "recipient_domain"]])
def test_stats_fit_a_terminal_and_say_what_they_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], group_by: list[str]
) -> None:
    """One block per group, each line within 100 columns (the blocks within 80), with the same numbers as
    --json; and a note that a recipient counts once, under its fate now."""
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert run(capsys, "demo", "--db", db)[0] == 0
    code, text, _ = run(capsys, "stats", *group_by, "--db", db)
    assert code == 0
    figures = json.loads(run(capsys, "stats", "--json", *group_by, "--db", db)[1])
    assert max(len(line) for line in text.splitlines()) <= 100
    head, *blocks = text.split("\n\n")
    assert "Each recipient counts once, under its fate now" in head
    assert "counts as that, not as delivered" in head
    assert len(blocks) == 1 + len(figures["groups"])
    for block, body in zip(blocks, [figures["totals"], *figures["groups"]], strict=True):
        name, *lines = block.splitlines()
        assert name.startswith(body.get("key", "all"))
        assert all(len(line) <= 80 for line in lines)
        cells = re.findall(r"([a-z][a-z -]+?) +([\d,]+)(?= |$)", block, re.M)
        shown = {label: int(n.replace(",", "")) for label, n in cells}
        assert shown == {
            "sent": body["sent"], "delivered": body["delivered"], "auto-replies": body["auto_replies"],
            "hard bounces": body["hard_bounces"], "soft bounces": body["soft_bounces"],
            "complaints": body["complaints"], "opened": body["opens"], "clicked": body["clicks"],
        }  # fmt: skip
        assert re.search(rf"^  bounce rate +{body['bounce_rate']:.2%}  {body['bounce_level']}$", block, re.M)
        assert re.search(rf"^  complaint rate +{body['complaint_rate']:.3%}  {body['complaint_level']}$", block, re.M)
