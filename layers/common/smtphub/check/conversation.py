"""`converse`: one check, stage by stage, from the DNS lookup to the 250 that accepts the message."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Mapping

from smtphub.check.message import build_message, needs_smtputf8
from smtphub.check.plan import PROBE, CheckOutcome, Plan
from smtphub.ids import now_iso
from smtphub.smtp.client import data_bytes, ehlo_name, login, quit_politely, session_for
from smtphub.smtp.limits import Deadline, Limits
from smtphub.smtp.session import Session, SmtpReply
from smtphub.smtp.stages import DATA, MAIL, RCPT, StageFailure
from smtphub.smtp.tls import UNVERIFIED_NOTE, TlsContext, encrypted


def converse(
    plan: Plan,
    *,
    limits: Limits,
    deadline: Deadline,
    allow_private: bool,
    tls_context: TlsContext = ssl.create_default_context,
    at: str | None = None,
    oauth_endpoints: Mapping[str, str] | None = None,
) -> CheckOutcome:
    """Run one check; every failure comes back as a CheckOutcome with its stage, never as an exception.

    `deadline` bounds the whole conversation (create it when the request starts, so the reads before
    count too); `allow_private` lets the check reach loopback and private addresses (local runs only);
    `tls_context` makes the client context for implicit TLS and STARTTLS (the trusted CAs; the plan's
    `cacert`, `tls_verify` and `tls_min` apply on top: smtphub.smtp.tls); `at` is the ISO time the test
    message is dated (now by default); `oauth_endpoints` replaces the providers' token URLs (local runs).
    """
    started = time.monotonic()
    session = session_for(plan, limits=limits, deadline=deadline, tls_context=tls_context)
    outcome: CheckOutcome
    try:
        outcome = _converse(session, plan, allow_private, oauth_endpoints, at or now_iso())
    except StageFailure as failure:
        outcome = CheckOutcome(False, failure.stage, failure.code, failure.message)
    finally:
        if session.sock is not None:
            session.sock.close()
    # every lastcheck says so, success or failure (and when STARTTLS came because it was offered)
    if not plan.tls_verify and (encrypted(plan) or session.tls):
        outcome.message = f"{outcome.message}; {UNVERIFIED_NOTE}"
    session.enter(session.stage)
    outcome.ms = round((time.monotonic() - started) * 1000)
    outcome.timings = dict(session.timings)
    outcome.mode = plan.mode
    outcome.codes = dict(session.codes)
    _what_the_server_said(session, plan, outcome)
    return outcome


def _what_the_server_said(session: Session, plan: Plan, outcome: CheckOutcome) -> None:
    """`tls`, `capabilities` and the transcript; the last two without the server's text when a secret
    hides in all its lines taken together (cut across lines or replies: smtphub.smtp.scrub)."""
    outcome.tls = session.tls_info
    if session.hiding():
        session.codes_only()
        outcome.capabilities = []
    else:
        outcome.capabilities = capabilities(session)
    outcome.transcript = session.transcript if plan.debug else None


MAX_CAPABILITIES = 40


def capabilities(session: Session) -> list[str]:
    """The last EHLO's keywords with their parameters (`AUTH PLAIN LOGIN`, `SIZE 35882577`), scrubbed."""
    shown = (session.scrub(f"{keyword} {value}".strip()) for keyword, value in session.extensions.items())
    return [text for text in shown if text][:MAX_CAPABILITIES]


def _converse(
    session: Session, plan: Plan, allow_private: bool, oauth_endpoints: Mapping[str, str] | None, at: str
) -> CheckOutcome:
    helo = plan.helo or ehlo_name(plan.sender)
    login(session, helo=helo, allow_private=allow_private, oauth_endpoints=oauth_endpoints)
    return _deliver(session, plan, at)


def _deliver(session: Session, plan: Plan, at: str) -> CheckOutcome:
    """MAIL, RCPT, DATA, then QUIT."""
    session.enter(MAIL)
    utf8 = needs_smtputf8(plan)
    if utf8 and "SMTPUTF8" not in session.extensions:
        session.fail("The addresses contain non-ASCII characters and the server does not support SMTPUTF8")
    reply = session.command(f"MAIL FROM:<{plan.sender}>" + (" SMTPUTF8" if utf8 else ""))
    if reply.code != 250:
        hint = ""
        if reply.code == 530 and not session.tls and "STARTTLS" in session.extensions:
            hint = ": the server requires STARTTLS, turn starttls on"
        elif reply.code == 530 and not plan.auth:
            hint = ": the server requires authentication, turn auth on"
        session.refused(reply, f"The server refused the sender {plan.sender}", hint)
    session.enter(RCPT)
    reply = session.command(f"RCPT TO:<{plan.recipient}>")
    if reply.code not in (250, 251):
        hint = ": check the app's testemail" if reply.code in (550, 553) else ""
        session.refused(reply, f"The server refused the recipient {plan.recipient}", hint)
    if plan.mode == PROBE:
        return _probed(session, plan, reply)
    session.enter(DATA)
    reply = session.command("DATA")
    if reply.code != 354:
        session.refused(reply, "The server refused DATA")
    data = data_bytes(build_message(plan, at, session.tls_info.mode if session.tls_info else None))
    session.send(data, f"<message, {len(data)} bytes>")
    reply = session.reply()
    if reply.code != 250:
        session.refused(reply, "The server did not accept the message")
    accepted = session.quote(reply)
    quit_politely(session)
    detail = f"{reply.code} {accepted}" if accepted else str(reply.code)
    return CheckOutcome(
        True, None, reply.code, f"The server accepted the test message for {plan.recipient} ({detail})"
    )


def _probed(session: Session, plan: Plan, accepted: SmtpReply) -> CheckOutcome:
    """A probe ends at RCPT: RSET (the envelope dropped) and QUIT, neither of which counts."""
    with contextlib.suppress(StageFailure):
        session.command("RSET", record=False)
    quit_politely(session)
    detail = session.quote(accepted)
    detail = f"{accepted.code} {detail}" if detail else str(accepted.code)
    return CheckOutcome(
        True,
        None,
        accepted.code,
        f"The server accepted the sender and the recipient {plan.recipient} ({detail}); "
        "probe: no message was sent",
    )
