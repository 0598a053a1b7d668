"""An SMTP server, the commands on it, and the rules across its fields.

The write-only values (`WRITE_ONLY`: the password and XOAUTH2's client secret, refresh token and service
account key) are never fields: they live in the server's Secrets Manager secret, and the record only says
which version of that secret holds each of them (`secret_version` and `secretfields`, see
`Smtp.secret_versions`), so that a check reads exactly those.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict

from smtphub.errors import InvalidInput
from smtphub.record import ACTIVE, Record

if TYPE_CHECKING:
    from smtphub.smtps.results import CheckResult

STATUS_ACTIVE = ACTIVE
STATUS_DISABLED = "D"
DEFAULT_PRIORITY = 10
PRIORITY_DIGITS = 7  # priorities go up to 1,000,000

AUTHMECHS = ("auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
OAUTH_PROVIDERS = ("microsoft", "google", "generic")
TLS_VERSIONS = ("1.2", "1.3")
XOAUTH2 = "XOAUTH2"
# The write-only values, by their parameter names: kept in the server's secret, never in its record.
WRITE_ONLY = ("password", "oauthclientsecret", "oauthrefreshtoken", "oauthserviceaccount")

REQUIRED_WITH_AUTH = "is required when auth is true"
REQUIRED_WITH_XOAUTH2 = "is required when authmech is XOAUTH2"
BOTH_TLS = "cannot be true together with starttls"
# Messages, not passwords.
PASSWORD_AGAIN = "must be given again when the server's address, user or encryption changes"  # noqa: S105  # nosec B105
OAUTH_AGAIN = (
    "must be given again when the server's address, user, encryption, mechanism or token endpoint changes"
)
# Changing any of these sends the stored password somewhere else: the password must come with the change.
BOUND_TO_PASSWORD = ("host", "port", "username", "auth")
# Where XOAUTH2's secrets go to get a token: changing any of these sends them to another token endpoint.
BOUND_TO_TOKEN = ("oauthprovider", "oauthtenant", "oauthclientid", "oauthtokenurl")


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
    authmech: str
    oauthprovider: str
    oauthtenant: str
    oauthclientid: str
    oauthtokenurl: str
    tlsverify: bool
    cacert: str
    tlsmin: str
    helo: str
    maxperminute: int | None  # None: no limit (smtphub.sending.state.Windows)
    maxperday: int | None


@dataclass(frozen=True, slots=True)
class Smtp(Record):
    """An SMTP server as stored: its settings, its health, and which secret versions hold its write-only
    values (never the values themselves)."""

    app_id: str
    host: str
    port: int
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
    lastcheck: CheckResult | None = None  # the last check's result (smtphub.smtps.results)
    authmech: str = "auto"  # auto: PLAIN, else LOGIN, else CRAM-MD5, as the server offers
    oauthprovider: str | None = None  # XOAUTH2: microsoft, google or generic
    oauthtenant: str | None = None  # microsoft: the tenant's id or domain
    oauthclientid: str | None = None
    oauthtokenurl: str | None = None  # generic: the token endpoint (https)
    tlsverify: bool = True  # false: the certificate is not verified (every lastcheck says so)
    cacert: str | None = None  # PEM: the CAs its certificate must chain to, instead of the public ones
    tlsmin: str = "1.2"
    helo: str | None = None  # the EHLO name; the sender's domain when None
    # The VersionId of the secret version the last write of a write-only value made (AWSCURRENT once adopted).
    secret_version: str | None = None
    # Which write-only values the record has, each with the version that holds it ("": `secret_version`).
    # None on records written before there was more than the password: their secret holds the password.
    secretfields: Mapping[str, str] | None = None
    # Health (smtphub.health): when the schedule probes it next (epoch seconds; None: not scheduled), and
    # how many check results it has recorded (the history's sequence).
    nextcheck: int | None = None
    checks: int = 0
    # Sending (smtphub.sending): at most this many messages through the server per minute and per UTC day
    # (None: no limit), and its fault state, shared by every sender (smtphub.smtps.faults): consecutive
    # sending faults, and until when (epoch seconds) senders pass it over.
    maxperminute: int | None = None
    maxperday: int | None = None
    faults: int = 0
    cooldown: int | None = None

    @property
    def secret_versions(self) -> dict[str, str]:
        """Each write-only value the server has, with the secret version that holds it."""
        if self.secret_version is None:
            return {}
        if self.secretfields is None:
            return {"password": self.secret_version}
        return {name: version or self.secret_version for name, version in self.secretfields.items()}

    @property
    def has_secret(self) -> bool:
        """Whether the server's secret has a version this record names (else it may not exist at all)."""
        return self.secret_version is not None

    @property
    def encrypted(self) -> bool:
        return self.ssltls or self.starttls

    @property
    def rank(self) -> str:
        """The byApp index's sort key: priority (lower first), then creation time, then id."""
        return f"{self.priority:0{PRIORITY_DIGITS}d}#{self.created}#{self.id}"


