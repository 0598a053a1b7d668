"""Domain errors: what went wrong, in the service's words. None of them knows HTTP.

Raised anywhere below the handlers; `smtphub.http.errors` maps each class to the contract's status and
`error` code, once. A message here may be shown to the client: it never carries a parameter value, a
password or an internal detail.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """An expected failure; `message` is fit to show to the caller."""

    default_message: ClassVar[str] = "The request could not be completed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidInput(DomainError):
    """Parameters that are missing, malformed or contradict each other: `fields` names each one."""

    default_message = "Missing or invalid parameters"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message)
        self.fields = dict(sorted(fields.items()))


class NotFound(DomainError):
    """Missing, or another account's (the contract makes the two indistinguishable)."""


class SmtpNotFound(NotFound):
    default_message = "SMTP not found"


class AppNotFound(NotFound):
    default_message = "App not found"


class EmailNotFound(NotFound):
    default_message = "Email not found"


class ListedByRecipient(DomainError):
    """blacklist/remove of an address the recipient listed by unsubscribing (upstream's words)."""

    default_message = "Email was added by the recipient and cannot be removed"


class AppNameTaken(DomainError):
    default_message = "An app with this name already exists"


class QuotaExceeded(DomainError):
    """A create (or a move to another app) beyond one of the account's quotas; the message names it and its
    limit (smtphub.accounts.quotas)."""

    default_message = "Quota exceeded"


class Conflict(DomainError):
    """Someone else changed the resource between this request's read and its write."""

    default_message = "The resource was changed by another request; read it again and retry"


class EmailNotCancellable(DomainError):
    """emails/cancel on an e-mail that is no longer queued (upstream's words)."""

    default_message = "Sending finished or in progress - cannot be cancelled"


class EmailNotRemovable(DomainError):
    """emails/remove on an e-mail that is queued or being sent (upstream's words)."""

    default_message = "Unfinished sendings cannot be removed"


class MonthlyLimitExceeded(DomainError):
    """The account's e-mails of this month are used up (upstream's words)."""

    default_message = "Monthly email limit exceeded"


class CheckFailed(DomainError):
    """An SMTP check that reached a verdict: the server failed at `stage` (SMTP reply `code`, if any)."""

    default_message = "SMTP check failed"

    def __init__(self, message: str, *, stage: str | None, code: int | None) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code


class LoginRefused(DomainError):
    """Wrong credentials, or an account that cannot sign in this way (`challenge` names Cognito's step)."""

    default_message = "Incorrect username or password"

    def __init__(self, message: str | None = None, *, challenge: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge


class RateLimited(DomainError):
    """Too many requests of one kind; `retry_after` seconds until the next may succeed."""

    default_message = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
