"""Request models of the /private/smtps routes."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from pydantic import ConfigDict, Field

from smtphub.http.authfields import (
    AuthMech,
    CaCert,
    Helo,
    OAuthClientId,
    OAuthClientSecret,
    OAuthProvider,
    OAuthRefreshToken,
    OAuthTenant,
    ServiceAccountKey,
    TlsMin,
    TokenUrl,
)
from smtphub.http.fields import (
    Boolean,
    Email,
    Host,
    Id,
    Name,
    Password,
    Port,
    Priority,
    SendLimit,
    Username,
)
from smtphub.http.requests import REQUIRED, RequestModel
from smtphub.smtps.models import (
    BOTH_TLS,
    WRITE_ONLY,
    CreateSmtp,
    EditSmtp,
    Smtp,
    SmtpFields,
    SmtpRef,
    settings_problems,
)

_WRITE_ONLY_NOTE = (
    "Write-only: stored in AWS Secrets Manager beside the password, never returned or logged (the JSON's "
)


SEND_LIMITS = ("maxperminute", "maxperday")
# What a create's rules do not look at, so that they can judge the server it would store.
_PLACEHOLDERS: dict[str, Any] = {
    **dict.fromkeys(("id", "app_id", "account_id", "host", "created", "modified"), ""),
    "port": 0,
}


class SmtpSettings(RequestModel):
    """A server's settings, as smtps/save takes them (and smtps/check, to try them without saving)."""

    CREATE_REQUIRED: ClassVar[tuple[str, ...]] = ("idapp", "host", "port")
    VERBATIM: ClassVar[frozenset[str]] = frozenset(WRITE_ONLY)
    CONTROLS: ClassVar[tuple[str, ...]] = ()  # the subclass's own parameters, not settings
    model_config = ConfigDict(defer_build=True)  # a base: only its subclasses are built, by their routes

    smtp_id: Id | None = Field(None, alias="idsmtp", description="The server to edit; absent to create one.")
    app_id: Id | None = Field(
        None,
        alias="idapp",
        description="The app the server belongs to: required to create; on an edit, moves the server to "
        "another of the account's apps.",
    )
    priority: Priority | None = Field(
        None, description="Lower is tried first; ties by creation time. A new server without one gets 10."
    )
    host: Host | None = Field(
        None,
        description="A DNS name or an IP literal (IPv6 with or without brackets): no scheme, port, path, "
        "user info or spaces. Required to create.",
    )
    port: Port | None = Field(None, description="Required to create (587 submission, 465 SMTPS, 25 relay).")
    username: Username | None = Field(None, description="Required when `auth` is true.")
    password: Password | None = Field(
        None,
        repr=False,
        description="Write-only: kept exactly as sent (spaces too; no NUL, valid Unicode), stored in AWS "
        "Secrets Manager, never returned or logged. Required when `auth` is true (unless `authmech` is "
        "XOAUTH2) and no password is stored yet; omitted on an edit, the stored one is kept, unless the edit "
        "changes `host`, `port`, `username` or `auth`, or lowers the encryption (`ssltls`/`starttls` to "
        "neither, `insecureauth` to true, `tlsverify` to false, `tlsmin` to 1.2, a new `cacert`), or sets an "
        "`authmech` that sends it: then it must be given again (a 400 naming `password`). XOAUTH2's secrets "
        "are bound the same way, and also to `oauthprovider`, `oauthtenant`, `oauthclientid` and "
        "`oauthtokenurl` (a 400 naming each).",
    )
    auth: Boolean | None = Field(
        None, description="Log in (SMTP AUTH) with `username` and `password`. A new server: false."
    )
    starttls: Boolean | None = Field(
        None,
        description="Upgrade the connection with STARTTLS. Not together with `ssltls`. A new server: false.",
    )
    ssltls: Boolean | None = Field(
        None,
        description="Implicit TLS from the first byte (SMTPS, usually port 465); QueueMail's clients send it "
        "as `sslTls`. Not together with `starttls`. A new server: false.",
    )
    debug: Boolean | None = Field(
        None,
        description="Log the SMTP conversation of each check (credentials scrubbed). A new server: false.",
    )
    insecureauth: Boolean | None = Field(
        None,
        description="Let `check` send the credentials over a connection that is not encrypted. A new server: "
        "false, and a check without TLS then fails at `AUTH` having sent nothing.",
    )
    defaultfromemail: Email | None = Field(
        None, description="From address of the test e-mail (else the app's)."
    )
    defaultfromname: Name | None = Field(None, description="Display name of that From address.")
    authmech: AuthMech | None = Field(
        None,
        description="How `check` authenticates: `auto` (a new server's: PLAIN, else LOGIN, else CRAM-MD5, as "
        "the server offers), or exactly `PLAIN`, `LOGIN`, `CRAM-MD5` or `XOAUTH2` (an OAuth 2.0 access "
        "token got at check time, stage `TOKEN`, from `oauthprovider`). A server that does not offer it "
        "fails at `AUTH`, naming what it offers.",
    )
    oauthprovider: OAuthProvider | None = Field(
        None,
        description="XOAUTH2: `microsoft` (client credentials: `oauthtenant`, `oauthclientid`, "
        "`oauthclientsecret`; scope https://outlook.office365.com/.default), `google` (a service account "
        "`oauthserviceaccount` acting as `username`, or `oauthclientid`, `oauthclientsecret` and "
        "`oauthrefreshtoken`; scope https://mail.google.com/) or `generic` (a refresh token at "
        "`oauthtokenurl`).",
    )
    oauthtenant: OAuthTenant | None = Field(None, description="microsoft: the tenant's id or domain name.")
    oauthclientid: OAuthClientId | None = Field(
        None, description="XOAUTH2: the OAuth client (application) id."
    )
    oauthtokenurl: TokenUrl | None = Field(
        None,
        description="generic: the token endpoint, https only; reached at check time only if it resolves to "
        "public addresses (the guard of SMTP hosts).",
    )
    oauthclientsecret: OAuthClientSecret | None = Field(
        None, repr=False, description=_WRITE_ONLY_NOTE + "`hasoauthclientsecret` says whether one is set)."
    )
    oauthrefreshtoken: OAuthRefreshToken | None = Field(
        None, repr=False, description=_WRITE_ONLY_NOTE + "`hasoauthrefreshtoken` says whether one is set)."
    )
    oauthserviceaccount: ServiceAccountKey | None = Field(
        None,
        repr=False,
        description="google: the service account's JSON key file (domain-wide delegation to "
        "https://mail.google.com/); its RSA key as Google issues them: 2048 to 4096 bits, public exponent "
        "65537. " + _WRITE_ONLY_NOTE + "`hasoauthserviceaccount` says whether one is set).",
    )
    tlsverify: Boolean | None = Field(
        None,
        description="Verify the server's certificate (a new server: true). False checks an untrusted or "
        "self-signed certificate, and every `lastcheck` then says it was not verified.",
    )
    cacert: CaCert | None = Field(
        None,
        description="PEM certificates (at most 16 KiB) of the CAs this server's certificate must chain to, "
        "instead of the public ones: for private CAs.",
    )
    tlsmin: TlsMin | None = Field(
        None, description="The lowest TLS version accepted: `1.2` (a new server) or `1.3`."
    )
    helo: Helo | None = Field(
        None, description="The name EHLO gives (a domain or an address literal); else the sender's domain."
    )
    maxperminute: SendLimit | None = Field(
        None,
        description="Sending: at most this many messages through the server per minute (1 to 1,000,000), "
        "counted across every sender; a server at its limit is passed over for the app's next server, and "
        "when every server is, the e-mail waits for the earliest window. 0 lifts the limit; none by default.",
    )
    maxperday: SendLimit | None = Field(
        None,
        description="Sending: at most this many messages through the server per UTC day (1 to 1,000,000), "
        "as `maxperminute`. 0 lifts the limit; none by default.",
    )

    def problems(self) -> dict[str, str]:
        if self.smtp_id is not None:  # an edit: the rest is judged on the server as it will be stored
            return {"ssltls": BOTH_TLS} if self.starttls and self.ssltls else {}
        missing = {name: REQUIRED for name in self.CREATE_REQUIRED if name not in self._given_aliases()}
        planned = Smtp(**{**_PLACEHOLDERS, **self._fields()})
        return missing | settings_problems(planned, set(self._secrets()))

    def _given_aliases(self) -> set[str]:
        return {type(self).model_fields[name].alias or name for name in self.model_fields_set}

    def _fields(self) -> SmtpFields:
        fields = self.given("smtp_id", *WRITE_ONLY, *self.CONTROLS)
        for limit in SEND_LIMITS:  # 0: no limit (stored as none)
            if fields.get(limit) == 0:
                fields[limit] = None
        return cast(SmtpFields, fields)

    def _secrets(self) -> dict[str, str]:
        return {name: value for name in WRITE_ONLY if (value := getattr(self, name)) is not None}


