"""The stages of a conversation (a check's, a delivery's), in the order it reaches them; a failure
(`StageFailure`) names the one it was in."""

from __future__ import annotations

TOKEN = "TOKEN"  # noqa: S105  # nosec B105 - XOAUTH2 only: the access token from the provider's token endpoint (smtphub.smtp.oauth)
DNS = "DNS"  # resolve the host once; refuse non-public addresses (smtphub.netguard)
CONNECT = "CONNECT"  # TCP connect to a checked address, then the 220 greeting
TLS = "TLS"  # implicit TLS (sslTls) or STARTTLS (starttls); certificate and host name verified
EHLO = "EHLO"  # EHLO (HELO if the server does not know EHLO), again after STARTTLS
AUTH = (
    "AUTH"  # authmech (auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2) when auth is on; never in clear unless allowed
)
MAIL = "MAIL"  # MAIL FROM
RCPT = "RCPT"  # RCPT TO each recipient (a check's: the app's testemail)
DATA = "DATA"  # DATA, the message, the 250 that accepts it (then QUIT, whose answer does not matter)
STAGES = (TOKEN, DNS, CONNECT, TLS, EHLO, AUTH, MAIL, RCPT, DATA)


class StageFailure(Exception):
    """Ends a conversation: the stage it was in, a message safe to show, the SMTP code if any, and whether
    it was a wait that ran out (`timeout`: no answer in time, rather than a refusal or a broken line)."""

    def __init__(self, stage: str, message: str, code: int | None = None, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.code = code
        self.timeout = timeout
