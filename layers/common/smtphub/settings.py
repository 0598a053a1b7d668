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
    # Blacklists (smtphub.blacklists): each app's listed addresses.
    blacklist_table: str = ""  # BLACKLIST_TABLE (required by the functions that use it)
    # Tracking (smtphub.tracking): opens and clicks, the e-mails they belong to, the key of their tokens.
    tracking_table: str = ""  # TRACKING_TABLE
    emails_table: str = ""  # EMAILS_TABLE
    tracking_key_secret: str = ""  # TRACKING_KEY_SECRET: the secret's ARN

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
            emails_table=environ.get("EMAILS_TABLE", ""),
            tracking_key_secret=environ.get("TRACKING_KEY_SECRET", ""),
            **health,
            **quotas,
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
    "APPS_PER_ACCOUNT", "SMTPS_PER_APP", "SMTPS_PER_ACCOUNT", "PROBES_PER_ACCOUNT_DAY", "BLACKLIST_TABLE",
    "TRACKING_TABLE", "EMAILS_TABLE", "TRACKING_KEY_SECRET",
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
