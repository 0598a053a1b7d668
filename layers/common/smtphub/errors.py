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


class RemoteServerNotAllowed(DomainError):
    """emails/send from an address the app's `originserver` does not list (upstream's words, with the
    caller's address, so that its owner can correct the list)."""

    default_message = "Remote server not allowed"

    def __init__(self, origin: str) -> None:
        super().__init__(f"Remote server not allowed: {origin}")


class RemoteDomainNotAllowed(DomainError):
    """emails/send from a page (Origin, else Referer) whose host the app's `origindomain` does not list."""

    default_message = "Remote domain not allowed"

    def __init__(self, origin: str) -> None:
        super().__init__(f"Remote domain not allowed: {origin}")


class NoActiveSmtp(DomainError):
    default_message = "No active SMTP for App"


class SenderDomainNotFound(DomainError):
    """The From address's domain does not exist in DNS (checked when deployed)."""

    default_message = "Sender domain does not exist"


class TrackingWithCc(DomainError):
    default_message = "Cannot use includetracking=true with CC or BCC"


class UnregisterWithCc(DomainError):
    default_message = "Cannot use includeUnregisterLink=true with CC or BCC"


class InvalidFrom(DomainError):
    default_message = "from is not a valid email"


class InvalidTo(DomainError):
    """The one TO recipient given is not an address (several, all invalid: NoValidRecipients)."""

    default_message = "to is not a valid email"


class InvalidReplyTo(DomainError):
    default_message = "replyto is not a valid email"


class ReplyToWithoutMx(DomainError):
    default_message = "replyto domain lacks MX records"


class NoValidRecipients(DomainError):
    default_message = "All TO recipients are invalid"


class AllBlacklisted(DomainError):
    default_message = "All TO recipients are blacklisted"


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key the account already used, within its 24 hours, for another request."""

    default_message = (
        "This Idempotency-Key was already used for another request (other parameters or attachments) "
        "within the last 24 hours: use a new key for a new e-mail"
    )


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
