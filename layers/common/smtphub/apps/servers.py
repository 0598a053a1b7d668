"""What the apps feature needs of an app's SMTP servers: their removal with the app (apps/remove) and after it
(smtphub.apps.cleanup). The SMTP feature builds on apps (a server needs its app live), so apps never
imports it: the composition root hands in its repository (smtphub.smtps.repository.SmtpRepository)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class AppServers(Protocol):
    def ids_by_app(self, account_id: str, app_id: str) -> list[str]:
        """The ids of the account's servers of the app (the byApp index: it lags behind a create)."""

    def delete_of_app(
        self, account_id: str, app_id: str, smtp_ids: list[str], then: Sequence[TransactWriteItemTypeDef]
    ) -> None:
        """Delete those servers while they are the account's and that app's, `then` in the last
        transaction."""

    def delete(self, account_id: str, smtp_id: str, app_id: str | None = None) -> object:
        """Delete one server while it is the account's (and the app's); a false value when it was not."""
