"""Domain errors to HTTP: the contract's statuses, `error` codes and the one error body. Nowhere else.

No `from __future__ import annotations`: ErrorJson's annotations are evaluated at import, which costs
less than string annotations under Python 3.13 (smtphub.http.responses)."""

from typing import Annotated, Any, ClassVar, NotRequired, cast

from annotated_types import Ge, Le
from typing_extensions import TypedDict

from smtphub.errors import (
    AllBlacklisted,
    AppNameTaken,
    AppNotFound,
    CheckFailed,
    Conflict,
    DomainError,
    EmailNotCancellable,
    EmailNotFound,
    EmailNotRemovable,
    IdempotencyKeyReused,
    InvalidFrom,
    InvalidInput,
    InvalidReplyTo,
    InvalidTo,
    ListedByRecipient,
    LoginRefused,
    MonthlyLimitExceeded,
    NoActiveSmtp,
    NoValidRecipients,
    QuotaExceeded,
    RateLimited,
    RemoteDomainNotAllowed,
    RemoteServerNotAllowed,
    ReplyToWithoutMx,
    SenderDomainNotFound,
    SmtpNotFound,
    TrackingWithCc,
    UnregisterWithCc,
)
from smtphub.http.responses import CheckStage


class EdgeError(DomainError):
    """A failure only the HTTP edge can have (no token, a body it cannot read): it knows its own status."""

    status: ClassVar[int]
    code: ClassVar[str]


class Unauthorized(EdgeError):
    status, code = 401, "UNAUTHORIZED"
    default_message = "Unauthorized"


class PayloadTooLarge(EdgeError):
    status, code = 413, "PAYLOAD_TOO_LARGE"
    default_message = "Request body is larger than 64 KiB"

    @classmethod
    def beyond(cls, limit: int) -> "PayloadTooLarge":
        """The error for a route whose bodies may have `limit` bytes (64 KiB unless the route says)."""
        size = f"{limit // 1024} KiB" if limit < 1024 * 1024 else f"{limit / (1024 * 1024):g} MiB"
        return cls(f"Request body is larger than {size}")


class UnsupportedMediaType(EdgeError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Send the body as application/x-www-form-urlencoded or application/json"


# Most specific first: the first class an error is an instance of decides.
_STATUS: tuple[tuple[type[DomainError], int, str], ...] = (
    (InvalidInput, 400, "BAD_REQUEST"),
    (LoginRefused, 403, "FORBIDDEN"),
    (SmtpNotFound, 406, "SMTP_NOT_FOUND"),
    (AppNotFound, 406, "APP_NOT_FOUND"),
    (AppNameTaken, 406, "APP_NAME_TAKEN"),
    (Conflict, 406, "CONFLICT"),
    (CheckFailed, 406, "SMTP_CHECK_FAILED"),
    (EmailNotFound, 406, "EMAIL_NOT_FOUND"),
    (EmailNotCancellable, 406, "EMAIL_NOT_CANCELLABLE"),
    (EmailNotRemovable, 406, "EMAIL_NOT_REMOVABLE"),
    (ListedByRecipient, 406, "LISTED_BY_RECIPIENT"),
    (MonthlyLimitExceeded, 406, "MONTHLY_LIMIT_EXCEEDED"),
    (RemoteServerNotAllowed, 406, "REMOTE_SERVER_NOT_ALLOWED"),
    (RemoteDomainNotAllowed, 406, "REMOTE_DOMAIN_NOT_ALLOWED"),
    (NoActiveSmtp, 406, "NO_ACTIVE_SMTP"),
    (SenderDomainNotFound, 406, "SENDER_DOMAIN_NOT_FOUND"),
    (TrackingWithCc, 406, "TRACKING_WITH_CC"),
    (UnregisterWithCc, 406, "UNREGISTER_WITH_CC"),
    (InvalidFrom, 406, "INVALID_FROM"),
    (InvalidTo, 406, "INVALID_TO"),
    (InvalidReplyTo, 406, "INVALID_REPLYTO"),
    (ReplyToWithoutMx, 406, "REPLYTO_WITHOUT_MX"),
    (NoValidRecipients, 406, "NO_VALID_RECIPIENTS"),
    (AllBlacklisted, 406, "ALL_BLACKLISTED"),
    (IdempotencyKeyReused, 406, "IDEMPOTENCY_KEY_REUSED"),
    (QuotaExceeded, 406, "QUOTA_EXCEEDED"),
    (RateLimited, 429, "TOO_MANY_REQUESTS"),
    *((edge, edge.status, edge.code) for edge in (Unauthorized, PayloadTooLarge, UnsupportedMediaType)),
)
INTERNAL = (500, "INTERNAL_ERROR", "Internal server error")


class ErrorJson(TypedDict):
    """The one error body shape, whatever answered (a function or API Gateway). `NOT_FOUND` is API
    Gateway's answer to a path or method that is no operation."""

    status: Annotated[int, Ge(400), Le(599)]
    """The HTTP status, repeated."""
    error: str
    """Machine-readable."""
    message: str
    """For people; never repeats a parameter value, a password or an internal detail."""
    requestId: str
    """Find the logs of this request by it."""
    fields: NotRequired[dict[str, str]]
    """400 only: every bad parameter (its canonical, lower-case name, or `body`) and what is wrong with it."""
    stage: NotRequired[CheckStage | None]
    """`SMTP_CHECK_FAILED` only: the stage that failed."""
    code: NotRequired[int | None]
    """`SMTP_CHECK_FAILED` only: the SMTP reply code, when there is one."""
    challenge: NotRequired[str]
    """A 403 of `POST /auth/login` only: the Cognito sign-in step the account needs first (e.g.
    `NEW_PASSWORD_REQUIRED`), which this API does not offer."""


def error_body(status: int, code: str, message: str, request_id: str, /, **extra: Any) -> ErrorJson:
    """The one error body shape of the contract (also used by the local runtime; the authorizer, which
    loads nothing of the layer, and the template's gateway responses write the same members).

    Positional-only, so that `extra` may carry a member named `code` (a failed check's SMTP reply code).
    `extra` holds ErrorJson's optional members, as `describe` gives them.
    """
    body = {"status": status, "error": code, "message": message, "requestId": request_id, **extra}
    return cast(ErrorJson, body)


def describe(error: DomainError) -> tuple[int, str, dict[str, Any], dict[str, str]]:
    """(status, error code, extra body members, extra headers) of a domain error."""
    status, code = next(((s, c) for kind, s, c in _STATUS if isinstance(error, kind)), INTERNAL[:2])
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, InvalidInput):
        extra["fields"] = error.fields
    elif isinstance(error, CheckFailed):
        extra.update(stage=error.stage, code=error.code)
    elif isinstance(error, LoginRefused) and error.challenge:
        extra["challenge"] = error.challenge
    elif isinstance(error, RateLimited) and error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return status, code, extra, headers
