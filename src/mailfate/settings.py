"""Every setting mailfate reads, from the environment. docs/configuration.md lists the same names
(a test keeps the two in step)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mailfate.core.alerts import AlertPolicy
from mailfate.core.insights import Resolve
from mailfate.core.roles import DEFAULT_NAME, ApiToken, Scope, TokenListError, check_distinct, parse_tokens
from mailfate.core.suppression import Policy
from mailfate.errors import UsageError
from mailfate.outbound.names import shown_url
from mailfate.outbound.webhooks import WebhookConfig
from mailfate.store.base import DEFAULT_URL
from mailfate.store.quarantine import QuarantineLimits
from mailfate.store.retention import Retention

CONFIRM_MODES = ("url", "api", "off")

#: name -> one line of documentation. The single list of settings.
SETTINGS: dict[str, str] = {
    "MAILFATE_DB": f"Database URL; default {DEFAULT_URL}. postgresql://... selects PostgreSQL.",
    "MAILFATE_TOPIC_ARNS": "Comma-separated SNS topic ARNs accepted by POST /sns. Unset: every topic, no auto-confirm.",
    "MAILFATE_CONFIRM": "How a SubscriptionConfirmation is confirmed: url (GET SubscribeURL), api (boto3), off.",
    "MAILFATE_SNS_CERTS_DIR": "Folder of pinned SNS certificates, named like the SigningCertURL file name.",
    "MAILFATE_BASIC_AUTH": "user:password required on POST /sns (put them in the subscription URL).",
    "MAILFATE_API_TOKEN": "Bearer token required on /api/*; serve refuses non-loopback addresses without it, "
    "and warns when it is under 16 characters. An admin token, named default in the audit trail.",
    "MAILFATE_API_TOKENS": "More bearer tokens, each with a name and a scope: name:scope:token,... where scope is "
    "read (the API's reads, the dashboard, the metrics) or admin (every write too).",
    "MAILFATE_ALLOWED_HOSTS": "Host names (name or name:port, comma-separated; * for any) the server answers. "
    "Default: on loopback localhost, 127.0.0.1 and [::1] with the port; elsewhere any.",
    "MAILFATE_MAX_CONNECTIONS": "Open connections per server process; past it the one that has waited on its client "
    "the longest is closed. "
    "Default: half the file descriptor limit, 64 to 4096.",
    "MAILFATE_HEADER_TIMEOUT": "Seconds a client has to send a request's headers, from connecting or from the "
    "request's first byte; default 10.",
    "MAILFATE_BODY_TIMEOUT": "Seconds a client has to send a request's body once its headers are in; default 30.",
    "MAILFATE_KEEP_ALIVE_TIMEOUT": "Seconds an idle connection is kept open between two requests; default 30.",
    "MAILFATE_MAX_BODY_MEMORY_MB": "MiB that request bodies still arriving may hold in one server process; past it "
    "the one that began the longest ago is dropped with its connection; default 64.",
    "MAILFATE_SEND_TIMEOUT": "Seconds a client may leave an answer unread (reading none of it) before its connection "
    "is closed; default 30.",
    "MAILFATE_CERT_CACHE_SIZE": "Signing certificates kept in memory; default 32 (1 to 100000).",
    "MAILFATE_CERT_CACHE_TTL": "Seconds a cached signing certificate is reused before loading it again; default "
    "86400 (1 to a year).",
    "MAILFATE_LOG_LEVEL": "Log level of the server: DEBUG, INFO (default), WARNING, ERROR.",
    "MAILFATE_SOFT_BOUNCE_COUNT": "Soft-bounced messages, no delivery between, that suppress an address; default 3 "
    "(1 to 1000).",
    "MAILFATE_SOFT_BOUNCE_WINDOW_DAYS": "Days within which those soft bounces must fall; default 30 (at most 36500).",
    "MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS": "Days after the last soft bounce that such a suppression ends; default 30 "
    "(at most 36500).",
    "MAILFATE_WEBHOOK_URL": "URLs (comma-separated) that receive every change of the feed as a signed POST.",
    "MAILFATE_WEBHOOK_SECRET": "Key of the HMAC-SHA256 signature of outbound webhooks; required with a URL.",
    "MAILFATE_WEBHOOK_TIMEOUT": "Seconds a webhook receiver has for the whole request, from connecting to the last "
    "byte of its answer; default 10 (0.1 to 300).",
    "MAILFATE_WEBHOOK_RETRY_HOURS": "Hours a change is retried after its first failed delivery; default 24 (at most "
    "8760).",
    "MAILFATE_WEBHOOK_BACKOFF": "Seconds before the first retry, doubling after each failure, with jitter; default 10 "
    "(at most 86400).",
    "MAILFATE_WEBHOOK_MAX_BACKOFF": "Longest wait between two attempts, in seconds; default 3600 (at least "
    "MAILFATE_WEBHOOK_BACKOFF, at most 604800).",
    "MAILFATE_QUARANTINE_MAX_MB": "Quarantine size budget in MiB; past it the oldest unsigned junk goes first; 256.",
    "MAILFATE_QUARANTINE_RETENTION_DAYS": "Days the server keeps a quarantined record; default 30.",
    "MAILFATE_ERASURE_KEY": "Secret (at least 16 characters) under whose HMAC-SHA256 an erased address that was "
    "suppressed stays suppressed; mailfate forget refuses without it, and every process that checks addresses needs "
    "the same one.",
    "MAILFATE_RETENTION_RECORDS_DAYS": "Days raw records are kept, by arrival; unset: forever. Applied by serve and "
    "by mailfate prune.",
    "MAILFATE_RETENTION_EVENTS_DAYS": "Days events are kept, by their message's day of sending; unset: as long as "
    "the fates.",
    "MAILFATE_RETENTION_FATES_DAYS": "Days messages and their fates (with events and search terms) are kept, by day "
    "of sending; unset: forever. Suppressions and the daily figures stay. At least the soft-bounce window.",
    "MAILFATE_RETENTION_INTERVAL": "Seconds between two runs of the retention by serve; default 3600 (60 to 604800).",
    "MAILFATE_ALERT_URL": "Chat webhook URLs (Slack, Mattermost, Teams; comma-separated) told of each change of "
    "reputation level, as a text message.",
    "MAILFATE_ALERT_WINDOW_HOURS": "Hours of sending (up to now) the reputation levels of alerts are counted over; "
    "default 24 (at most 8784).",
    "MAILFATE_ALERT_MIN_VOLUME": "Recipients sent in that window below which a scope's levels are not judged; "
    "default 500.",
    "MAILFATE_ALERT_INTERVAL": "Seconds between two evaluations of the reputation levels by serve and consume; "
    "default 60 (0.1 to 86400).",
    "MAILFATE_MX_LOOKUP": "on: look up the MX hosts of recipient domains no event named a provider for (cached); "
    "default off.",
    "MAILFATE_MX_NAMESERVER": "DNS server (host or host:port) for the MX lookup; default the system's resolver.",
}


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric setting: its default and the range it must fall in (finite, so nan and inf never do)."""

    default: float
    low: float
    high: float
    whole: bool = False


