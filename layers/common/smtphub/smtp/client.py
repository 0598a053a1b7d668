"""The steps every conversation shares, from nothing to a session ready for MAIL, and its end.

`session_for` makes the session of an endpoint (its scrubber knows every secret; its TLS context honours
`cacert`, `tlsverify`, `tlsmin`); `login` runs TOKEN (XOAUTH2), DNS, CONNECT, TLS, EHLO and AUTH (with
STARTTLS when offered: smtphub.smtp.commands); `data_bytes` is what DATA sends; `quit_politely` ends it.
The check (smtphub.check.conversation) and the sender (smtphub.sending.delivery) go on from `login` each
its own way.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smtphub import netguard
from smtphub.smtp.commands import IMPLICIT, authenticate, ehlo, starttls, tls_context
from smtphub.smtp.endpoint import Endpoint
from smtphub.smtp.limits import Deadline, Limits
from smtphub.smtp.scrub import Scrubber
from smtphub.smtp.session import Session
from smtphub.smtp.stages import AUTH, CONNECT, DNS, EHLO, TLS, TOKEN, StageFailure
from smtphub.smtp.tls import TlsContext, client_context

if TYPE_CHECKING:
    from email.message import EmailMessage


def session_for(
    plan: Endpoint,
    *,
    limits: Limits,
    deadline: Deadline,
    tls_context: TlsContext = ssl.create_default_context,
) -> Session:
    """A session with `plan`'s server, not connected yet: bounded by `limits` and `deadline`, scrubbing
    every secret of the plan, its TLS context `tls_context()` with the plan's own settings on top."""
    session = Session(plan, limits, deadline, Scrubber(plan.username, plan.password, *plan.secrets))
    session.tls_context = lambda: client_context(plan, tls_context)
    return session


def login(
    session: Session, *, helo: str, allow_private: bool, oauth_endpoints: Mapping[str, str] | None = None
) -> None:
    """TOKEN (XOAUTH2's access token), DNS, CONNECT, TLS, EHLO `helo`, AUTH: a session ready for MAIL, or a
    StageFailure naming the stage that failed."""
    plan = session.plan
    secret = plan.password or ""
    if plan.xoauth2:
        from smtphub.smtp.oauth import tokens_for  # noqa: PLC0415 - only XOAUTH2 checks load HTTP

        session.stage = TOKEN
        secret = tokens_for(oauth_endpoints).token(session, allow_private=allow_private)
        session.enter(DNS)
    elif plan.auth:
        _credentials_usable(session)
    open_connection(session, helo, allow_private)
    if plan.auth:
        session.enter(AUTH)
        authenticate(session, plan.username or "", secret)


def _credentials_usable(session: Session) -> None:
    """Fail at AUTH before connecting when the credentials could not be sent at all."""
    plan = session.plan
    if not (plan.username and plan.password):
        session.stage = AUTH
        session.fail("No username or password is stored for this server: save it again with both")
    try:
        plan.username.encode("utf-8")
        plan.password.encode("utf-8")
    except UnicodeEncodeError:
        session.stage = AUTH
        session.fail("The username or password is not valid text: save it again")


def open_connection(session: Session, helo: str, allow_private: bool) -> None:
    """DNS, CONNECT, TLS, EHLO: a session ready for AUTH or MAIL, encrypted when configured so."""
    plan = session.plan
    try:
        timeout = session.wait(session.limits.dns)
        addresses = netguard.resolve(plan.host, plan.port, allow_private=allow_private, timeout=timeout)
    except netguard.ResolveError as error:
        session.fail(error.message)
    session.enter(CONNECT)
    session.connect(addresses)
    if plan.ssltls:
        session.enter(TLS)
        session.start_tls(tls_context(session), IMPLICIT)
        session.enter(CONNECT)
    hint = "" if plan.ssltls else " (if this port uses implicit TLS, usually 465, turn sslTls on)"
    greeting = session.reply("greeting", hint)
    if greeting.code != 220:
        session.refused(greeting, "The server refused the connection")
    session.enter(EHLO)
    ehlo(session, helo)
    if plan.starttls:
        starttls(session)
    # With auth and neither setting, authenticate uses STARTTLS when the server offers it.


def quit_politely(session: Session) -> None:
    """QUIT politely, but the message is already accepted: no failure here counts, nor waits long."""
    try:
        session.send("QUIT")
        if session.sock is not None:
            session.sock.settimeout(min(0.5, max(session.deadline.remaining(), 0.01)))
            session.sock.recv(512)
    except (StageFailure, OSError):
        pass


def ehlo_name(sender: str) -> str:
    """What to say after EHLO: the sender's domain (a checking client has no host name of its own)."""
    domain = sender.rpartition("@")[2].strip().rstrip(".")
    return domain if domain.isascii() and domain else "localhost"


def data_bytes(message: EmailMessage | bytes) -> bytes:
    """The message (or its bytes, as smtphub.sending.mime builds them) as DATA sends it: CRLF lines,
    dot-stuffed, ending with <CRLF>.<CRLF>."""
    raw = message if isinstance(message, bytes) else message.as_bytes()
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    return b"\r\n".join(stuffed) + b"\r\n.\r\n"
