"""Push suppressions to, and pull them from, the SES account-level suppression list (sesv2).

SES knows two reasons, BOUNCE and COMPLAINT. What mailfate suppressed for a complaint goes as
COMPLAINT, a hard bounce as BOUNCE; soft-bounce and manual suppressions stay local unless asked for,
since SES would keep them for ever. What is pulled is recorded as a suppression added by hand, with the
reason ``ses:BOUNCE`` or ``ses:COMPLAINT`` and SES's own time.

Mailbox simulator addresses (``*@simulator.amazonses.com``) are suppressed locally like any others, but
never pushed: they are SES's own test addresses, not anybody's mailbox, and SES answers them by design.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mailfate.aws.clients import reason
from mailfate.core.addresses import normalize_address
from mailfate.core.suppression import Action, Suppression
from mailfate.core.timestamps import format_timestamp
from mailfate.errors import MailfateError

#: Pages of ListSuppressedDestinations read at the most (1,000 addresses each).
MAX_PAGES = 10_000
_SES_REASON = {"complaint": "COMPLAINT", "bounce": "BOUNCE", "soft_bounce": "BOUNCE", "manual": "BOUNCE"}
SIMULATOR_DOMAIN = "simulator.amazonses.com"


class SesError(MailfateError):
    """SES refused or could not be reached."""


def sesv2_client(region: str | None = None) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client("sesv2", region_name=region)
    except BotoCoreError as exc:  # no region, a profile that does not exist
        raise SesError(f"cannot reach SES: {reason(exc)}{_REGION_HINT if region is None else ''}") from exc


_REGION_HINT = " (pass --region or set AWS_REGION)"


@dataclass(frozen=True)
class Pushed:
    """What a push did: addresses put on the account-level list, and simulator addresses left out."""

    sent: int
    simulator: int


def is_simulator(address: str) -> bool:
    return address.rpartition("@")[2] == SIMULATOR_DOMAIN


def push(client: Any, suppressions: Iterable[Suppression], include_soft: bool = False) -> Pushed:
    """PutSuppressedDestination for each bounce and complaint suppression (every one with
    ``include_soft``), except the mailbox simulator's addresses."""
    from botocore.exceptions import BotoCoreError, ClientError

    sent = simulator = 0
    for suppression in suppressions:
        if suppression.reason not in ("bounce", "complaint") and not include_soft:
            continue
        if is_simulator(suppression.address):
            simulator += 1
            continue
        try:
            client.put_suppressed_destination(EmailAddress=suppression.address, Reason=_SES_REASON[suppression.reason])
        except (BotoCoreError, ClientError) as exc:
            raise SesError(f"PutSuppressedDestination {suppression.address}: {reason(exc)}") from exc
        sent += 1
    return Pushed(sent, simulator)


def pull(client: Any) -> list[tuple[str, Action]]:
    """Every address on the account-level list, as suppressions added by hand."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: list[tuple[str, Action]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        try:
            page = client.list_suppressed_destinations(**({"NextToken": token} if token else {}))
        except (BotoCoreError, ClientError) as exc:
            raise SesError(f"ListSuppressedDestinations: {reason(exc)}") from exc
        for item in page.get("SuppressedDestinationSummaries", []):
            when = format_timestamp(item["LastUpdateTime"])
            found.append((normalize_address(item["EmailAddress"]), Action("suppress", when, f"ses:{item['Reason']}")))
        token = page.get("NextToken")
        if not token:
            return found
    raise SesError(f"ListSuppressedDestinations returned more than {MAX_PAGES} pages")
