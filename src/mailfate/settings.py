"""Every setting mailfate reads, from the environment. docs/configuration.md lists the same names
(a test keeps the two in step)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from mailfate.core.suppression import Policy
from mailfate.errors import UsageError
from mailfate.outbound.webhooks import WebhookConfig
from mailfate.store.base import DEFAULT_URL
from mailfate.store.quarantine import QuarantineLimits

CONFIRM_MODES = ("url", "api", "off")

#: name -> one line of documentation. The single list of settings.
SETTINGS: dict[str, str] = {
    "MAILFATE_DB": f"Database URL; default {DEFAULT_URL}. postgresql://... selects PostgreSQL.",
    "MAILFATE_TOPIC_ARNS": "Comma-separated SNS topic ARNs accepted by POST /sns. Unset: every topic, no auto-confirm.",
    "MAILFATE_CONFIRM": "How a SubscriptionConfirmation is confirmed: url (GET SubscribeURL), api (boto3), off.",
    "MAILFATE_SNS_CERTS_DIR": "Folder of pinned SNS certificates, named like the SigningCertURL file name.",
    "MAILFATE_BASIC_AUTH": "user:password required on POST /sns (put them in the subscription URL).",
    "MAILFATE_API_TOKEN": "Bearer token required on /api/*; serve refuses non-loopback addresses without it.",
    "MAILFATE_CERT_CACHE_SIZE": "Signing certificates kept in memory; default 32.",
    "MAILFATE_CERT_CACHE_TTL": "Seconds a cached signing certificate is reused before loading it again; default 86400.",
    "MAILFATE_LOG_LEVEL": "Log level of the server: DEBUG, INFO (default), WARNING, ERROR.",
    "MAILFATE_SOFT_BOUNCE_COUNT": "Soft-bounced messages, no delivery between, that suppress an address; default 3.",
    "MAILFATE_SOFT_BOUNCE_WINDOW_DAYS": "Days within which those soft bounces must fall; default 30.",
    "MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS": "Days after the last soft bounce that such a suppression ends; default 30.",
    "MAILFATE_WEBHOOK_URL": "URLs (comma-separated) that receive every change of the feed as a signed POST.",
    "MAILFATE_WEBHOOK_SECRET": "Key of the HMAC-SHA256 signature of outbound webhooks; required with a URL.",
    "MAILFATE_WEBHOOK_TIMEOUT": "Seconds a webhook receiver has to answer; default 10.",
    "MAILFATE_WEBHOOK_RETRY_HOURS": "Hours a change is retried after its first failed delivery; default 24.",
    "MAILFATE_WEBHOOK_BACKOFF": "Seconds before the first retry, doubling after each failure, with jitter; default 10.",
    "MAILFATE_WEBHOOK_MAX_BACKOFF": "Longest wait between two attempts, in seconds; default 3600.",
    "MAILFATE_QUARANTINE_MAX_MB": "Quarantine size budget in MiB; past it the oldest unsigned junk goes first; 256.",
    "MAILFATE_QUARANTINE_RETENTION_DAYS": "Days the server keeps a quarantined record; default 30.",
}


@dataclass(frozen=True, slots=True)
class Settings:
    db: str | None = None
    topic_arns: frozenset[str] | None = None
    confirm: str = "url"
    sns_certs_dir: Path | None = None
    basic_auth: tuple[str, str] | None = None
    api_token: str | None = None
    cert_cache_size: int = 32
    cert_cache_ttl: float = 86400.0
    log_level: str = "INFO"
    policy: Policy = field(default_factory=Policy)
    webhooks: WebhookConfig | None = None
    quarantine: QuarantineLimits = field(default_factory=QuarantineLimits)

    @property
    def database_url(self) -> str:
        """``MAILFATE_DB``, else the SQLite file in the working folder."""
        return self.db or DEFAULT_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        topics = [t.strip() for t in env.get("MAILFATE_TOPIC_ARNS", "").split(",") if t.strip()]
        confirm = env.get("MAILFATE_CONFIRM", "url").strip().lower()
        if confirm not in CONFIRM_MODES:
            raise UsageError(f"MAILFATE_CONFIRM must be one of {', '.join(CONFIRM_MODES)}, not {confirm!r}")
        certs_dir = env.get("MAILFATE_SNS_CERTS_DIR")
        if certs_dir and not Path(certs_dir).is_dir():
            raise UsageError(f"MAILFATE_SNS_CERTS_DIR {certs_dir!r} is not a folder")
        basic = env.get("MAILFATE_BASIC_AUTH")
        if basic is not None and (":" not in basic or basic.startswith(":")):
            raise UsageError("MAILFATE_BASIC_AUTH must be user:password")
        return cls(
            db=env.get("MAILFATE_DB") or None,
            topic_arns=frozenset(topics) if topics else None,
            confirm=confirm,
            sns_certs_dir=Path(certs_dir) if certs_dir else None,
            basic_auth=tuple(basic.split(":", 1)) if basic else None,  # type: ignore[arg-type]
            api_token=env.get("MAILFATE_API_TOKEN") or None,
            cert_cache_size=_number(env, "MAILFATE_CERT_CACHE_SIZE", 32, int),
            cert_cache_ttl=_number(env, "MAILFATE_CERT_CACHE_TTL", 86400.0, float),
            log_level=env.get("MAILFATE_LOG_LEVEL", "INFO").upper(),
            policy=Policy(
                soft_bounce_count=_number(env, "MAILFATE_SOFT_BOUNCE_COUNT", 3, int),
                soft_bounce_window=timedelta(days=_number(env, "MAILFATE_SOFT_BOUNCE_WINDOW_DAYS", 30.0, float)),
                soft_bounce_expiry=timedelta(days=_number(env, "MAILFATE_SOFT_BOUNCE_EXPIRY_DAYS", 30.0, float)),
            ),
            webhooks=_webhooks(env),
            quarantine=QuarantineLimits(
                max_bytes=int(_number(env, "MAILFATE_QUARANTINE_MAX_MB", 256.0, float) * 1024 * 1024),
                retention_days=_number(env, "MAILFATE_QUARANTINE_RETENTION_DAYS", 30.0, float),
            ),
        )


def _webhooks(env: Mapping[str, str]) -> WebhookConfig | None:
    urls = tuple(dict.fromkeys(u.strip() for u in env.get("MAILFATE_WEBHOOK_URL", "").split(",") if u.strip()))
    if not urls:
        return None
    for url in urls:
        if not url.startswith(("https://", "http://")):
            raise UsageError(f"MAILFATE_WEBHOOK_URL {url!r} must start with https:// or http://")
    secret = env.get("MAILFATE_WEBHOOK_SECRET", "")
    if len(secret) < 16:
        # Unsigned or weakly signed changes would let anyone who finds the URL fake a suppression.
        raise UsageError("MAILFATE_WEBHOOK_URL needs MAILFATE_WEBHOOK_SECRET, at least 16 characters")
    return WebhookConfig(
        urls=urls,
        secret=secret,
        timeout=_number(env, "MAILFATE_WEBHOOK_TIMEOUT", 10.0, float),
        retry_for=timedelta(hours=_number(env, "MAILFATE_WEBHOOK_RETRY_HOURS", 24.0, float)),
        backoff=_number(env, "MAILFATE_WEBHOOK_BACKOFF", 10.0, float),
        max_backoff=_number(env, "MAILFATE_WEBHOOK_MAX_BACKOFF", 3600.0, float),
    )


def unknown_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """MAILFATE_* variables that mailfate does not read: most likely typos, worth a warning."""
    env = os.environ if env is None else env
    return sorted(k for k in env if k.startswith("MAILFATE_") and k not in SETTINGS and not _is_test_variable(k))


def _is_test_variable(name: str) -> bool:
    return name.startswith(("MAILFATE_TEST_", "MAILFATE_REQUIRE_"))


T = TypeVar("T", int, float)


def _number(env: Mapping[str, str], name: str, default: T, cast: type[T]) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise UsageError(f"{name} must be a number, not {raw!r}") from exc
    if value <= 0:
        raise UsageError(f"{name} must be positive")
    return value