DAY = 86400.0
#: Every numeric setting, with bounds that keep every later computation in range: a window or expiry
#: of more than a century overflows dates, a timeout of nan or 0 makes every delivery fail.
NUMBERS: dict[str, Number] = {
    "MAILFATE_MAX_CONNECTIONS": Number(0, 16, 1_000_000, whole=True),  # 0: from the file descriptor limit
    "MAILFATE_HEADER_TIMEOUT": Number(10, 0.1, 300),
    "MAILFATE_BODY_TIMEOUT": Number(30, 0.1, 3600),
    "MAILFATE_KEEP_ALIVE_TIMEOUT": Number(30, 0.1, 3600),
    "MAILFATE_SEND_TIMEOUT": Number(30, 0.1, 3600),
    "MAILFATE_MAX_BODY_MEMORY_MB": Number(64, 0.25, 1024 * 1024),
    "MAILFATE_CERT_CACHE_SIZE": Number(32, 1, 100_000, whole=True),
    "MAILFATE_CERT_CACHE_TTL": Number(DAY, 1, 365 * DAY),
    "MAILFATE_SOFT_BOUNCE_COUNT": Number(3, 1, 1000, whole=True),
    "MAILFATE_SOFT_BOUNCE_WINDOW_DAYS": Number(30, 0.001, 36_500),
    "MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS": Number(30, 0.001, 36_500),
    "MAILFATE_WEBHOOK_TIMEOUT": Number(10, 0.1, 300),
    "MAILFATE_WEBHOOK_RETRY_HOURS": Number(24, 0.001, 24 * 365),
    "MAILFATE_WEBHOOK_BACKOFF": Number(10, 0.001, DAY),
    "MAILFATE_WEBHOOK_MAX_BACKOFF": Number(3600, 0.001, 7 * DAY),
    "MAILFATE_QUARANTINE_MAX_MB": Number(256, 0.01, 1024 * 1024),
    "MAILFATE_QUARANTINE_RETENTION_DAYS": Number(30, 0.001, 36_500),
    "MAILFATE_ALERT_WINDOW_HOURS": Number(24, 0.001, 24 * 366),
    "MAILFATE_ALERT_MIN_VOLUME": Number(500, 1, 1_000_000_000, whole=True),
    "MAILFATE_ALERT_INTERVAL": Number(60, 0.1, DAY),
    "MAILFATE_RETENTION_INTERVAL": Number(3600, 60, 7 * DAY),
}
#: Retention settings: unset means forever, so they have no default; a value is days, 1 to 100 years.
RETENTION_DAYS = ("MAILFATE_RETENTION_RECORDS_DAYS", "MAILFATE_RETENTION_EVENTS_DAYS", "MAILFATE_RETENTION_FATES_DAYS")
#: The shortest erasure key: a guessable one would let anyone test an address against the kept hashes.
MIN_ERASURE_KEY = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class Settings:
    db: str | None = None
    topic_arns: frozenset[str] | None = None
    confirm: str = "url"
    sns_certs_dir: Path | None = None
    basic_auth: tuple[str, str] | None = None
    api_token: str | None = None
    #: The tokens of MAILFATE_API_TOKENS (MAILFATE_API_TOKEN is not among them: see ``tokens``).
    api_tokens: tuple[ApiToken, ...] = ()
    cert_cache_size: int = 32
    cert_cache_ttl: float = 86400.0
    log_level: str = "INFO"
    policy: Policy = field(default_factory=Policy)
    webhooks: WebhookConfig | None = None
    quarantine: QuarantineLimits = field(default_factory=QuarantineLimits)
    #: Host names (host or host:port) the server answers; None: any (serve sets the default).
    allowed_hosts: frozenset[str] | None = None
    max_connections: int | None = None  # None: from the file descriptor limit
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 30.0
    #: MX lookup of recipient domains: None when off, else the DNS server (None in it: the system's).
    mx: tuple[tuple[str, int] | None] | None = None
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    alert_interval: float = 60.0  # seconds between two evaluations of the reputation levels
    send_timeout: float = 30.0
    max_body_memory: int = 64 * 1024 * 1024
    retention: Retention = field(default_factory=Retention)

    def mx_lookup(self) -> Resolve | None:
        """The MX lookup when it is on (shared by the process, so its cache is), else None."""
        if self.mx is None:
            return None
        from mailfate.mx import shared  # dnspython is imported only when the lookup is on

        return shared(self.mx[0])

    @property
    def tokens(self) -> tuple[ApiToken, ...]:
        """Every API token: MAILFATE_API_TOKEN as the admin token "default", then MAILFATE_API_TOKENS.
        Empty: the API asks for none (serve allows that on loopback only)."""
        single = (ApiToken(DEFAULT_NAME, Scope.ADMIN, self.api_token),) if self.api_token else ()
        return single + self.api_tokens

    @property
    def database_url(self) -> str:
        """``MAILFATE_DB``, else the SQLite file in the working folder."""
        return self.db or DEFAULT_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting, checked: a bad one is a UsageError whose one line names it."""
        env = os.environ if env is None else env
        topics = [t.strip() for t in env.get("MAILFATE_TOPIC_ARNS", "").split(",") if t.strip()]
        for topic in topics:
            if not _TOPIC_ARN.fullmatch(topic):
                raise UsageError(
                    f"MAILFATE_TOPIC_ARNS: {topic!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                )
        confirm = env.get("MAILFATE_CONFIRM", "url").strip().lower()
        if confirm not in CONFIRM_MODES:
            raise UsageError(f"MAILFATE_CONFIRM must be one of {', '.join(CONFIRM_MODES)}, not {confirm!r}")
        certs_dir = env.get("MAILFATE_SNS_CERTS_DIR")
        if certs_dir and not Path(certs_dir).is_dir():
            raise UsageError(f"MAILFATE_SNS_CERTS_DIR {certs_dir!r} is not a folder")
        basic = env.get("MAILFATE_BASIC_AUTH")
        if basic is not None and (":" not in basic or basic.startswith(":")):
            raise UsageError("MAILFATE_BASIC_AUTH must be user:password")
        log_level = env.get("MAILFATE_LOG_LEVEL", "INFO").strip().upper()
        if log_level not in LOG_LEVELS:
            raise UsageError(f"MAILFATE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
        n = {name: _number(env, name, spec) for name, spec in NUMBERS.items()}
        api_token = env.get("MAILFATE_API_TOKEN") or None
        api_tokens = _api_tokens(env.get("MAILFATE_API_TOKENS", ""), api_token)
        if n["MAILFATE_WEBHOOK_MAX_BACKOFF"] < n["MAILFATE_WEBHOOK_BACKOFF"]:
            raise UsageError("MAILFATE_WEBHOOK_MAX_BACKOFF must not be less than MAILFATE_WEBHOOK_BACKOFF")
        return cls(
            db=env.get("MAILFATE_DB") or None,
            topic_arns=frozenset(topics) if topics else None,
            confirm=confirm,
            sns_certs_dir=Path(certs_dir) if certs_dir else None,
            basic_auth=tuple(basic.split(":", 1)) if basic else None,  # type: ignore[arg-type]
            api_token=api_token,
            api_tokens=api_tokens,
            cert_cache_size=int(n["MAILFATE_CERT_CACHE_SIZE"]),
            cert_cache_ttl=n["MAILFATE_CERT_CACHE_TTL"],
            log_level=log_level,
            policy=Policy(
                soft_bounce_count=int(n["MAILFATE_SOFT_BOUNCE_COUNT"]),
                soft_bounce_window=timedelta(days=n["MAILFATE_SOFT_BOUNCE_WINDOW_DAYS"]),
                soft_bounce_expiry=timedelta(days=n["MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS"]),
                erasure_key=_erasure_key(env),
            ),
            retention=_retention(env, n),
            webhooks=_webhooks(env, n),
            quarantine=QuarantineLimits(
                max_bytes=int(n["MAILFATE_QUARANTINE_MAX_MB"] * 1024 * 1024),
                retention_days=n["MAILFATE_QUARANTINE_RETENTION_DAYS"],
            ),
            allowed_hosts=_allowed_hosts(env.get("MAILFATE_ALLOWED_HOSTS")),
            max_connections=int(n["MAILFATE_MAX_CONNECTIONS"]) or None,
            header_timeout=n["MAILFATE_HEADER_TIMEOUT"],
            body_timeout=n["MAILFATE_BODY_TIMEOUT"],
            keep_alive_timeout=n["MAILFATE_KEEP_ALIVE_TIMEOUT"],
            mx=_mx(env),
            alerts=AlertPolicy(
                window=timedelta(hours=n["MAILFATE_ALERT_WINDOW_HOURS"]),
                min_volume=int(n["MAILFATE_ALERT_MIN_VOLUME"]),
            ),
            alert_interval=n["MAILFATE_ALERT_INTERVAL"],
            send_timeout=n["MAILFATE_SEND_TIMEOUT"],
            max_body_memory=int(n["MAILFATE_MAX_BODY_MEMORY_MB"] * 1024 * 1024),
        )


def _erasure_key(env: Mapping[str, str]) -> bytes | None:
    raw = env.get("MAILFATE_ERASURE_KEY", "")
    if not raw:
        return None
    if len(raw) < MIN_ERASURE_KEY:
        raise UsageError(f"MAILFATE_ERASURE_KEY must be at least {MIN_ERASURE_KEY} characters (a random secret)")
    return raw.encode()


def _retention(env: Mapping[str, str], n: dict[str, float]) -> Retention:
    days: dict[str, float | None] = {}
    for name in RETENTION_DAYS:
        raw = env.get(name, "").strip()
        days[name] = _number(env, name, Number(0, 1, 36_500)) if raw else None
    records, events, fates = (days[name] for name in RETENTION_DAYS)
    if fates is not None and events is not None and events > fates:
        raise UsageError(
            "MAILFATE_RETENTION_EVENTS_DAYS cannot be longer than MAILFATE_RETENTION_FATES_DAYS: "
            "events go with their fates"
        )
    if fates is not None and fates < n["MAILFATE_SOFT_BOUNCE_WINDOW_DAYS"]:
        raise UsageError(
            "MAILFATE_RETENTION_FATES_DAYS must be at least MAILFATE_SOFT_BOUNCE_WINDOW_DAYS: the soft bounces "
            "that suppress an address must still be there"
        )
    return Retention(records, events, fates, every=n["MAILFATE_RETENTION_INTERVAL"])


_TOPIC_ARN = re.compile(r"arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}")
_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?")


def _api_tokens(raw: str, single: str | None) -> tuple[ApiToken, ...]:
    """MAILFATE_API_TOKENS, checked with MAILFATE_API_TOKEN beside it (it is the token named default)."""
    try:
        tokens = parse_tokens(raw)
        if single:
            check_distinct((ApiToken(DEFAULT_NAME, Scope.ADMIN, single), *tokens))
    except TokenListError as exc:
        named = single and DEFAULT_NAME in str(exc)
        hint = f" (MAILFATE_API_TOKEN is the token named {DEFAULT_NAME!r})" if named else ""
        raise UsageError(f"MAILFATE_API_TOKENS: {exc}{hint}") from None
    return tokens


def _allowed_hosts(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    hosts = frozenset(h.strip().lower() for h in raw.split(",") if h.strip())
    if "*" in hosts:
        return None
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise UsageError(f"MAILFATE_ALLOWED_HOSTS: {host!r} is not a host name, host:port or *")
    return hosts


def _urls(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    urls = tuple(dict.fromkeys(u.strip() for u in env.get(name, "").split(",") if u.strip()))
    for url in urls:
        _check_webhook_url(url, name)
    return urls


def _webhooks(env: Mapping[str, str], n: dict[str, float]) -> WebhookConfig | None:
    urls = _urls(env, "MAILFATE_WEBHOOK_URL")
    alert_urls = _urls(env, "MAILFATE_ALERT_URL")
    if not urls and not alert_urls:
        return None
    if set(urls) & set(alert_urls):  # one outbox per URL: it gets the signed feed or the chat text
        raise UsageError("a URL cannot be both in MAILFATE_WEBHOOK_URL and in MAILFATE_ALERT_URL")
    secret = env.get("MAILFATE_WEBHOOK_SECRET", "")
    if urls and len(secret) < 16:
        # Unsigned or weakly signed changes would let anyone who finds the URL fake a suppression.
        raise UsageError("MAILFATE_WEBHOOK_URL needs MAILFATE_WEBHOOK_SECRET, at least 16 characters")
    return WebhookConfig(
        urls=urls,
        secret=secret,
        alert_urls=alert_urls,
        timeout=n["MAILFATE_WEBHOOK_TIMEOUT"],
        retry_for=timedelta(hours=n["MAILFATE_WEBHOOK_RETRY_HOURS"]),
        backoff=n["MAILFATE_WEBHOOK_BACKOFF"],
        max_backoff=n["MAILFATE_WEBHOOK_MAX_BACKOFF"],
    )


def _check_webhook_url(url: str, name: str = "MAILFATE_WEBHOOK_URL") -> None:
    shown = shown_url(url)  # its path, query and user part may be its secret
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"{name} {shown!r} must start with https:// or http://")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError when the port is not a number in range
    except ValueError as exc:
        raise UsageError(f"{name} {shown!r} is not a valid URL: {exc}") from exc
    if not parts.hostname or any(c.isspace() for c in url):
        raise UsageError(f"{name} {shown!r} is not a valid URL")


def _mx(env: Mapping[str, str]) -> tuple[tuple[str, int] | None] | None:
    switch = env.get("MAILFATE_MX_LOOKUP", "off").strip().lower()
    if switch not in ("on", "off"):
        raise UsageError(f"MAILFATE_MX_LOOKUP must be on or off, not {switch!r}")
    raw = env.get("MAILFATE_MX_NAMESERVER", "").strip()
    server = None
    if raw:
        if raw.startswith("["):  # [IPv6]:port
            host, _, rest = raw[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif raw.count(":") == 1:
            host, port = raw.split(":")
        else:
            host, port = raw, "53"
        try:
            ipaddress.ip_address(host)
            number = int(port)
        except ValueError:
            raise UsageError(
                f"MAILFATE_MX_NAMESERVER must be an IP address, optionally with :port, not {raw!r}"
            ) from None
        if not 1 <= number <= 65535:
            raise UsageError(f"MAILFATE_MX_NAMESERVER: port {number} is not between 1 and 65535")
        server = (host, number)
    return (server,) if switch == "on" else None


def unknown_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """MAILFATE_* variables that mailfate does not read: most likely typos, worth a warning."""
    env = os.environ if env is None else env
    return sorted(k for k in env if k.startswith("MAILFATE_") and k not in SETTINGS and not _is_test_variable(k))


def _is_test_variable(name: str) -> bool:
    return name.startswith(("MAILFATE_TEST_", "MAILFATE_REQUIRE_"))


def _number(env: Mapping[str, str], name: str, spec: Number) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return spec.default
    kind = "a whole number" if spec.whole else "a number"
    try:
        value = float(int(raw)) if spec.whole else float(raw)
    except ValueError:
        raise UsageError(f"{name} must be {kind}, not {raw!r}") from None
    if not (math.isfinite(value) and spec.low <= value <= spec.high):
        raise UsageError(f"{name} must be between {_show(spec.low)} and {_show(spec.high)}, not {raw!r}")
    return value


def _show(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else f"{bound:g}"
