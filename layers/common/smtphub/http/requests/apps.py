"""Request models of the /private/apps routes."""

from __future__ import annotations

from typing import cast

from pydantic import Field

from smtphub.apps.models import AppFields, AppRef, ListApps, SaveApp
from smtphub.http.fields import Email, Id, Name, PageNumber, PageSize, Strategy
from smtphub.http.requests import REQUIRED, RequestModel


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
