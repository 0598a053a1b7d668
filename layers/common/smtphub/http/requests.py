"""One pydantic model per endpoint, holding every rule the request alone decides, and the typed command
it becomes. Field names are the domain's; aliases are the contract's parameter names (lower case: the
edge folds case and the contract's other spellings before a model sees them).

Rules that need stored state (an edit's merged result, the password binding) are the service's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from smtphub.apps.models import AppFields, AppRef, ListApps, SaveApp
from smtphub.errors import InvalidInput
from smtphub.http.fields import (
    Boolean,
    Email,
    Host,
    Id,
    LoginName,
    LoginPassword,
    Name,
    PageNumber,
    PageSize,
    Password,
    Port,
    Priority,
    Strategy,
    Username,
)
from smtphub.smtps.models import BOTH_TLS, CreateSmtp, EditSmtp, SmtpFields, SmtpRef, settings_problems

REQUIRED = "is required"


class RequestModel(BaseModel):
    """A request's parameters. `parse` reports every problem in one InvalidInput: each parameter's own,
    and the rules across parameters (`problems`) judged on the parameters that are fine."""

    # hide_input_in_errors: a ValidationError's text never holds a value (a password), wherever it ends up.
    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_alias=True, validate_by_name=False, hide_input_in_errors=True
    )
    # Parameters whose white space is part of the value; any other blank value counts as absent.
    VERBATIM: ClassVar[frozenset[str]] = frozenset({"password"})

    @classmethod
    def request_names(cls) -> frozenset[str]:
        return frozenset(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def parse(cls, raw: Mapping[str, str], problems: Mapping[str, str] | None = None) -> Self:
        found = dict(problems or {})
        raw = {k: v for k, v in raw.items() if k in cls.VERBATIM or v.strip()}
        try:
            model = cls.model_validate({k: v for k, v in raw.items() if k not in found})
        except ValidationError as error:
            for detail in error.errors(include_url=False, include_context=False, include_input=False):
                name = str(detail["loc"][0]) if detail["loc"] else "body"
                found.setdefault(name, REQUIRED if detail["type"] == "missing" else detail["msg"])
            try:  # the rules across parameters, on the ones that are fine
                model = cls.model_validate({k: v for k, v in raw.items() if k not in found})
            except ValidationError:
                raise InvalidInput(found) from None
        found = {**model.problems(), **found}  # a parameter's own problem comes first
        if found:
            raise InvalidInput(found)
        return model

    def problems(self) -> dict[str, str]:
        """Problems across parameters (a create's required fields, settings that exclude each other)."""
        return {}

    def given(self, *exclude: str) -> dict[str, Any]:
        """The fields the request set, by domain name."""
        return self.model_dump(exclude_unset=True, exclude=set(exclude))


class NoParams(RequestModel):
    pass


# --- SMTP servers -------------------------------------------------------------------------------------


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


# --- Apps ---------------------------------------------------------------------------------------------


class AppSave(RequestModel):
    """apps/save: a create (needs `name`) without `idapp`, an edit with it."""

    app_id: Id | None = Field(None, alias="idapp")
    name: Name | None = None
    testemail: Email | None = None
    defaultfromemail: Email | None = None
    defaultfromname: Name | None = None
    strategy: Strategy | None = None

    def problems(self) -> dict[str, str]:
        return {"name": REQUIRED} if self.app_id is None and self.name is None else {}

    def command(self, account_id: str) -> SaveApp:
        return SaveApp(account_id, cast(AppFields, self.given("app_id")), self.app_id)


class AppById(RequestModel):
    app_id: Id = Field(alias="idapp")

    def command(self, account_id: str) -> AppRef:
        return AppRef(account_id, self.app_id)


class AppPageRequest(RequestModel):
    page: PageNumber = 0
    size: PageSize = 20

    def command(self, account_id: str) -> ListApps:
        return ListApps(account_id, self.page, self.size)


# --- Accounts -----------------------------------------------------------------------------------------


class Login(RequestModel):
    """POST /auth/login. A wrong username is Cognito's to refuse (403), so it is not checked as an e-mail."""

    username: LoginName
    password: LoginPassword = Field(repr=False)
