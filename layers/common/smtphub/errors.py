"""The contract's error model as domain exceptions.

Raised anywhere below the handlers; turned into the one error body by `smtphub.http`, and nowhere else.
A message here is shown to the client: it never carries a parameter value, a password or an internal detail.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An expected failure with its HTTP status, machine-readable code and human message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        # Extra members of the error body, e.g. `fields` for 400 or `stage` for a failed check.
        self.extra = extra
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    code = "BAD_REQUEST"
    default_message = "Missing or invalid parameters"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message, fields=dict(sorted(fields.items())))
        self.fields = fields


class Unauthorized(ApiError):
    status = 401
    code = "UNAUTHORIZED"
    default_message = "Unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "FORBIDDEN"
    default_message = "Forbidden"


class NotFound(ApiError):
    status = 406


class SmtpNotFound(NotFound):
    code = "SMTP_NOT_FOUND"
    default_message = "SMTP not found"


class AppNotFound(NotFound):
    code = "APP_NOT_FOUND"
    default_message = "App not found"


class AppNameTaken(ApiError):
    status = 406
    code = "APP_NAME_TAKEN"
    default_message = "An app with this name already exists"


class Conflict(ApiError):
    status = 406
    code = "CONFLICT"
    default_message = "The resource was changed by another request; read it again and retry"


class CheckFailed(ApiError):
    status = 406
    code = "SMTP_CHECK_FAILED"
    default_message = "SMTP check failed"


class PayloadTooLarge(ApiError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body is larger than 64 KiB"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Send the body as application/x-www-form-urlencoded or application/json"


class TooManyRequests(ApiError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    default_message = "Too many requests"


def error_body(status: int, code: str, message: str, request_id: str, /, **extra: Any) -> dict[str, Any]:
    """The one error body shape of the contract (also used by the authorizer and the local runtime).

    Positional-only, so that `extra` may carry a member named `code` (a failed check's SMTP reply code).
    """
    return {"status": status, "error": code, "message": message, "requestId": request_id, **extra}
