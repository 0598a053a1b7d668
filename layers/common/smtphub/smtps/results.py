"""What a check of a server found, as the server keeps it (`Smtp.lastcheck`) and its history lists it.

Domain types: the check (smtphub.check) makes them, the SMTP repository stores them (its codec:
smtphub.smtps.items), the edge shows them (smtphub.http.responses.checks). Every text in them was scrubbed
of the server's credentials before it got here (smtphub.smtp.scrub).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageTime:
    """One stage a check reached: how long it took, and the last SMTP reply code it got (None: none)."""

    stage: str
    ms: int
    code: int | None = None


@dataclass(frozen=True, slots=True)
class TlsFacts:
    """The encrypted session a check had: how TLS came about (`implicit`, `starttls`, `starttls-offered`:
    smtphub.smtp.commands), protocol and cipher, and the server certificate's subject, issuer, end of
    validity (ISO, UTC) and whole days left. The certificate's are None when it was not verified."""

    version: str | None = None
    cipher: str | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    days_left: int | None = None
    mode: str | None = None  # None: recorded before there were several


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's result: when (`at`, ISO), whether it passed, the stage that failed (None on success) and
    the SMTP reply code, a message safe to show, how long it took, its mode (send or probe), each stage
    reached in order, TLS (None without it) and the last EHLO's keywords."""

    at: str
    ok: bool
    stage: str | None
    code: int | None
    message: str
    ms: int = 0
    mode: str = "send"
    stages: tuple[StageTime, ...] = ()
    tls: TlsFacts | None = None
    capabilities: tuple[str, ...] = ()
