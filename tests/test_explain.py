"""`mailfate explain`: every bounce type/subtype and complaint type the SES docs list, and unknown ones."""

from __future__ import annotations

import json

import pytest

from mailfate.cli import main
from mailfate.core.explain import BOUNCES, COMPLAINTS, explain

# As the SES developer guide lists them ("Bounce types", "Complaint types").
DOCUMENTED_BOUNCES = [
    ("Undetermined", "Undetermined"),
    ("Permanent", "General"),
    ("Permanent", "NoEmail"),
    ("Permanent", "Suppressed"),
    ("Permanent", "OnAccountSuppressionList"),
    ("Transient", "General"),
    ("Transient", "MailboxFull"),
    ("Transient", "MessageTooLarge"),
    ("Transient", "ContentRejected"),
    ("Transient", "AttachmentRejected"),
    ("Transient", "CustomTimeoutExceeded"),
]
DOCUMENTED_COMPLAINTS = ["abuse", "auth-failure", "fraud", "not-spam", "other", "virus"]


@pytest.mark.parametrize(("kind", "sub"), DOCUMENTED_BOUNCES)
def test_every_documented_bounce(kind: str, sub: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", kind, sub, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["known"] is True
    assert body["meaning"]
    assert body["action"]
    assert body["counts_toward_bounce_rate"] is (kind == "Permanent" and sub != "OnAccountSuppressionList")


@pytest.mark.parametrize("feedback", DOCUMENTED_COMPLAINTS)
def test_every_complaint_feedback_type(feedback: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", feedback]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"complaint {feedback}")
    assert "meaning:" in out
    assert "action:" in out


def test_catalogue_has_nothing_undocumented() -> None:
    assert sorted(BOUNCES) == sorted(DOCUMENTED_BOUNCES)
    assert sorted(COMPLAINTS) == sorted(DOCUMENTED_COMPLAINTS)


def test_unknown_permanent_subtype_still_says_stop_sending() -> None:
    """A subtype SES added after this release: still a hard bounce, marked unknown, not a crash."""
    e = explain("Permanent", "OnTenantSuppressionList")
    assert e.known is False
    assert "Remove the address" in e.action


def test_unknown_type_exits_1_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "Sideways", "Maybe"]) == 1
    out = capsys.readouterr().out
    assert "(unknown)" in out
    assert "Permanent" in out
    assert "abuse" in out


def test_type_alone_lists_subtypes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "Transient"]) == 0
    assert "MailboxFull" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "topic"),
    [
        (["transient", "general"], "Transient/General"),
        (["TRANSIENT", "MAILBOX_FULL"], "Transient/MailboxFull"),  # the SES v2 API's spelling
        (["permanent", "on-account-suppression-list"], "Permanent/OnAccountSuppressionList"),
        (["Complaint", "abuse"], "complaint abuse"),
        (["complaint", "AUTH_FAILURE"], "complaint auth-failure"),
        (["Not-Spam"], "complaint not-spam"),
    ],
)
def test_any_case_and_either_vocabulary(argv: list[str], topic: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", *argv, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["topic"] == topic
    assert body["known"] is True


def test_complaint_alone_lists_the_feedback_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "Complaint"]) == 0
    out = capsys.readouterr().out
    assert all(feedback in out for feedback in DOCUMENTED_COMPLAINTS)


def test_complaint_with_an_unknown_feedback_type_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "Complaint", "grumpy"]) == 1
    assert "(unknown)" in capsys.readouterr().out
