"""Deployment settings, read once per container from the function's environment.

A frozen dataclass checked by hand rather than a pydantic model: these few variables are read by every
function, and importing pydantic for them alone cost every function ~40 ms of its cold start
(make bench, "Cold start"), which is why the layer does not ship pydantic at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

_SECRET_PREFIX = re.compile(r"[A-Za-z0-9/_+=.@-]+/")
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})
MIN_RECOVERY_DAYS = 7
MAX_RECOVERY_DAYS = 30
DEFAULT_CHECK_DEADLINE = 20.0
MAX_CHECK_DEADLINE = 25.0  # API Gateway gives up at 29 s
DEFAULT_CHECKS_PER_MINUTE = 10
MAX_CHECKS_PER_MINUTE = 100_000


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
        )


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
