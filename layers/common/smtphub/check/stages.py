"""The stages of a check, in the order a conversation reaches them; a failure names the one it was in."""

from __future__ import annotations

TOKEN = "TOKEN"  # noqa: S105  # nosec B105 - XOAUTH2 only: the access token from the provider's token endpoint (smtphub.check.oauth)
DNS = "DNS"  # resolve the host once; refuse non-public addresses (smtphub.netguard)
CONNECT = "CONNECT"  # TCP connect to a checked address, then the 220 greeting
TLS = "TLS"  # implicit TLS (sslTls) or STARTTLS (starttls); certificate and host name verified
EHLO = "EHLO"  # EHLO (HELO if the server does not know EHLO), again after STARTTLS
AUTH = (
    "AUTH"  # authmech (auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2) when auth is on; never in clear unless allowed
)
MAIL = "MAIL"  # MAIL FROM
RCPT = "RCPT"  # RCPT TO the app's testemail
DATA = "DATA"  # DATA, the message, the 250 that accepts it (then QUIT, whose answer does not matter)
STAGES = (TOKEN, DNS, CONNECT, TLS, EHLO, AUTH, MAIL, RCPT, DATA)