class SmtpSave(SmtpSettings):
    """smtps/save: a create without `idsmtp`, an edit with it (omitted fields keep their value)."""

    CONTROLS: ClassVar[tuple[str, ...]] = ("verify",)
    # For openapi.yaml: an edit names its server, a create gives what `problems` requires of it. Deferred:
    # smtps/save builds it at import (`http.edge.api`); the other smtps functions import this module for
    # their own models only and never build it (make bench, "Cold start").
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [{"required": ["idsmtp"]}, {"required": list(SmtpSettings.CREATE_REQUIRED)}]
        },
        defer_build=True,
    )

    verify: Boolean | None = Field(
        None,
        description="true: store only if a `probe` of the settings as they would be stored passes (else 406 "
        "`SMTP_CHECK_FAILED` and nothing changes); counted as one of the account's checks. The probe uses "
        "the write-only values sent: one it needs that is only stored is a 400 naming it.",
    )

    def command(self, account_id: str) -> CreateSmtp | EditSmtp:
        fields, verify = self._fields(), bool(self.verify)
        if self.smtp_id is None:
            return CreateSmtp(account_id, fields, self._secrets(), verify=verify)
        return EditSmtp(account_id, self.smtp_id, fields, self._secrets(), verify=verify)


class SmtpById(RequestModel):
    smtp_id: Id = Field(alias="idsmtp", description="The SMTP server's id.")

    def command(self, account_id: str) -> SmtpRef:
        return SmtpRef(account_id, self.smtp_id)


class SmtpTarget(RequestModel):
    """remove and check: upstream's page calls the SMTP id `idapp`; it is read so when `idsmtp` is absent."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["idsmtp"]}, {"required": ["idapp"]}]}
    )

    smtp_id: Id | None = Field(None, alias="idsmtp", description="The SMTP server's id.")
    legacy_id: Id | None = Field(
        None,
        alias="idapp",
        description="Read as the SMTP server's id when `idsmtp` is absent (the upstream page names it so).",
    )

    def problems(self) -> dict[str, str]:
        return {"idsmtp": REQUIRED} if self.smtp_id is None and self.legacy_id is None else {}

    def command(self, account_id: str) -> SmtpRef:
        return SmtpRef(account_id, cast(str, self.smtp_id or self.legacy_id))


class SmtpsByApp(RequestModel):
    app_id: Id = Field(alias="idapp", description="The app's id.")
