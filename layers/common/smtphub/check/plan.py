"""What one check does (`Plan`, an smtphub.smtp endpoint) and what came of it (`CheckOutcome`, or a
`StageFailure` on the way: smtphub.smtp.stages)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smtphub.smtp.endpoint import OAuth
from smtphub.smtp.stages import STAGES
from smtphub.smtps.results import CheckResult, StageTime, TlsFacts

XOAUTH2 = "XOAUTH2"
SEND = "send"  # the default: a real test message, as QueueMail's check
PROBE = "probe"  # up to RCPT, then RSET and QUIT: no message (the scheduled re-checks)
MODES = (SEND, PROBE)


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
    """The result of one check; `message` is safe to show and to store (see smtphub.smtp.scrub)."""

    ok: bool
    stage: str | None
    code: int | None
    message: str
    ms: int = 0
    timings: dict[str, int] = field(default_factory=dict)
    transcript: list[str] | None = None
    mode: str = SEND
    codes: dict[str, int] = field(default_factory=dict)  # the last reply code of each stage
    tls: TlsFacts | None = None  # smtphub.smtp.tls.describe, scrubbed
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
