"""Deployment settings, read once per container from the function's environment.

A frozen dataclass checked by hand rather than a pydantic model: these variables are read by every
function, the background ones included (health, secrets cleanup), which do not import pydantic at all;
importing it for the settings alone would cost each of them ~60 ms of its cold start (make bench, "Cold
start").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

_SECRET_PREFIX = re.compile(r"[A-Za-z0-9/_+=.@-]+/")
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})
MIN_RECOVERY_DAYS = 7
MAX_RECOVERY_DAYS = 30
DEFAULT_CHECK_DEADLINE = 20.0
MAX_CHECK_DEADLINE = 25.0  # API Gateway gives up at 29 s
DEFAULT_CHECKS_PER_MINUTE = 10
MAX_CHECKS_PER_MINUTE = 100_000
DEFAULT_BACKOFF = (300, 900, 3600, 21600, 86400)  # 5 min, 15 min, 1 h, 6 h, then daily
MAX_INTERVAL_HOURS = 24 * 365
# Per-account quotas (smtphub.accounts.quotas): (default, lowest, highest). 0 refuses every new one.
APPS_PER_ACCOUNT = (50, 0, 100_000)
SMTPS_PER_APP = (20, 0, 100_000)
SMTPS_PER_ACCOUNT = (200, 0, 1_000_000)
MAX_PROBES_PER_DAY = 100_000_000
SEND_MAX_AGE_HOURS = (24, 1, 720)  # (default, lowest, highest): a failing e-mail is retried this long
MONTHLY_EMAILS = (10_000, 0, 100_000_000)  # upstream's free tier; 0: no limit
CONTENT_MAX_AGE_DAYS = (400, 33, 3650)  # the template's ContentMaxAgeDays
# Webhooks (smtphub.webhooks.sender): the waits between a delivery's attempts; the last one repeats.
DEFAULT_WEBHOOK_BACKOFF = (60, 300, 900, 1800, 3600, 7200, 14400, 21600)  # 1 min ... 6 h
MAX_WEBHOOK_WAIT = 43_200


class SettingsError(ValueError):
    """An environment variable is missing or invalid; the message names every one."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What `template.yaml` passes to every function as environment variables."""

    apps_table: str  # APPS_TABLE
    smtps_table: str  # SMTPS_TABLE
    # Every SMTP password lives in the secret named secret_prefix + SMTP id (IAM is scoped to the prefix).
    secret_prefix: str  # SECRET_PREFIX
    stage: str = "api"  # STAGE
    # Check: allow SMTP hosts that resolve to non-global addresses (on in the local runtime only).
    allow_private_addresses: bool = False  # ALLOW_PRIVATE_ADDRESSES
    # Days a deleted password stays recoverable in Secrets Manager before AWS purges it (7-30).
    secret_recovery_days: int = MIN_RECOVERY_DAYS  # SECRET_RECOVERY_DAYS
    # Check: the whole check, AWS reads included, ends within this many seconds.
    check_deadline_seconds: float = DEFAULT_CHECK_DEADLINE  # CHECK_DEADLINE_SECONDS
    # Accounts: token revocation times and per-account counters (logout, the authorizer, check limits).
    accounts_table: str = ""  # ACCOUNTS_TABLE (required by the functions that use it)
    # Check: at most this many checks per account and minute, counted across every Lambda instance.
    checks_per_minute: int = DEFAULT_CHECKS_PER_MINUTE  # CHECKS_PER_MINUTE
    # Check, XOAUTH2: the providers' token URLs replaced (provider, https URL); set by the local runtime and
    # the tests only, never by the template. "microsoft=https://.../{tenant}/...,google=https://..."
    oauth_endpoint_overrides: tuple[tuple[str, str], ...] = ()  # OAUTH_ENDPOINT_OVERRIDES
    # Health (smtphub.health): each check's result, kept 30 days, the last 50 per server.
    history_table: str = ""  # HISTORY_TABLE (required by the functions that record or read results)
    # Active servers are probed every this many hours, spread over the interval; 0: never.
    health_interval_hours: int = 24  # HEALTH_INTERVAL_HOURS
    # The waits before re-probing a failing server: the n-th consecutive failure waits the n-th step.
    health_backoff_seconds: tuple[int, ...] = DEFAULT_BACKOFF  # HEALTH_BACKOFF_SECONDS
    # Consecutive failed scheduled probes that disable a server (a manual check's failure always does).
    disable_after: int = 3  # DISABLE_AFTER
    health_queue_url: str = ""  # HEALTH_QUEUE_URL: where the sweep sends the servers due
    # Quotas, counted in the accounts table in the same transaction as what they count (0: none at all).
    apps_per_account: int = APPS_PER_ACCOUNT[0]  # APPS_PER_ACCOUNT
    smtps_per_app: int = SMTPS_PER_APP[0]  # SMTPS_PER_APP
    smtps_per_account: int = SMTPS_PER_ACCOUNT[0]  # SMTPS_PER_ACCOUNT
    # Scheduled probes of one account per UTC day; beyond, a server waits for the next day. Unset or 0:
    # derived from the quota and the interval (`probe_budget`).
    probes_per_account_day: int = 0  # PROBES_PER_ACCOUNT_DAY
    # Sending (smtphub.emails): the e-mails' table, log and content, the send queue, the apps' pacing state,
    # the Idempotency-Key records. Each is required by the functions that use it (smtphub.wiring says so).
    emails_table: str = ""  # EMAILS_TABLE
    email_logs_table: str = ""  # EMAIL_LOGS_TABLE
    emails_bucket: str = ""  # EMAILS_BUCKET
    send_queue_url: str = ""  # SEND_QUEUE_URL
    send_state_table: str = ""  # SEND_STATE_TABLE
    # The sender (smtphub.sending): an e-mail whose every server keeps faulting is retried, with backoff,
    # for this many hours after it was due, then fails (E).
    send_max_age_hours: int = SEND_MAX_AGE_HOURS[0]  # SEND_MAX_AGE_HOURS
    idempotency_table: str = ""  # IDEMPOTENCY_TABLE
    # E-mails (recipients) one account may send per calendar month (UTC); 0: no limit.
    monthly_email_limit: int = MONTHLY_EMAILS[0]  # MONTHLY_EMAIL_LIMIT
    # emails/send's DNS checks (the sender's domain exists, replyto's has MX); off where there may be no
    # resolver (make run, the tests), on when deployed.
    dns_checks: bool = True  # DNS_CHECKS
    # The name servers those checks ask ("host:port", comma-separated); empty: the system's (resolv.conf).
    # Set by the tests only (a DNS responder on 127.0.0.1).
    dns_nameservers: tuple[tuple[str, int], ...] = ()  # DNS_NAMESERVERS
    # Days the content bucket keeps an object at most: bounds how far ahead `senddate` may be.
    content_max_age_days: int = CONTENT_MAX_AGE_DAYS[0]  # CONTENT_MAX_AGE_DAYS
    # Webhooks (smtphub.webhooks): each app's webhook secret is the secret named this prefix + app id.
    webhook_secret_prefix: str = ""  # WEBHOOK_SECRET_PREFIX (required by what reads or writes one)
    webhook_queue_url: str = ""  # WEBHOOK_QUEUE_URL: deliveries to POST (and their retries)
    webhook_dead_letter_queue_url: str = ""  # WEBHOOK_DEAD_LETTER_QUEUE_URL: deliveries given up on
    webhook_backoff_seconds: tuple[int, ...] = DEFAULT_WEBHOOK_BACKOFF  # WEBHOOK_BACKOFF_SECONDS
    # Blacklists (smtphub.blacklists): each app's listed addresses.
    blacklist_table: str = ""  # BLACKLIST_TABLE (required by the functions that use it)
    # Tracking (smtphub.tracking): opens and clicks, the e-mails they belong to, the key of their tokens.
    tracking_table: str = ""  # TRACKING_TABLE
    tracking_key_secret: str = ""  # TRACKING_KEY_SECRET: the secret's ARN
    # Where the links of tracked and unsubscribable e-mails point (the stack's PublicBaseUrl; the sender's).
    public_base_url: str = ""  # PUBLIC_BASE_URL

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        errors: dict[str, str] = {}
        values: dict[str, str] = {}
        for name in ("APPS_TABLE", "SMTPS_TABLE", "SECRET_PREFIX"):
            values[name] = environ.get(name, "")
            if not values[name]:
                errors[name] = "is required"
        prefix = values["SECRET_PREFIX"]
        if prefix and not _SECRET_PREFIX.fullmatch(prefix):
            problem = "must be letters, digits or /_+=.@- and end with /"  # a message, not a secret
            errors["SECRET_PREFIX"] = problem
        flag = environ.get("ALLOW_PRIVATE_ADDRESSES", "false").strip().lower()
        if flag not in _TRUE | _FALSE:
            errors["ALLOW_PRIVATE_ADDRESSES"] = "must be true or false"
        days_text = environ.get("SECRET_RECOVERY_DAYS", str(MIN_RECOVERY_DAYS)).strip()
        days = int(days_text) if days_text.isascii() and days_text.isdigit() else 0
        if not MIN_RECOVERY_DAYS <= days <= MAX_RECOVERY_DAYS:
            errors["SECRET_RECOVERY_DAYS"] = f"must be from {MIN_RECOVERY_DAYS} to {MAX_RECOVERY_DAYS}"
        deadline_text = environ.get("CHECK_DEADLINE_SECONDS", str(DEFAULT_CHECK_DEADLINE)).strip()
        try:
            deadline = float(deadline_text)
        except ValueError:
            deadline = 0.0
        if not 0 < deadline <= MAX_CHECK_DEADLINE:
            errors["CHECK_DEADLINE_SECONDS"] = f"must be seconds above 0, at most {MAX_CHECK_DEADLINE:g}"
        checks_text = environ.get("CHECKS_PER_MINUTE", str(DEFAULT_CHECKS_PER_MINUTE)).strip()
        checks = int(checks_text) if checks_text.isascii() and checks_text.isdigit() else 0
        if not 1 <= checks <= MAX_CHECKS_PER_MINUTE:
            errors["CHECKS_PER_MINUTE"] = f"must be from 1 to {MAX_CHECKS_PER_MINUTE}"
        overrides = _overrides(environ.get("OAUTH_ENDPOINT_OVERRIDES", ""), errors)
        health = _health(environ, errors)
        quotas = _quotas(environ, errors)
        sending = _sending(environ, errors)
        webhooks = _webhooks(environ, errors)
        if errors:
            raise SettingsError("; ".join(f"{name} {problem}" for name, problem in sorted(errors.items())))
        return cls(
            apps_table=values["APPS_TABLE"],
            smtps_table=values["SMTPS_TABLE"],
            secret_prefix=prefix,
            stage=environ.get("STAGE", "api"),
            allow_private_addresses=flag in _TRUE,
            secret_recovery_days=days,
            check_deadline_seconds=deadline,
            accounts_table=environ.get("ACCOUNTS_TABLE", ""),
            checks_per_minute=checks,
            oauth_endpoint_overrides=overrides,
            history_table=environ.get("HISTORY_TABLE", ""),
            health_queue_url=environ.get("HEALTH_QUEUE_URL", ""),
            blacklist_table=environ.get("BLACKLIST_TABLE", ""),
            tracking_table=environ.get("TRACKING_TABLE", ""),
            tracking_key_secret=environ.get("TRACKING_KEY_SECRET", ""),
            public_base_url=environ.get("PUBLIC_BASE_URL", "").strip(),
            **health,
            **quotas,
            **sending,
            **webhooks,
        )

    @property
    def probe_budget(self) -> int:
        """Scheduled probes one account may have a day: PROBES_PER_ACCOUNT_DAY, else, derived, every server
        the account may have probed as often as the interval asks in a day, plus once more (the retries of
        those that fail: 5 min, 15 min, 1 h, 6 h by default). 400 with the defaults (200 servers, 24 h)."""
        if self.probes_per_account_day:
            return self.probes_per_account_day
        interval = self.health_interval_hours
        per_server = -(-24 // interval) if interval else 0  # ceil(24 / interval)
        return max(1, self.smtps_per_account * (per_server + 1))


def _number(
    environ: Mapping[str, str], name: str, bounds: tuple[int, int, int], errors: dict[str, str]
) -> int:
    """`name` as an integer from `low` to `high` (`default` when unset); bounds = (default, low, high)."""
    default, low, high = bounds
    text = environ.get(name, str(default)).strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1
    if not low <= value <= high:
        errors[name] = f"must be an integer from {low} to {high}"
    return value


def _health(environ: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """HEALTH_INTERVAL_HOURS (0-8760), HEALTH_BACKOFF_SECONDS (positive seconds, comma-separated),
    DISABLE_AFTER (1-100)."""
    interval = _number(environ, "HEALTH_INTERVAL_HOURS", (24, 0, MAX_INTERVAL_HOURS), errors)
    disable_after = _number(environ, "DISABLE_AFTER", (3, 1, 100), errors)
    raw = environ.get("HEALTH_BACKOFF_SECONDS", ",".join(map(str, DEFAULT_BACKOFF)))
    steps = [part.strip() for part in raw.split(",")]
    if not all(step.isascii() and step.isdigit() and 0 < int(step) < 10**7 for step in steps):
        errors["HEALTH_BACKOFF_SECONDS"] = "must be positive whole seconds, comma-separated (300,900,3600)"
        steps = []
    return {
        "health_interval_hours": interval,
        "health_backoff_seconds": tuple(int(step) for step in steps),
        "disable_after": disable_after,
    }


def _quotas(environ: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """APPS_PER_ACCOUNT, SMTPS_PER_APP, SMTPS_PER_ACCOUNT, PROBES_PER_ACCOUNT_DAY (0: derived)."""
    return {
        "apps_per_account": _number(environ, "APPS_PER_ACCOUNT", APPS_PER_ACCOUNT, errors),
        "smtps_per_app": _number(environ, "SMTPS_PER_APP", SMTPS_PER_APP, errors),
        "smtps_per_account": _number(environ, "SMTPS_PER_ACCOUNT", SMTPS_PER_ACCOUNT, errors),
        "probes_per_account_day": _number(
            environ, "PROBES_PER_ACCOUNT_DAY", (0, 0, MAX_PROBES_PER_DAY), errors
        ),
    }


def _sending(environ: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The e-mails' resources (names, as given), MONTHLY_EMAIL_LIMIT, DNS_CHECKS, DNS_NAMESERVERS,
    CONTENT_MAX_AGE_DAYS, SEND_MAX_AGE_HOURS."""
    names = {
        "emails_table": "EMAILS_TABLE",
        "email_logs_table": "EMAIL_LOGS_TABLE",
        "emails_bucket": "EMAILS_BUCKET",
        "send_queue_url": "SEND_QUEUE_URL",
        "send_state_table": "SEND_STATE_TABLE",
        "idempotency_table": "IDEMPOTENCY_TABLE",
    }
    found: dict[str, Any] = {field: environ.get(variable, "") for field, variable in names.items()}
    flag = environ.get("DNS_CHECKS", "true").strip().lower()
    if flag not in _TRUE | _FALSE:
        errors["DNS_CHECKS"] = "must be true or false"
    servers: list[tuple[str, int]] = []
    for entry in filter(None, (part.strip() for part in environ.get("DNS_NAMESERVERS", "").split(","))):
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "53")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            errors["DNS_NAMESERVERS"] = "must be host:port pairs, comma-separated"
            break
        servers.append((host, int(port)))
    return found | {
        "monthly_email_limit": _number(environ, "MONTHLY_EMAIL_LIMIT", MONTHLY_EMAILS, errors),
        "dns_checks": flag in _TRUE,
        "dns_nameservers": tuple(servers),
        "content_max_age_days": _number(environ, "CONTENT_MAX_AGE_DAYS", CONTENT_MAX_AGE_DAYS, errors),
        "send_max_age_hours": _number(environ, "SEND_MAX_AGE_HOURS", SEND_MAX_AGE_HOURS, errors),
    }


def _webhooks(environ: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """WEBHOOK_SECRET_PREFIX (as SECRET_PREFIX), the queues, WEBHOOK_BACKOFF_SECONDS (seconds, at most 12 h
    each, comma-separated)."""
    prefix = environ.get("WEBHOOK_SECRET_PREFIX", "")
    if prefix and not _SECRET_PREFIX.fullmatch(prefix):
        problem = "must be letters, digits or /_+=.@- and end with /"  # a message, not a secret
        errors["WEBHOOK_SECRET_PREFIX"] = problem
    raw = environ.get("WEBHOOK_BACKOFF_SECONDS", "").strip() or ",".join(map(str, DEFAULT_WEBHOOK_BACKOFF))
    steps = [part.strip() for part in raw.split(",")]
    if not all(step.isascii() and step.isdigit() and 0 < int(step) <= MAX_WEBHOOK_WAIT for step in steps):
        errors["WEBHOOK_BACKOFF_SECONDS"] = f"must be seconds from 1 to {MAX_WEBHOOK_WAIT}, comma-separated"
        steps = []
    return {
        "webhook_secret_prefix": prefix,
        "webhook_queue_url": environ.get("WEBHOOK_QUEUE_URL", ""),
        "webhook_dead_letter_queue_url": environ.get("WEBHOOK_DEAD_LETTER_QUEUE_URL", ""),
        "webhook_backoff_seconds": tuple(int(step) for step in steps),
    }


def _overrides(raw: str, errors: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """`provider=https-url` pairs, comma-separated, each provider once (microsoft, google)."""
    pairs: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        provider, _, url = (text.strip() for text in entry.partition("="))
        if provider not in ("microsoft", "google") or provider in pairs or not url.startswith("https://"):
            errors["OAUTH_ENDPOINT_OVERRIDES"] = "must be provider=https://... pairs (microsoft, google)"
            return ()
        pairs[provider] = url
    return tuple(sorted(pairs.items()))


# Every variable Settings reads: the cache is keyed on their values, so that functions sharing one process
# with different environments (the local runtime) each get their own settings.
_VARIABLES = (
    "APPS_TABLE", "SMTPS_TABLE", "SECRET_PREFIX", "STAGE", "ALLOW_PRIVATE_ADDRESSES", "SECRET_RECOVERY_DAYS",
    "CHECK_DEADLINE_SECONDS", "ACCOUNTS_TABLE", "CHECKS_PER_MINUTE", "OAUTH_ENDPOINT_OVERRIDES",
    "HISTORY_TABLE", "HEALTH_INTERVAL_HOURS", "HEALTH_BACKOFF_SECONDS", "DISABLE_AFTER", "HEALTH_QUEUE_URL",
    "APPS_PER_ACCOUNT", "SMTPS_PER_APP", "SMTPS_PER_ACCOUNT", "PROBES_PER_ACCOUNT_DAY",
    "EMAILS_TABLE", "EMAIL_LOGS_TABLE", "EMAILS_BUCKET", "SEND_QUEUE_URL", "SEND_STATE_TABLE",
    "SEND_MAX_AGE_HOURS",
    "IDEMPOTENCY_TABLE", "MONTHLY_EMAIL_LIMIT", "DNS_CHECKS", "DNS_NAMESERVERS", "CONTENT_MAX_AGE_DAYS",
    "WEBHOOK_SECRET_PREFIX", "WEBHOOK_QUEUE_URL", "WEBHOOK_DEAD_LETTER_QUEUE_URL", "WEBHOOK_BACKOFF_SECONDS",
    "BLACKLIST_TABLE", "TRACKING_TABLE", "TRACKING_KEY_SECRET", "PUBLIC_BASE_URL",
)  # fmt: skip


def get_settings() -> Settings:
    """The settings of the environment as it is now (read once per distinct environment)."""
    return _settings_of(tuple(os.environ.get(name) for name in _VARIABLES))


@cache
def _settings_of(values: tuple[str | None, ...]) -> Settings:
    return Settings.from_environ({k: v for k, v in zip(_VARIABLES, values, strict=True) if v is not None})


def forget_settings() -> None:
    """Drop every settings read so far (tests, through wiring.reset)."""
    _settings_of.cache_clear()