@dataclass(frozen=True, slots=True)
class SmtpRef:
    """One of the account's servers (findById, remove, check)."""

    account_id: str
    smtp_id: str


class _SendsSecrets:
    """A write that sends write-only values (`secrets`, by name): its password among them, if any."""

    __slots__ = ()
    secrets: Mapping[str, str]

    @property
    def password(self) -> str | None:
        return self.secrets.get("password")


@dataclass(frozen=True, slots=True)
class CreateSmtp(_SendsSecrets):
    """smtps/save without `idsmtp`: a new server of the account, in the app `fields` names."""

    account_id: str
    fields: SmtpFields  # app_id, host and port among them
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # write-only values, by name
    verify: bool = False  # store only if a probe of the server passes


@dataclass(frozen=True, slots=True)
class EditSmtp(_SendsSecrets):
    """smtps/save with `idsmtp`: what changes on one of the account's servers (only what was given)."""

    account_id: str
    smtp_id: str
    changes: SmtpFields
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # the write-only values sent
    verify: bool = False  # store only if a probe of the server as edited passes


@dataclass(frozen=True, slots=True)
class CheckSmtp:
    """smtps/check: the stored server `smtp_id` as it is (`fields` None), or settings tried without storing
    anything: a new server's (`smtp_id` None: `fields` has app_id, host and port), or the stored server's
    with `fields` changed (its stored write-only values reused where the binding rule allows)."""

    account_id: str
    smtp_id: str | None
    mode: str = "send"
    fields: SmtpFields | None = None
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # write-only values sent


def apply_edit(current: Smtp, changes: SmtpFields, sent: Collection[str]) -> tuple[Smtp, dict[str, Any]]:
    """`current` with the `changes` that differ from it, and those; InvalidInput naming every rule the
    result breaks (its settings, and where its stored secrets would go without being `sent` again)."""
    changed = {name: value for name, value in changes.items() if value != getattr(current, name)}
    edited = replace(current, **changed)  # type: ignore[arg-type]
    problems = settings_problems(edited, set(current.secret_versions) | set(sent))
    problems = {**rebinding_problems(current, edited, given=set(sent)), **problems}
    if problems:
        raise InvalidInput(problems)
    return edited, changed


