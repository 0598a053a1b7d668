"""An SMTP server, the commands on it, and the rules across its fields.

The password is never a field: it lives in Secrets Manager, and the server only records which version of
its secret belongs to it (`secret_version`), so that a check reads exactly that one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

STATUS_ACTIVE = "A"
STATUS_DISABLED = "D"
DEFAULT_PRIORITY = 10
PRIORITY_DIGITS = 7  # priorities go up to 1,000,000

REQUIRED_WITH_AUTH = "is required when auth is true"
BOTH_TLS = "cannot be true together with starttls"
# A message, not a password.
PASSWORD_AGAIN = "must be given again when the server's address, user or encryption changes"  # noqa: S105  # nosec B105
# Changing any of these sends the stored password somewhere else: the password must come with the change.
BOUND_TO_PASSWORD = ("host", "port", "username", "auth")


class SmtpFields(TypedDict, total=False):
    """What an account sets on a server (smtps/save); on an edit, only what is given changes."""

    app_id: str
    priority: int
    host: str
    port: int
    username: str
    auth: bool
    starttls: bool
    ssltls: bool
    debug: bool
    insecureauth: bool
    defaultfromemail: str
    defaultfromname: str


@dataclass(frozen=True, slots=True)
class Smtp:
    id: str
    app_id: str
    account_id: str
    host: str
    port: int
    created: str
    modified: str
    priority: int = DEFAULT_PRIORITY
    username: str | None = None
    auth: bool = False
    starttls: bool = False
    ssltls: bool = False
    debug: bool = False
    insecureauth: bool = False  # check may send AUTH over a connection that is not encrypted
    defaultfromemail: str | None = None
    defaultfromname: str | None = None
    numerrors: int = 0
    status: str = STATUS_ACTIVE
    lastcheck: Mapping[str, Any] | None = None
    version: int = 1
    secret_version: str | None = None  # the VersionId of the password that belongs to this record

    @property
    def has_password(self) -> bool:
        return self.secret_version is not None

    @property
    def encrypted(self) -> bool:
        return self.ssltls or self.starttls

    @property
    def rank(self) -> str:
        """The byApp index's sort key: priority (lower first), then creation time, then id."""
        return f"{self.priority:0{PRIORITY_DIGITS}d}#{self.created}#{self.id}"


@dataclass(frozen=True, slots=True)
class CreateSmtp:
    account_id: str
    fields: SmtpFields  # app_id, host and port among them
    password: str | None = None


@dataclass(frozen=True, slots=True)
class EditSmtp:
    account_id: str
    smtp_id: str
    changes: SmtpFields
    password: str | None = None


@dataclass(frozen=True, slots=True)
class SmtpRef:
    """One of the account's servers (findById, remove, check)."""

    account_id: str
    smtp_id: str


def settings_problems(
    *, auth: bool, username: str | None, has_password: bool, starttls: bool, ssltls: bool
) -> dict[str, str]:
    """The rules across a server's fields, on the values it will have once saved."""
    problems: dict[str, str] = {}
    if starttls and ssltls:
        problems["ssltls"] = BOTH_TLS
    if auth and not username:
        problems["username"] = REQUIRED_WITH_AUTH
    if auth and not has_password:
        problems["password"] = REQUIRED_WITH_AUTH
    return problems


def rebinding_problems(current: Smtp, edited: Smtp, *, password_given: bool) -> dict[str, str]:
    """A stored password goes only where it was given for: a new address, user, auth setting or weaker
    transport needs it sent again (Keycloak's rule for its SMTP settings)."""
    if password_given or not current.has_password:
        return {}
    moved = any(getattr(current, name) != getattr(edited, name) for name in BOUND_TO_PASSWORD)
    weaker = (current.encrypted and not edited.encrypted) or (
        edited.insecureauth and not current.insecureauth
    )
    return {"password": PASSWORD_AGAIN} if moved or weaker else {}
