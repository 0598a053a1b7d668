"""What the apps feature needs of an app's SMTP servers: their removal with the app (apps/remove) and after it
(smtphub.apps.cleanup). The SMTP feature builds on apps (a server needs its app live), so apps never
imports it: the composition root hands in its repository (smtphub.smtps.repository.SmtpRepository)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class AppServers(Protocol):
    def ids_by_app(self, account_id: str, app_id: str) -> dict[str, bool]:
        """The ids of the account's servers of the app, each with whether it is counted in the quotas (the
        byApp index: it lags behind a create)."""

    def delete_of_app(
        self,
        account_id: str,
        app_id: str,
        smtps: Mapping[str, bool],
        then: Sequence[TransactWriteItemTypeDef],
        *,
        app_counted: bool,
    ) -> None:
        """Delete those servers while they are the account's and that app's, giving their quota slots (and
        the app's, when `app_counted`) back, `then` in the last transaction."""

    def delete(
        self, account_id: str, smtp_id: str, app_id: str | None = None, *, app_gone: bool = False
    ) -> object:
        """Delete one server while it is the account's (and the app's), giving its slots back (the account's
        only when `app_gone`); a false value when it was not."""
