"""emails/info, emails/cancel, emails/remove and logs/findByEMail: one account's e-mails, each found by id
and only for its account (another account's e-mail is `Email not found`, as a missing one).

- cancel: Q -> C in one conditional write (the sender's claim is conditional on Q: a cancelled e-mail is never
  sent); `App not found` when the e-mail's app is gone (upstream's rule: a cancel needs its app). The content
  goes at once, unless the app keeps it (`retaindata`): nothing will read it again.
- remove: only F, E or C, whether or not its app still exists (upstream also answers `App not found`; here an
  account can always erase what it sent); the record (one conditional delete), then its log rows, then its
  content in S3
  (the record first: once it is gone nothing reads the rest, and what a crash leaves behind expires, the
  rows by their TTL, the object by the bucket's lifecycle), then its tracking rows (the `Tracking` hook:
  smtphub.tracking, which also expire with the e-mail).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from smtphub.emails.content import ContentStore
from smtphub.emails.logs import LogRepository
from smtphub.emails.models import LOG_DAYS, EmailInfo, EmailRef, LogEntry, Opened, SendingResult
from smtphub.emails.repository import EmailRepository
from smtphub.ids import iso_of
from smtphub.observability import logger

if TYPE_CHECKING:
    from smtphub.apps.repository import AppRepository


class Tracking(Protocol):
    """The e-mail's tracking rows (smtphub.tracking): what emails/info shows as `opened`, what remove
    deletes."""

    def opens(self, email_id: str) -> list[Opened]: ...

    def forget(self, email_id: str) -> int: ...


class NoTracking:
    def opens(self, email_id: str) -> list[Opened]:
        return []

    def forget(self, email_id: str) -> int:
        return 0


class EmailService:
    def __init__(
        self,
        apps: AppRepository,
        emails: EmailRepository,
        logs: LogRepository,
        content: ContentStore,
        *,
        tracking: Tracking | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps, self.emails, self.logs, self.content = apps, emails, logs, content
        self.tracking = tracking or NoTracking()
        self.clock = clock

    def info(self, ref: EmailRef) -> EmailInfo:
        email = self.emails.get_owned(ref.account_id, ref.email_id)
        return EmailInfo(email, self.logs.of_email(email.id), self.tracking.opens(email.id))

    def cancel(self, ref: EmailRef) -> SendingResult:
        email = self.emails.get_owned(ref.account_id, ref.email_id)
        self.apps.get_owned(ref.account_id, email.app_id)  # AppNotFound: upstream's
        now = self.clock()
        expires = math.ceil(now + LOG_DAYS * 86400)
        cancelled = self.emails.cancel(ref.account_id, email.id, iso_of(now), expires, iso_of(expires))
        logger.info("email cancelled", extra={"idemail": email.id})
        if not cancelled.retaindata:
            self._delete_content(cancelled.id, cancelled.contentkey)
        return SendingResult.of(cancelled)

    def remove(self, ref: EmailRef) -> None:
        removed = self.emails.remove(ref.account_id, ref.email_id)
        rows = self.logs.delete_of_email(removed.id)
        self.tracking.forget(removed.id)
        self._delete_content(removed.id, removed.contentkey)
        logger.info("email removed", extra={"idemail": removed.id, "logs": rows})

    def _delete_content(self, email_id: str, key: str) -> None:
        if key and self.content.delete([key]):
            logger.warning(
                "email content not deleted: the bucket's lifecycle will", extra={"idemail": email_id}
            )

    def logs_of(self, ref: EmailRef) -> list[LogEntry]:
        email = self.emails.get_owned(ref.account_id, ref.email_id)
        return self.logs.of_email(email.id)
