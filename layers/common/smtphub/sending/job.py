"""One claimed e-mail's send: its content, its app's servers in the strategy's order, pacing, each server's
windows, delivery with failover, and the verdict (smtphub.sending.sender writes it).

The rules (README, "Sending"):
- the servers: the app's active ones, minus those in cool-down (smtphub.sending.servers), in the app's
  strategy's order (smtphub.sending.strategy); none at all is a failed round, as every server faulting is;
- pacing: the app's `timebetweenemails`, granted once per e-mail just before its first server is tried
  (smtphub.sending.state.Pacer); refused, the e-mail waits for its slot (back to Q, not an attempt);
- limits: a server at its `maxperminute` or `maxperday` is passed over; when every server left is, the
  e-mail waits for the earliest window's end (not an attempt);
- one message, or with `includetracking` or `includeunregisterlink` one per TO recipient (the API refuses
  CC and BCC then), each made by the personalization hook (`Personalize`, smtphub.sending.copies);
  the recipients accepted are kept on the record (`sentto`), so a later round sends only to the others;
- failover: a server fault moves the e-mail (what is left of it) to the next server; a rejection of the
  message ends it (E); a delivery to at least one recipient finishes it (F); every server faulted: another
  round with backoff (about 1 min doubling to 1 h) until `max_age` after its inittime, then E (F when an
  earlier round's message was accepted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from smtphub.apps.models import App
from smtphub.emails.content import Attachment, Content, ContentError
from smtphub.emails.models import FAILED, FINISHED, QUEUED, Email, LogEntry
from smtphub.errors import InvalidInput
from smtphub.sending import delivery, strategy
from smtphub.sending.attachments import RESULT_CODE as ATTACHMENT_PROBLEM
from smtphub.sending.attachments import AttachmentProblem
from smtphub.sending.delivery import Attempt, Connection, Target
from smtphub.sending.mime import Draft, build, for_server
from smtphub.sending.rows import Rows
from smtphub.sending.servers import ServerState
from smtphub.sending.state import Pacer, Windows
from smtphub.smtps.models import Smtp

RETRY_FIRST = 60  # seconds: the first retry's wait, doubling
RETRY_MAX = 3600
CONTENT_PROBLEM = "CONTENT_PROBLEM"  # the content is gone or unreadable (the e-mail fails)
NO_SERVER = "NO_ACTIVE_SERVER"  # the app has no active server (a failed round)
PERMANENT = (550, 551, 553)  # a recipient refused with one of these: the auto-blacklist's hook
AUTOBLACKLISTED = "AUTOBLACKLISTED"  # upstream's resultcode of the row saying the hook listed a recipient


class Sources(Protocol):
    """What a job reads besides the e-mail (smtphub.sending.sender's per-batch reads)."""

    def content(self, email: Email) -> Content: ...
    def fetch(self, urls: list[str]) -> list[Attachment]: ...
    def app(self, email: Email) -> tuple[App | None, list[Smtp]]: ...
    def target(self, smtp: Smtp) -> Target: ...


class Personalize(Protocol):
    """Makes one TO recipient's own message of `email` (tracking pixel, rewritten links, unsubscribe:
    smtphub.sending.copies)."""

    def __call__(self, email: Email, draft: Draft, recipient: str) -> Draft: ...


def same_for_everyone(email: Email, draft: Draft, recipient: str) -> Draft:
    """No personalization: every recipient's copy is the e-mail as written."""
    return draft


class Rejected(Protocol):
    """Told of each recipient a server refused permanently (550, 551, 553): auto-blacklisting's hook;
    whether it newly listed the recipient (then the e-mail's `autoblacklisted` and an AUTOBLACKLISTED row
    say so)."""

    def __call__(self, email: Email, recipient: str, code: int) -> bool: ...


def no_rejected_hook(email: Email, recipient: str, code: int) -> bool:
    """No auto-blacklisting: nobody is listed."""
    return False


@dataclass(slots=True)
class Verdict:
    """What a job decided: F or E (final), or Q (wait until `wake`; `attempt`: a failed round)."""

    email: Email
    status: str
    rows: list[LogEntry] = field(default_factory=list)
    wake: float | None = None
    attempt: bool = False
    paceslot: int | None = None
    faults: dict[str, int] = field(default_factory=dict)  # stage -> count, for the metric
    sentto: list[str] = field(default_factory=list)  # recipients accepted this round (per-recipient path)
    autoblacklisted: list[str] = field(default_factory=list)  # recipients listed this round (the hook)


@dataclass(slots=True)
class _Round:
    """One round's progress: the messages left, who was accepted, the windows that were full, faults."""

    log: Rows
    pending: list[Draft]
    sent: list[str] = field(default_factory=list)
    autoblacklisted: list[str] = field(default_factory=list)
    windows_end: list[float] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class Job:
    sources: Sources
    pacer: Pacer
    windows: Windows
    servers: ServerState
    connection: Connection
    max_age_hours: int
    rejected: Rejected = no_rejected_hook
    personalize: Personalize = same_for_everyone
    clock: Callable[[], float] = field(default=time.time)

    def run(self, email: Email) -> Verdict:
        log = Rows(email, self.clock)
        try:
            content = self.sources.content(email)
            extra = self.sources.fetch(email.urlattachments) if email.urlattachments else []
        except (ContentError, AttachmentProblem) as problem:
            code = ATTACHMENT_PROBLEM if isinstance(problem, AttachmentProblem) else CONTENT_PROBLEM
            log.all(code, None, None, problem.message)
            return Verdict(email, FAILED, log.rows)
        app, smtps = self.sources.app(email)
        if app is None:
            log.all(NO_SERVER, None, None, "The e-mail's app is gone")
            return Verdict(email, FAILED, log.rows)
        drafts = self._drafts(email, self._draft(email, content, [*content.attachments, *extra]))
        order = strategy.order(smtps, app.strategy, usable=self.servers.usable)
        if not order:
            log.all(NO_SERVER, None, None, "The app has no active SMTP server out of cool-down")
            return self._round_failed(_Round(log, drafts), [])
        if app.timebetweenemails > 0:
            turn = self.pacer.turn(app.id, app.timebetweenemails, email.paceslot)
            if not turn.granted:
                return Verdict(email, QUEUED, log.rows, wake=turn.at_ms / 1000, paceslot=turn.slot_ms)
        return self._failover(_Round(log, drafts), order)

    def _drafts(self, email: Email, draft: Draft) -> list[Draft]:
        """The messages to send: one, or with tracking or an unsubscribe link one per TO recipient (not yet
        sent to by an earlier round), each through the personalization hook."""
        if not (email.includetracking or email.includeunregisterlink):
            return [draft]
        names = list(email.tonames)
        return [
            self.personalize(email, replace(draft, tos=[to], tonames=[names[n] if n < len(names) else None],
                                     ccs=(), bccs=()), to)
            for n, to in enumerate(email.tos)
            if to not in email.sentto
        ]  # fmt: skip

    def _failover(self, round_: _Round, order: list[Smtp]) -> Verdict:
        """Each message on the servers in order: a fault or a full window moves what is left to the next."""
        for smtp in order:
            if round_.pending:
                self._on_server(round_, smtp)
        if not round_.pending:
            status = FINISHED if round_.sent else FAILED
            return self._verdict(round_, status)
        if round_.windows_end:  # the servers left are at their limits: wait, not an attempt
            wake = min(round_.windows_end)
            return self._verdict(round_, QUEUED, wake=wake)
        return self._round_failed(round_, round_.sent)

    def _on_server(self, round_: _Round, smtp: Smtp) -> None:
        """Send what is pending through `smtp` until it faults or its window is full."""
        log = round_.log
        while round_.pending:
            draft = round_.pending[0]
            full = self.windows.take(smtp.id, smtp.maxperminute, smtp.maxperday)
            if full is not None:
                round_.windows_end.append(full.until)
                return
            try:
                outgoing = build(for_server(draft, smtp.defaultfromemail, smtp.defaultfromname))
            except InvalidInput as error:  # the API validated the same: only a server's From can fail
                log.all(delivery.MESSAGE_REJECTED, smtp.id, None, str(error))
                round_.pending.pop(0)
                continue
            attempt = delivery.deliver(self.sources.target(smtp), outgoing, self.connection)
            log.attempt(smtp.id, attempt, outgoing.recipients)
            if attempt.kind == delivery.SERVER_FAULT:
                round_.faults[str(attempt.stage)] = round_.faults.get(str(attempt.stage), 0) + 1
                self.servers.fault(smtp, attempt)
                return
            round_.pending.pop(0)
            self._tell_rejected(round_, smtp.id, attempt)
            if attempt.kind == delivery.DELIVERED:
                self.servers.success(smtp)
                round_.sent.extend(attempt.accepted)

    def _round_failed(self, round_: _Round, sent: list[str]) -> Verdict:
        """Every server faulted (or none was there): again after the backoff; past the max age, F if an
        earlier message of the round was delivered, else E."""
        email = round_.log.email
        wake = self.clock() + min(RETRY_FIRST * 2**email.attempts, RETRY_MAX)
        if wake > _epoch(email.inittime or email.created) + self.max_age_hours * 3600:
            return self._verdict(round_, FINISHED if sent or email.sentto else FAILED, attempt=True)
        return self._verdict(round_, QUEUED, wake=wake, attempt=True)

    @staticmethod
    def _verdict(round_: _Round, status: str, wake: float | None = None, attempt: bool = False) -> Verdict:
        """The round's verdict: its rows, faults, and the recipients it sent to and listed."""
        return Verdict(
            round_.log.email, status, round_.log.rows, wake=wake, attempt=attempt, faults=round_.faults,
            sentto=round_.sent, autoblacklisted=round_.autoblacklisted,
        )  # fmt: skip

    def _tell_rejected(self, round_: _Round, smtp_id: str, attempt: Attempt) -> None:
        for refusal in attempt.refused:
            if refusal.code in PERMANENT and self.rejected(round_.log.email, refusal.recipient, refusal.code):
                round_.autoblacklisted.append(refusal.recipient)
                message = "Blacklisted automatically: the server refused the mailbox"
                round_.log.row(refusal.recipient, AUTOBLACKLISTED, smtp_id, refusal.code, message)

    def _draft(self, email: Email, content: Content, attachments: list[Attachment]) -> Draft:
        return Draft(
            sender=email.sender,
            sender_name=email.sendername,
            tos=email.tos,
            tonames=[name or None for name in email.tonames],
            ccs=email.ccs,
            bccs=email.bccs,
            reply_to=email.replyto,
            subject=content.subject,
            body=content.body,
            message_id=email.messageid,
            date=datetime.fromtimestamp(self.clock(), UTC),
            subject_encoding=email.subjectencoding,
            body_encoding=email.bodyencoding,
            mimetype=email.mimetype,
            attachments=attachments,
        )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
