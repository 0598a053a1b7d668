"""What one check does (`Plan`) and what came of it (`CheckOutcome`, or a `StageFailure` on the way)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one check needs; built from the stored server, its app and its password."""

    smtp_id: str
    app_id: str
    app_name: str
    host: str
    port: int
    sender: str
    recipient: str
    sender_name: str | None = None
    ssltls: bool = False
    starttls: bool = False
    auth: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    debug: bool = False
    # True: AUTH may send the credentials over a connection that is not encrypted (the contract's
    # `insecureauth`). False, the default: the check fails at AUTH instead, having sent nothing.
    insecure_auth: bool = False

    @property
    def security(self) -> str:
        """How the connection is meant to be encrypted: `implicit-tls`, `starttls` or `none`."""
        return "implicit-tls" if self.ssltls else "starttls" if self.starttls else "none"


@dataclass(slots=True)
class CheckOutcome:
    """The result of one check; `message` is safe to show and to store (see smtphub.check.scrub)."""

    ok: bool
    stage: str | None
    code: int | None
    message: str
    ms: int = 0
    timings: dict[str, int] = field(default_factory=dict)
    transcript: list[str] | None = None

    def lastcheck(self, at: str) -> dict[str, Any]:
        """The server's `lastcheck` JSON as the contract shows it."""
        return {
            "at": at,
            "ok": self.ok,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
            "ms": self.ms,
        }


class StageFailure(Exception):
    """Ends a conversation: the stage it was in, a message safe to show, the SMTP code if any."""

    def __init__(self, stage: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.code = code
