"""EHLO and AUTH on a `Session`: what the server offers, and proving who we are without leaking how.

AUTH sends credentials only over an encrypted connection (implicit TLS or after STARTTLS) unless the
plan says `insecure_auth`: otherwise the check fails at AUTH before a single credential byte is sent.
Replies to AUTH are never quoted (a server could echo what it was sent, in an encoding no scrubbing
recognises); only their codes are kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from smtphub.check.session import Session, SmtpReply

SUPPORTED = ("PLAIN", "LOGIN", "CRAM-MD5")
CLEAR_TEXT_REFUSED = (
    "Refusing to send the password over an unencrypted connection: turn starttls or sslTls on, "
    "or set insecureauth=true if you accept the risk"
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


def authenticate(session: Session, username: str, password: str) -> None:
    """AUTH with the first supported mechanism the server offers; fails at AUTH unless it says 235."""
    if not session.tls and not session.plan.insecure_auth:
        session.fail(CLEAR_TEXT_REFUSED)  # before AUTH is even sent: nothing of the credentials leaves
    if "AUTH" not in session.extensions:
        hint = ""
        if not session.tls and "STARTTLS" in session.extensions:
            hint = "; it offers STARTTLS: turn starttls on, as most servers offer AUTH only over TLS"
        session.fail(f"The server does not offer AUTH{hint}, or turn auth off if it relays without it")
    offered = session.extensions["AUTH"].upper().split()
    user, secret = username.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in offered:
        reply = _plain(session, user, secret)
    elif "LOGIN" in offered:
        reply = _login(session, user, secret)
    elif "CRAM-MD5" in offered:
        reply = _cram_md5(session, user, secret)
    else:
        names = [name for name in offered if _MECHANISM.fullmatch(name)]
        shown = session.scrub(" ".join(names)) or "none"
        session.fail(f"None of the server's AUTH mechanisms ({shown}) is supported ({', '.join(SUPPORTED)})")
    if reply.code == 235:
        return
    # Replies to AUTH are never quoted: a server could echo what it was sent.
    message = _AUTH_FAILURES.get(reply.code, "The server refused AUTH")
    session.fail(f"{message} ({reply.code})", reply.code)


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
