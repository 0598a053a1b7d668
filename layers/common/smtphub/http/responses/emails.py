"""The JSON of an e-mail (upstream's SendingResultDTO), of its log rows (LogDTO) and opens (TrackingDTO).

Times are the contract's (ISO 8601, UTC, with a Z), which the Java client's LocalDateTime fields read.
"""

from typing import TYPE_CHECKING, Annotated

from annotated_types import Ge, Le
from typing_extensions import TypedDict

from smtphub.http.responses import Id, OneOf, Timestamp
from smtphub.http.responses.tracking import TrackingJson, tracking_json

if TYPE_CHECKING:
    from smtphub.emails.models import EmailInfo, LogEntry, SendingResult

Status = Annotated[str, OneOf("smtphub.emails.models", "STATUSES")]


class SendingResultJson(TypedDict):
    """An e-mail's sending result: what emails/send and emails/cancel answer."""

    id: Id
    """The e-mail's id (`idemail` of the other e-mail operations)."""
    status: Status
    """`Q` queued, `R` being sent, `F` finished, `E` failed, `C` cancelled."""
    inittime: Timestamp
    """When sending is expected to start: now, `senddate`, or when the app's `timebetweenemails` lets it."""
    logsdeleledby: Timestamp
    """When the e-mail and its log are deleted (30 days on; upstream's spelling)."""
    attachments: list[str]
    """The attachments' names (files), or their URLs without query or fragment (`attachmenttype=URL`)."""
    blacklisted: list[str]
    """Recipients skipped: on the app's blacklist (when the app uses one)."""
    autoblacklisted: list[str]
    """Recipients skipped: blacklisted automatically after repeated bounces."""
    notvalidrecipients: list[str]
    """Recipients skipped: not e-mail addresses."""


class LogJson(TypedDict):
    """One outcome of one attempt for one recipient (upstream's LogDTO, plus the SMTP reply)."""

    _id: Id
    idsending: Id
    """The e-mail's id."""
    idsmtp: Id | None
    """The server tried; null when none was."""
    idapp: Id | None
    to: str
    """The recipient."""
    resultcode: str
    """`OK`, or why not (`SMTP_CONNECT_FAILS`, `SMTP_CONNECT_TIMEOUT`, `ATTACHMENT_PROBLEM`, ...: README,
    "Sending")."""
    created: Timestamp
    code: Annotated[int, Ge(200), Le(599)] | None
    """The SMTP reply code that decided it, when there was one."""
    message: str | None
    """That reply's text, scrubbed of every credential."""


class EmailInfoJson(SendingResultJson):
    """An e-mail: its sending result, when it finished, its log and its opens."""

    finishtime: Timestamp | None
    """When it reached `F`, `E` or `C`."""
    log: list[LogJson]
    """Every attempt's outcome per recipient, oldest first."""
    opened: list[TrackingJson]
    """Its recipients' opens (upstream's TrackingDTO, as tracking/findByEMail answers them), when it was
    sent with `includetracking=true` in HTML; its clicks are in tracking/findByEMail."""


def sending_result_json(result: "SendingResult") -> SendingResultJson:
    return {
        "id": result.id,
        "status": result.status,
        "inittime": result.inittime,
        "logsdeleledby": result.logsdeleledby,
        "attachments": result.attachments,
        "blacklisted": result.blacklisted,
        "autoblacklisted": result.autoblacklisted,
        "notvalidrecipients": result.notvalidrecipients,
    }


def log_json(entry: "LogEntry") -> LogJson:
    return {
        "_id": entry.id,
        "idsending": entry.email_id,
        "idsmtp": entry.smtp_id,
        "idapp": entry.app_id,
        "to": entry.to,
        "resultcode": entry.resultcode,
        "created": entry.created,
        "code": entry.code,
        "message": entry.message,
    }


def logs_json(entries: "list[LogEntry]") -> list[LogJson]:
    return [log_json(entry) for entry in entries]


def email_info_json(info: "EmailInfo") -> EmailInfoJson:
    email = info.email
    return {
        "id": email.id,
        "status": email.status,
        "inittime": email.inittime,
        "logsdeleledby": email.logsdeleledby,
        "attachments": list(email.attachments),
        "blacklisted": list(email.blacklisted),
        "autoblacklisted": list(email.autoblacklisted),
        "notvalidrecipients": list(email.notvalidrecipients),
        "finishtime": email.finishtime,
        "log": logs_json(info.log),
        "opened": [tracking_json(event) for event in info.opened],
    }
