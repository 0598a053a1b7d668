"""Request models of the /private/blacklist routes (upstream's parameters: idapp, email, page, size)."""

from __future__ import annotations

from pydantic import Field

from smtphub.blacklists.models import AddEntry, EntryRef, ListEntries
from smtphub.http.fields import Email, Id, PageNumber, PageSize
from smtphub.http.requests import RequestModel


class BlacklistEntry(RequestModel):
    app_id: Id = Field(alias="idapp", description="The app's id.")
    email: Email = Field(description="The address (compared without regard to case).")

    def command(self, account_id: str) -> EntryRef:
        return EntryRef(account_id, self.app_id, self.email)

    def addition(self, account_id: str, ip: str | None) -> AddEntry:
        return AddEntry(account_id, self.app_id, self.email, ip)


class BlacklistPageRequest(RequestModel):
    app_id: Id = Field(alias="idapp", description="The app's id.")
    page: PageNumber = Field(0, description="Page number, from 0.")
    size: PageSize = Field(20, description="Entries per page.")

    def command(self, account_id: str) -> ListEntries:
        return ListEntries(account_id, self.app_id, self.page, self.size)
