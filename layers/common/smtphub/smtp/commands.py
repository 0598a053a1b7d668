"""EHLO, STARTTLS and AUTH on a `Session`: what the server offers, encryption, and proving who we are
without leaking how.

AUTH uses the plan's `authmech`: `auto` takes PLAIN, else LOGIN, else CRAM-MD5, as the server offers; a
named mechanism the server does not offer fails at AUTH with what it offers. XOAUTH2 sends
base64("user=" username ^A "auth=Bearer " token ^A ^A) as the initial response (RFC 4954; Google's and
Microsoft's documented string), and answers a 334 error challenge with an empty line, as the mechanism
requires, to get the final reply. Replies to AUTH are never quoted (a server could echo what it was sent,
in an encoding no scrubbing recognises); only their codes are kept.

Credentials and encryption (`authenticate`, whoever calls it: a check, a probe, a sender):
- on a connection that is not encrypted yet, a server that offers STARTTLS gets it first, whatever the
  plan's `starttls` and `insecure_auth` say (`STARTTLS_OFFERED`): the certificate verified as for
  `starttls=true` (`cacert`, `tlsverify`, `tlsmin`), EHLO again, then AUTH over TLS. If that STARTTLS is
  refused or its handshake fails, the conversation ends there (stage TLS): never a fallback to clear text;
- only a server that offers no STARTTLS gets credentials in clear, and only with `insecure_auth`;
  otherwise the conversation fails at AUTH before a single credential byte is sent, saying so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import ssl
from collections.abc import Callable

from smtphub.smtp.session import Session, SmtpReply
from smtphub.smtp.stages import AUTH, EHLO, TLS

SUPPORTED = ("PLAIN", "LOGIN", "CRAM-MD5")  # what `auto` chooses from, in order
# How TLS came about (`lastcheck.tls.mode`): sslTls, starttls=true, or STARTTLS offered before AUTH.
IMPLICIT, STARTTLS, STARTTLS_OFFERED = "implicit", "starttls", "starttls-offered"
_IN_CLEAR = (
    "Refusing to send the {what} over an unencrypted connection: the server does not offer STARTTLS. "
    "Turn sslTls on if this port expects TLS from the start (usually 465), or set insecureauth=true if "
    "you accept the risk"
)
CLEAR_TEXT_REFUSED = _IN_CLEAR.format(what="password")
TOKEN_IN_CLEAR_REFUSED = _IN_CLEAR.format(what="access token")
XOAUTH2_REFUSED = (
    "The server rejected the access token for {user} ({code}{status}): the mailbox must be the token's "
    "user (Microsoft: the app needs SMTP.SendAsApp and a service principal in Exchange Online, and the "
    "mailbox SMTP AUTH; Google: https://mail.google.com/ for this user)"
)
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}")  # a SASL mechanism name (RFC 4422)
_AUTH_FAILURES = {
    535: "The server rejected the username or password",
    534: "The server wants another authentication method or an app-specific password",
    530: "The server requires encryption before AUTH: turn starttls or sslTls on",
    538: "The server requires encryption before AUTH: turn starttls or sslTls on",
    454: "The server could not authenticate right now (temporary failure): try again later",
}


def ehlo(session: Session, name: str) -> None:
    """EHLO (HELO for a server without ESMTP); the extensions it announces go to `session.extensions`."""
    session.ehlo_name = name
    reply = session.command(f"EHLO {name}")
    session.extensions = {}
    if reply.code in (500, 502, 504):  # a server without ESMTP
        reply = session.command(f"HELO {name}")
        if reply.code != 250:
            session.refused(reply, "The server refused HELO")
        return
    if reply.code != 250:
        session.refused(reply, "The server refused EHLO")
    for line in reply.lines[1:]:
        keyword, _, argument = line.strip().partition(" ")
        if keyword.upper().startswith("AUTH="):  # an old form some servers still send
            keyword, argument = "AUTH", keyword[5:] + " " + argument
        session.extensions[keyword.upper()] = (
            session.extensions.get(keyword.upper(), "") + " " + argument
        ).strip()


def tls_context(session: Session) -> ssl.SSLContext:
    """The session's client context (smtphub.smtp.tls); a failure at the current stage if `cacert` no
    longer loads."""
    try:
        return session.tls_context()
    except (ssl.SSLError, ValueError):
        session.fail("The stored cacert could not be loaded: save the server again with its CA certificates")


def starttls(session: Session, mode: str = STARTTLS) -> None:
    """STARTTLS, the handshake, and EHLO again (what the server said in clear is forgotten); `mode` says
    why (`lastcheck.tls.mode`). Fails at TLS when it is not offered, refused, or the handshake fails."""
    session.enter(TLS)
    if "STARTTLS" not in session.extensions:
        session.fail(
            "The server does not offer STARTTLS: turn starttls off, or use sslTls if the port "
            "expects TLS from the start (usually 465)"
        )
    reply = session.command("STARTTLS")
    if reply.code != 220:
        hint = "" if mode == STARTTLS else ": it offered STARTTLS, and credentials go only over it then"
        session.refused(reply, "The server refused STARTTLS", hint)
    session.start_tls(tls_context(session), mode)
    session.enter(EHLO)
    ehlo(session, session.ehlo_name)


def authenticate(session: Session, username: str, secret: str) -> None:
    """AUTH with the plan's mechanism (`secret`: the password, or XOAUTH2's access token), over TLS: the
    server's STARTTLS first if it offers one and the session is in clear (module docstring); fails at AUTH
    unless the server says 235."""
    xoauth2 = session.plan.authmech == "XOAUTH2"
    if not session.tls and "STARTTLS" in session.extensions:
        starttls(session, STARTTLS_OFFERED)  # never a fallback: a failure here ends the conversation
        session.enter(AUTH)
    if not session.tls and not session.plan.insecure_auth:
        # before AUTH is even sent: nothing of the credentials leaves
        session.fail(TOKEN_IN_CLEAR_REFUSED if xoauth2 else CLEAR_TEXT_REFUSED)
    if "AUTH" not in session.extensions:
        session.fail("The server does not offer AUTH, or turn auth off if it relays without it")
    offered = session.extensions["AUTH"].upper().split()
    mechanism = _mechanism(session, offered)
    user, key = username.encode("utf-8"), secret.encode("utf-8")
    reply = _EXCHANGES[mechanism](session, user, key)
    if reply.code == 235:
        return
    # Replies to AUTH are never quoted: a server could echo what it was sent.
    if xoauth2 and reply.code in (535, 534, 454, 334):
        refused = XOAUTH2_REFUSED.format(user=username, code=reply.code, status=session.xoauth2_status)
        session.fail(refused, reply.code)
    message = _AUTH_FAILURES.get(reply.code, "The server refused AUTH")
    session.fail(f"{message} ({reply.code})", reply.code)


def _mechanism(session: Session, offered: list[str]) -> str:
    """The plan's mechanism if the server offers it; for `auto`, the first of SUPPORTED it offers."""
    wanted = session.plan.authmech
    names = [name for name in offered if _MECHANISM.fullmatch(name)]
    shown = session.scrub(" ".join(names)) or "none"
    if wanted in _EXCHANGES:
        if wanted not in offered:
            session.fail(f"The server does not offer AUTH {wanted} (authmech); it offers {shown}")
        return wanted
    chosen = next((name for name in SUPPORTED if name in offered), None)
    if chosen is None:
        session.fail(f"None of the server's AUTH mechanisms ({shown}) is supported ({', '.join(SUPPORTED)})")
    return chosen


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _plain(session: Session, user: bytes, secret: bytes) -> SmtpReply:
    token = _b64(b"\0" + user + b"\0" + secret)
    reply = session.command(f"AUTH PLAIN {token}", "AUTH PLAIN ***")
    if reply.code == 334:
        reply = session.command(token, "***")
    return reply


