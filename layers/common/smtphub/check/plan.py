"""What one check does (`Plan`) and what came of it (`CheckOutcome`, or a `StageFailure` on the way)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from smtphub.check.stages import STAGES
from smtphub.smtps.results import CheckResult, StageTime, TlsFacts

XOAUTH2 = "XOAUTH2"
SEND = "send"  # the default: a real test message, as QueueMail's check
PROBE = "probe"  # up to RCPT, then RSET and QUIT: no message (the scheduled re-checks)
MODES = (SEND, PROBE)


@dataclass(frozen=True, slots=True)
class OAuth:
    """XOAUTH2: where the access token comes from (the contract's `oauth...` settings and secrets)."""

    provider: str  # microsoft, google or generic
    tenant: str | None = None
    client_id: str | None = None
    token_url: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    service_account: str | None = field(default=None, repr=False)  # the JSON key file

    def secrets(self) -> list[str]:
        """Every secret text, and the key file's private key as it is once decoded (the scrubber masks its
        lines too, as the pieces of a secret holding line breaks)."""
        found = [s for s in (self.client_secret, self.refresh_token, self.service_account) if s]
        if self.service_account:
            try:
                key = json.loads(self.service_account).get("private_key")
            except (ValueError, AttributeError, RecursionError):
                key = None
            if isinstance(key, str) and key:
                found.append(key)
        return found


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one check needs; built from the stored server, its app and its write-only values."""

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
    authmech: str = "auto"  # auto (PLAIN, else LOGIN, else CRAM-MD5), PLAIN, LOGIN, CRAM-MD5 or XOAUTH2
    oauth: OAuth | None = None  # XOAUTH2's token source
    tls_verify: bool = True  # False: the certificate is not verified (the outcome says so)
    cacert: str | None = None  # PEM: trust these CAs for this server instead of the system's
    tls_min: str = "1.2"
    helo: str | None = None  # the EHLO name; the sender's domain when None
    mode: str = SEND  # SEND or PROBE

    @property
    def xoauth2(self) -> bool:
        return self.auth and self.authmech == XOAUTH2

    @property
    def secrets(self) -> list[str]:
        """The stored secrets other than the password, for the scrubber."""
        return self.oauth.secrets() if self.oauth is not None else []

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
    mode: str = SEND
    codes: dict[str, int] = field(default_factory=dict)  # the last reply code of each stage
    tls: TlsFacts | None = None  # smtphub.check.tls.describe, scrubbed
    capabilities: list[str] = field(default_factory=list)  # the last EHLO's keywords, scrubbed

    @property
    def stages(self) -> tuple[StageTime, ...]:
        """Each stage reached, in the order of STAGES: its time and the last reply code it got."""
        reached = sorted(self.timings, key=lambda stage: STAGES.index(stage) if stage in STAGES else 99)
        return tuple(StageTime(stage, self.timings[stage], self.codes.get(stage)) for stage in reached)

    def result(self, at: str) -> CheckResult:
        """What the server keeps of this check, done at `at` (every text in it scrubbed)."""
        return CheckResult(
            at=at,
            ok=self.ok,
            stage=self.stage,
            code=self.code,
            message=self.message,
            ms=self.ms,
            mode=self.mode,
            stages=self.stages,
            tls=self.tls,
            capabilities=tuple(self.capabilities),
        )


class StageFailure(Exception):
    """Ends a conversation: the stage it was in, a message safe to show, the SMTP code if any."""

    def __init__(self, stage: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.code = code
