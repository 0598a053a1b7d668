"""The JSON of a check's result: an SMTP server's `lastcheck`, and each entry of smtps/history."""

from typing import TYPE_CHECKING, Annotated

from annotated_types import Ge
from typing_extensions import TypedDict

from smtphub.http.responses import CheckStage, DateTime, OneOf, Timestamp

if TYPE_CHECKING:
    from smtphub.health.history import HistoryEntry
    from smtphub.smtps.results import CheckResult

Ms = Annotated[int, Ge(0)]


class StageTimeJson(TypedDict):
    """A stage the check reached: its time and the last SMTP reply code it got."""

    stage: CheckStage
    ms: Ms
    code: int | None


class TlsSessionJson(TypedDict):
    """TLS as the check found it."""

    mode: Annotated[str, OneOf("smtphub.smtp.commands", "IMPLICIT", "STARTTLS", "STARTTLS_OFFERED")] | None
    """How TLS came about: `implicit` (sslTls), `starttls` (starttls=true), or `starttls-offered`: a server
    with `auth` and neither setting offered STARTTLS, which is then always used before credentials are sent
    (certificate verified as for starttls=true). Null in results recorded before it existed."""
    version: str | None
    cipher: str | None
    subject: str | None
    """The certificate's subject (`CN=...`)."""
    issuer: str | None
    """Who issued the certificate."""
    notAfter: DateTime | None
    daysLeft: int | None
    """Whole days to notAfter; below 14, an `SMTP certificate expiring` event is published."""


class LastCheckJson(TypedDict):
    """The outcome of the server's last check."""

    at: Timestamp
    """When the check ran."""
    ok: bool
    """Whether the test e-mail was accepted."""
    stage: CheckStage | None
    """The stage that failed (null on success)."""
    code: int | None
    """The SMTP reply code, when there is one."""
    message: str
    """What happened, credentials scrubbed."""
    ms: Ms
    """How long the conversation took."""
    mode: Annotated[str, OneOf("smtphub.check.plan", "MODES")]
    """`send`: a real test e-mail; `probe`: up to `RCPT TO`, no message."""
    stages: list[StageTimeJson]
    """Each stage reached, in order: its time and the last SMTP reply code it got."""
    tls: TlsSessionJson | None
    """The encrypted session (null without TLS). The certificate's members are null when it was not
    verified (`tlsverify=false`)."""
    capabilities: list[str]
    """The last EHLO's keywords with their parameters (`AUTH PLAIN LOGIN`), scrubbed."""


class CheckResultJson(LastCheckJson):
    """One recorded check result (smtps/history)."""

    trigger: Annotated[str, OneOf("smtphub.health.recorder", "MANUAL", "SCHEDULED")]
    """`manual`: smtps/check; `scheduled`: a probe of the health schedule."""
    status: Annotated[str, OneOf("smtphub.smtps.models", "STATUS_ACTIVE", "STATUS_DISABLED")]
    """The server's status once this result was recorded."""


def lastcheck_json(result: "CheckResult") -> LastCheckJson:
    tls = result.tls
    return {
        "at": result.at,
        "ok": result.ok,
        "stage": result.stage,
        "code": result.code,
        "message": result.message,
        "ms": result.ms,
        "mode": result.mode,
        "stages": [{"stage": s.stage, "ms": s.ms, "code": s.code} for s in result.stages],
        "tls": None
        if tls is None
        else {
            "mode": tls.mode,
            "version": tls.version,
            "cipher": tls.cipher,
            "subject": tls.subject,
            "issuer": tls.issuer,
            "notAfter": tls.not_after,
            "daysLeft": tls.days_left,
        },
        "capabilities": list(result.capabilities),
    }


def history_json(entries: "list[HistoryEntry]") -> list[CheckResultJson]:
    """smtps/history: each result with what asked for it and the server's status after it."""
    return [
        {**lastcheck_json(entry.result), "trigger": entry.trigger, "status": entry.status}
        for entry in entries
    ]