def _login(session: Session, user: bytes, secret: bytes) -> SmtpReply:
    reply = session.command("AUTH LOGIN")
    if reply.code == 334:
        reply = session.command(_b64(user), "*** (the username)")
    if reply.code == 334:
        reply = session.command(_b64(secret), "***")
    return reply


def _cram_md5(session: Session, user: bytes, secret: bytes) -> SmtpReply:
    reply = session.command("AUTH CRAM-MD5")
    if reply.code != 334:
        return reply
    try:
        challenge = base64.b64decode(reply.lines[-1].strip(), validate=True)
    except ValueError:
        session.fail("The server sent a malformed CRAM-MD5 challenge")
    digest = hmac.new(secret, challenge, hashlib.md5).hexdigest()
    answer = _b64(user + b" " + digest.encode("ascii"))
    session.scrub.add(answer, answer.rstrip("="), digest)  # an offline-guessable form: never shown
    return session.command(answer, "***")


def _xoauth2(session: Session, user: bytes, token: bytes) -> SmtpReply:
    answer = _b64(b"user=" + user + b"\x01auth=Bearer " + token + b"\x01\x01")
    session.scrub.add(answer, answer.rstrip("="))
    reply = session.command(f"AUTH XOAUTH2 {answer}", "AUTH XOAUTH2 ***")
    if reply.code == 334:  # an error challenge (base64 JSON): an empty answer gets the final reply
        session.xoauth2_status = _challenge_status(reply)
        reply = session.command("", "(empty: the error challenge acknowledged)")
    return reply


def _challenge_status(reply: SmtpReply) -> str:
    """`; XOAUTH2 status 401` from a challenge like Google's {"status":"401","schemes":"Bearer",...}."""
    try:
        details = json.loads(base64.b64decode(reply.lines[-1].strip(), validate=True))
    except ValueError:
        return ""
    status = details.get("status") if isinstance(details, dict) else None
    return (
        f"; XOAUTH2 status {status}"
        if isinstance(status, str) and status.isdigit() and len(status) == 3
        else ""
    )


_EXCHANGES: dict[str, Callable[[Session, bytes, bytes], SmtpReply]] = {
    "PLAIN": _plain,
    "LOGIN": _login,
    "CRAM-MD5": _cram_md5,
    "XOAUTH2": _xoauth2,
}
