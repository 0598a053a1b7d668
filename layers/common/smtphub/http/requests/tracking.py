"""Request model of GET /private/tracking/findByEMail (upstream's parameter: `idemail`)."""

from __future__ import annotations

from pydantic import Field

from smtphub.http.fields import Id
from smtphub.http.requests import RequestModel
from smtphub.tracking.models import EmailEvents


class EmailById(RequestModel):
    email_id: Id = Field(alias="idemail", description="The e-mail's id (the `id` emails/send answered).")

    def command(self, account_id: str) -> EmailEvents:
        return EmailEvents(account_id, self.email_id)
