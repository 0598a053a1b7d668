"""Request models of the /private/apps routes."""

from __future__ import annotations

from typing import cast

from pydantic import ConfigDict, Field

from smtphub.apps.models import AppFields, AppRef, ListApps, SaveApp
from smtphub.http.fields import Email, Id, Name, PageNumber, PageSize, Strategy
from smtphub.http.requests import REQUIRED, RequestModel


class AppSave(RequestModel):
    """apps/save: a create (needs `name`) without `idapp`, an edit with it."""

    # For openapi.yaml: an edit names its app, a create its name (what `problems` requires).
    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["idapp"]}, {"required": ["name"]}]})

    app_id: Id | None = Field(None, alias="idapp", description="The app to edit; absent to create one.")
    name: Name | None = Field(
        None, description="Required to create; unique among the account's apps (406 `APP_NAME_TAKEN`)."
    )
    testemail: Email | None = Field(None, description="Where `smtps/check` sends its test e-mail.")
    defaultfromemail: Email | None = Field(
        None, description="From address of test e-mails, unless the SMTP server has its own."
    )
    defaultfromname: Name | None = Field(None, description="Display name of that From address.")
    strategy: Strategy | None = Field(
        None, description="How senders pick among the app's servers (any case). A new app: `RANDOM`."
    )

    def problems(self) -> dict[str, str]:
        return {"name": REQUIRED} if self.app_id is None and self.name is None else {}

    def command(self, account_id: str) -> SaveApp:
        return SaveApp(account_id, cast(AppFields, self.given("app_id")), self.app_id)


class AppById(RequestModel):
    app_id: Id = Field(alias="idapp", description="The app's id.")

    def command(self, account_id: str) -> AppRef:
        return AppRef(account_id, self.app_id)


class AppPageRequest(RequestModel):
    page: PageNumber = Field(0, description="Page number, from 0.")
    size: PageSize = Field(20, description="Apps per page.")

    def command(self, account_id: str) -> ListApps:
        return ListApps(account_id, self.page, self.size)