def settings_problems(smtp: Any, secrets: Collection[str]) -> dict[str, str]:
    """The rules across a server's fields, on the values it will have once saved (`smtp`: a Smtp, or any
    object with its attributes) and the write-only values it will have (`secrets`, by name)."""
    problems: dict[str, str] = {}
    if smtp.starttls and smtp.ssltls:
        problems["ssltls"] = BOTH_TLS
    if smtp.auth and not smtp.username:
        problems["username"] = REQUIRED_WITH_AUTH
    if not smtp.auth:
        return problems
    if smtp.authmech != XOAUTH2:
        if "password" not in secrets:
            problems["password"] = REQUIRED_WITH_AUTH
        return problems
    provider = smtp.oauthprovider
    if provider is None:
        return {**problems, "oauthprovider": REQUIRED_WITH_XOAUTH2}
    if provider == "google" and "oauthserviceaccount" not in secrets:
        needed = ("oauthclientid", "oauthclientsecret", "oauthrefreshtoken")
        missing = [name for name in needed if not _has(smtp, secrets, name)]
        if len(missing) == len(needed):
            problems["oauthserviceaccount"] = (
                "is required with oauthprovider google, unless oauthclientid, oauthclientsecret and "
                "oauthrefreshtoken are given"
            )
        for name in missing if len(missing) < len(needed) else ():
            problems[name] = "is required with oauthprovider google and no oauthserviceaccount"
        return problems
    required: dict[str, tuple[str, ...]] = {
        "microsoft": ("oauthtenant", "oauthclientid", "oauthclientsecret"),
        "generic": ("oauthtokenurl", "oauthclientid", "oauthrefreshtoken"),
    }
    for name in required.get(provider, ()):
        if not _has(smtp, secrets, name):
            problems[name] = f"is required with oauthprovider {provider}"
    return problems


def _has(smtp: Any, secrets: Collection[str], name: str) -> bool:
    return name in secrets if name in WRITE_ONLY else getattr(smtp, name) is not None


def secrets_used(smtp: Smtp, secrets: Collection[str]) -> set[str]:
    """The write-only values a check of `smtp` sends (or sends a token made from), of those it has."""
    if not smtp.auth:
        return set()
    if smtp.authmech != XOAUTH2:
        return {"password"}
    if smtp.oauthprovider == "microsoft":
        return {"oauthclientsecret"}
    if smtp.oauthprovider == "google" and "oauthserviceaccount" in secrets:
        return {"oauthserviceaccount"}
    if smtp.oauthprovider in ("google", "generic"):
        return {"oauthclientsecret", "oauthrefreshtoken"}
    return set()


def weaker_transport(current: Smtp, edited: Smtp) -> bool:
    """Whether `edited` protects what it sends less than `current`: encryption off, AUTH allowed in clear,
    the certificate no longer verified, TLS 1.2 allowed again, or other CAs trusted."""
    return (
        (current.encrypted and not edited.encrypted)
        or (edited.insecureauth and not current.insecureauth)
        or (current.tlsverify and not edited.tlsverify)
        or (current.tlsmin == "1.3" and edited.tlsmin != "1.3")
        or (edited.cacert is not None and edited.cacert != current.cacert)
    )


def rebinding_problems(current: Smtp, edited: Smtp, *, given: Collection[str]) -> dict[str, str]:
    """A stored secret goes only where it was given for (Keycloak's rule for its SMTP settings): each one
    the edit would send somewhere new must come with it, else a problem naming it.

    - the password: a new host, port, username or auth setting, or weaker transport (`weaker_transport`),
      whether or not it is in use (as before XOAUTH2); or a new `authmech` that sends it;
    - XOAUTH2's secrets, when the edited server would use them: any of those, a new `authmech`, or a new
      token endpoint (`BOUND_TO_TOKEN`): the token they buy goes to the SMTP server, they to the endpoint.
    """
    stored = set(current.secret_versions) - set(given)
    if not stored:
        return {}
    moved = any(getattr(current, name) != getattr(edited, name) for name in BOUND_TO_PASSWORD)
    moved = moved or weaker_transport(current, edited)
    mechanism = current.authmech != edited.authmech
    token_moved = any(getattr(current, name) != getattr(edited, name) for name in BOUND_TO_TOKEN)
    used = secrets_used(edited, set(current.secret_versions) | set(given))
    problems: dict[str, str] = {}
    for name in sorted(stored):
        if name == "password" and (moved or (mechanism and name in used)):
            problems[name] = PASSWORD_AGAIN
        elif name != "password" and name in used and (moved or mechanism or token_moved):
            problems[name] = OAUTH_AGAIN
    return problems
