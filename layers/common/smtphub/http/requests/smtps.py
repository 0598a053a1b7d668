"""Request models of the /private/smtps routes."""

from __future__ import annotations

from typing import ClassVar, cast

from pydantic import Field

from smtphub.http.fields import Boolean, Email, Host, Id, Name, Password, Port, Priority, Username
from smtphub.http.requests import REQUIRED, RequestModel
from smtphub.smtps.models import BOTH_TLS, CreateSmtp, EditSmtp, SmtpFields, SmtpRef, settings_problems


class SmtpSave(RequestModel):
    """smtps/save: a create without `idsmtp`, an edit with it (omitted fields keep their value)."""

    CREATE_REQUIRED: ClassVar[tuple[str, ...]] = ("idapp", "host", "port")

    smtp_id: Id | None = Field(None, alias="idsmtp")
    app_id: Id | None = Field(None, alias="idapp")
    priority: Priority | None = None
    host: Host | None = None
    port: Port | None = None
    username: Username | None = None
    password: Password | None = Field(None, repr=False)
    auth: Boolean | None = None
    starttls: Boolean | None = None
    ssltls: Boolean | None = None
    debug: Boolean | None = None
    insecureauth: Boolean | None = None
    defaultfromemail: Email | None = None
    defaultfromname: Name | None = None

    def problems(self) -> dict[str, str]:
        if self.smtp_id is not None:  # an edit: the rest is judged on the server as it will be stored
            return {"ssltls": BOTH_TLS} if self.starttls and self.ssltls else {}
        missing = {name: REQUIRED for name in self.CREATE_REQUIRED if name not in self._given_aliases()}
        return missing | settings_problems(
            auth=bool(self.auth),
            username=self.username,
            has_password=self.password is not None,
            starttls=bool(self.starttls),
            ssltls=bool(self.ssltls),
        )

    def _given_aliases(self) -> set[str]:
        return {type(self).model_fields[name].alias or name for name in self.model_fields_set}

    def command(self, account_id: str) -> CreateSmtp | EditSmtp:
        fields = cast(SmtpFields, self.given("smtp_id", "password"))
        if self.smtp_id is None:
            return CreateSmtp(account_id, fields, self.password)
        return EditSmtp(account_id, self.smtp_id, fields, self.password)


class SmtpById(RequestModel):
    smtp_id: Id = Field(alias="idsmtp")

    def command(self, account_id: str) -> SmtpRef:
        return SmtpRef(account_id, self.smtp_id)


class SmtpTarget(RequestModel):
    """remove and check: upstream's page calls the SMTP id `idapp`; it is read so when `idsmtp` is absent."""

    smtp_id: Id | None = Field(None, alias="idsmtp")
    legacy_id: Id | None = Field(None, alias="idapp")

    def problems(self) -> dict[str, str]:
        return {"idsmtp": REQUIRED} if self.smtp_id is None and self.legacy_id is None else {}

    def command(self, account_id: str) -> SmtpRef:
        return SmtpRef(account_id, cast(str, self.smtp_id or self.legacy_id))


class SmtpsByApp(RequestModel):
    app_id: Id = Field(alias="idapp")
