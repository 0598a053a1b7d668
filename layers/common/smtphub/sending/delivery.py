"""One SMTP transaction: an e-mail's message on one server, on the SMTP client the check shares
(smtphub.smtp: the SSRF guard, the deadline, TLS, STARTTLS-when-offered before AUTH, scrubbing).

Every outcome is classified (`Attempt.kind`), because what the sender does next depends on it:

- SERVER_FAULT: the server could not take the message now (DNS, CONNECT, TLS, AUTH, a timeout, a `421`, any
  4xx before the message is accepted, SMTPUTF8 not offered when the message needs it): the next server is
  tried, and the server's shared fault state counts it (smtphub.sending.servers).
- REJECTED: a 5xx to MAIL FROM or to the message itself (DATA, or the reply after it): the e-mail fails
  without trying another server (content one server refused is never sprayed at the next).
- DELIVERED: the message was accepted for at least one recipient; `refused` lists the recipients a 5xx to
  RCPT TO turned away (each with its scrubbed reply), the others went on.
- NO_RECIPIENT: every recipient got a 5xx to RCPT TO: nothing was sent, the e-mail fails.

`resultcode` is what the log row says: upstream's OK, SMTP_CONNECT_FAILS, SMTP_CONNECT_TIMEOUT,
NO_EFFECTIVE_RECIPIENTS, and this service's SMTP_AUTH_FAILS, SMTP_TEMPORARY_FAILURE, RECIPIENT_REJECTED,
MESSAGE_REJECTED (README, "Sending"). Every message quoted is the session's scrubbed text; replies to AUTH
are never quoted.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from smtphub.sending.mime import Outgoing
from smtphub.smtp.client import data_bytes, ehlo_name, login, quit_politely, session_for
from smtphub.smtp.endpoint import OAuth, endpoint_fields
from smtphub.smtp.limits import Deadline, Limits
from smtphub.smtp.session import Session, SmtpReply
from smtphub.smtp.stages import AUTH, DATA, MAIL, RCPT, StageFailure
from smtphub.smtp.tls import TlsContext
from smtphub.smtps.models import Smtp

DELIVERED, SERVER_FAULT, REJECTED, NO_RECIPIENT = "delivered", "server-fault", "rejected", "no-recipient"
OK = "OK"
CONNECT_FAILS = "SMTP_CONNECT_FAILS"
CONNECT_TIMEOUT = "SMTP_CONNECT_TIMEOUT"
AUTH_FAILS = "SMTP_AUTH_FAILS"
TEMPORARY = "SMTP_TEMPORARY_FAILURE"
RECIPIENT_REJECTED = "RECIPIENT_REJECTED"
MESSAGE_REJECTED = "MESSAGE_REJECTED"
NO_EFFECTIVE_RECIPIENTS = "NO_EFFECTIVE_RECIPIENTS"


@dataclass(frozen=True, slots=True)
class Target:
    """A server as the sender talks to it (an smtphub.smtp Endpoint), built by `target_for`."""

    smtp_id: str
    host: str
    port: int
    ssltls: bool = False
    starttls: bool = False
    auth: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure_auth: bool = False
    authmech: str = "auto"
    oauth: OAuth | None = None
    tls_verify: bool = True
    cacert: str | None = None
    tls_min: str = "1.2"
    helo: str | None = None
    debug: bool = False

    @property
    def xoauth2(self) -> bool:
        return self.auth and self.authmech == "XOAUTH2"

    @property
    def secrets(self) -> list[str]:
        return self.oauth.secrets() if self.oauth is not None else []


def target_for(smtp: Smtp, values: Mapping[str, str]) -> Target:
    """The server `smtp` with its write-only `values` (read by the versions its record names)."""
    return Target(smtp_id=smtp.id, **endpoint_fields(smtp, values))


@dataclass(frozen=True, slots=True)
class Refusal:
    """One recipient a server turned away: its reply code and scrubbed text."""

    recipient: str
    code: int
    message: str


@dataclass(slots=True)
class Attempt:
    """What came of one transaction on one server (module docstring)."""

    kind: str
    resultcode: str
    stage: str | None = None
    code: int | None = None
    message: str = ""
    accepted: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Connection:
    """How the sender opens a conversation (the settings, and what tests replace)."""

    limits: Limits
    seconds: float
    allow_private: bool = False
    tls_context: TlsContext = ssl.create_default_context
    oauth_endpoints: Mapping[str, str] | None = None


def deliver(target: Target, outgoing: Outgoing, how: Connection) -> Attempt:
    """Send `outgoing` through `target`: one connection, one transaction, then QUIT. Never raises for
    anything the server or the network does."""
    deadline = Deadline(how.seconds, "delivery")
    session = session_for(target, limits=how.limits, deadline=deadline, tls_context=how.tls_context)
    try:
        helo = target.helo or ehlo_name(outgoing.mail_from)
        login(session, helo=helo, allow_private=how.allow_private, oauth_endpoints=how.oauth_endpoints)
        return _transaction(session, outgoing)
    except StageFailure as failure:
        return _fault(failure)
    finally:
        if session.sock is not None:
            session.sock.close()


def _fault(failure: StageFailure) -> Attempt:
    """A conversation that ended early: a server fault, unless a 5xx ended it at MAIL or DATA."""
    if failure.stage in (MAIL, DATA) and failure.code is not None and failure.code >= 500:
        return Attempt(REJECTED, MESSAGE_REJECTED, failure.stage, failure.code, failure.message)
    if failure.timeout:
        code = CONNECT_TIMEOUT
    elif failure.stage == AUTH:
        code = AUTH_FAILS
    elif failure.stage in (MAIL, RCPT, DATA) or (failure.code is not None and 400 <= failure.code < 500):
        code = TEMPORARY
    else:
        code = CONNECT_FAILS
    return Attempt(SERVER_FAULT, code, failure.stage, failure.code, failure.message)


def _transaction(session: Session, outgoing: Outgoing) -> Attempt:
    """MAIL, RCPT for each recipient, DATA, the message; StageFailure for a fault or a rejection."""
    session.enter(MAIL)
    if outgoing.smtputf8 and "SMTPUTF8" not in session.extensions:
        session.fail("The message has non-ASCII addresses and the server does not offer SMTPUTF8")
    reply = session.command(f"MAIL FROM:<{outgoing.mail_from}>" + (" SMTPUTF8" if outgoing.smtputf8 else ""))
    if reply.code != 250:
        session.refused(reply, f"The server refused the sender {outgoing.mail_from}")
    session.enter(RCPT)
    accepted, refused = _recipients(session, outgoing.recipients)
    if not accepted:
        _reset_and_quit(session)
        detail = "; ".join(f"{item.recipient}: {item.message}" for item in refused)
        return Attempt(NO_RECIPIENT, NO_EFFECTIVE_RECIPIENTS, RCPT, None, detail, [], refused)
    session.enter(DATA)
    reply = session.command("DATA")
    if reply.code != 354:
        session.refused(reply, "The server refused DATA")
    data = data_bytes(outgoing.message)
    session.send(data, f"<message, {len(data)} bytes>")
    reply = session.reply()
    if reply.code != 250:
        session.refused(reply, "The server did not accept the message")
    text = session.quote(reply)
    quit_politely(session)
    return Attempt(DELIVERED, OK, None, reply.code, f"{reply.code} {text}".strip(), accepted, refused)


def _recipients(session: Session, recipients: tuple[str, ...]) -> tuple[list[str], list[Refusal]]:
    """RCPT TO each: accepted (250, 251), refused (5xx); a 4xx is the server's fault (StageFailure)."""
    accepted: list[str] = []
    refused: list[Refusal] = []
    for recipient in recipients:
        reply = session.command(f"RCPT TO:<{recipient}>")
        if reply.code in (250, 251):
            accepted.append(recipient)
        elif reply.code >= 500:
            refused.append(Refusal(recipient, reply.code, _said(session, reply)))
        else:
            session.refused(reply, f"The server could not take the recipient {recipient} now")
    return accepted, refused


def _said(session: Session, reply: SmtpReply) -> str:
    text = session.quote(reply)
    return f"{reply.code} {text}".strip()


def _reset_and_quit(session: Session) -> None:
    try:
        session.command("RSET", record=False)
    except StageFailure:
        return
    quit_politely(session)
