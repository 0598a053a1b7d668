"""One claimed e-mail's send: its content, its app's servers in the strategy's order, pacing, each server's
windows, delivery with failover, and the verdict (smtphub.sending.sender writes it).

The rules (README, "Sending"):
- the servers: the app's active ones, minus those in cool-down (smtphub.sending.servers), in the app's
  strategy's order (smtphub.sending.strategy); none at all is a failed round, as every server faulting is;
- pacing: the app's `timebetweenemails`, granted once per e-mail just before its first server is tried
  (smtphub.sending.state.Pacer); refused, the e-mail waits for its slot (back to Q, not an attempt);
- limits: a server at its `maxperminute` or `maxperday` is passed over; when every server left is, the
  e-mail waits for the earliest window's end (not an attempt);
- failover: a server fault moves the e-mail to the next server; a rejection of the message ends it (E);
  a delivery to at least one recipient finishes it (F); every server faulted: another round with backoff
  (about 1 min doubling to 1 h) until `max_age` after its inittime, then E.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from smtphub.sending.servers import ServerState
from smtphub.sending.state import Pacer, Windows
from smtphub.smtps.models import Smtp

RETRY_FIRST = 60  # seconds: the first retry's wait, doubling
RETRY_MAX = 3600
CONTENT_PROBLEM = "CONTENT_PROBLEM"  # the content is gone or unreadable (the e-mail fails)
NO_SERVER = "NO_ACTIVE_SERVER"  # the app has no active server (a failed round)
PERMANENT = (550, 551, 553)  # a recipient refused with one of these: the auto-blacklist's hook


class Sources(Protocol):
    """What a job reads besides the e-mail (smtphub.sending.sender's per-batch reads)."""

    def content(self, email: Email) -> Content: ...
    def fetch(self, urls: list[str]) -> list[Attachment]: ...
    def app(self, email: Email) -> tuple[App | None, list[Smtp]]: ...
    def target(self, smtp: Smtp) -> Target: ...


class Rejected(Protocol):
    """Told of each recipient a server refused permanently (550, 551, 553): auto-blacklisting's hook."""

    def __call__(self, email: Email, recipient: str, code: int) -> None: ...


def no_rejected_hook(email: Email, recipient: str, code: int) -> None:
    """Today's hook: nothing (issue 25 fills it)."""


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


@dataclass(eq=False)
class Job:
    sources: Sources
    pacer: Pacer
    windows: Windows
    servers: ServerState
    connection: Connection
    max_age_hours: int
    rejected: Rejected = no_rejected_hook
    clock: Callable[[], float] = field(default=time.time)

    def run(self, email: Email) -> Verdict:
        log = _Log(email, self.clock)
        try:
            content = self.sources.content(email)
            extra = self.sources.fetch(email.urlattachments) if email.urlattachments else []
        except (ContentError, AttachmentProblem) as problem:
            code = ATTACHMENT_PROBLEM if isinstance(problem, AttachmentProblem) else CONTENT_PROBLEM
            return log.all(FAILED, code, None, None, problem.message)
        app, smtps = self.sources.app(email)
        if app is None:
            return log.all(FAILED, NO_SERVER, None, None, "The e-mail's app is gone")
        draft = self._draft(email, content, [*content.attachments, *extra])
        order = strategy.order(smtps, app.strategy, usable=self.servers.usable)
        if not order:
            return self._round_failed(log, "The app has no active SMTP server out of cool-down")
        if app.timebetweenemails > 0:
            turn = self.pacer.turn(app.id, app.timebetweenemails, email.paceslot)
            if not turn.granted:
                return Verdict(email, QUEUED, log.rows, wake=turn.at_ms / 1000, paceslot=turn.slot_ms)
        return self._failover(email, log, draft, order)

    def _failover(self, email: Email, log: _Log, draft: Draft, order: list[Smtp]) -> Verdict:
        windows_end: list[float] = []
        faults: dict[str, int] = {}
        for smtp in order:
            full = self.windows.take(smtp.id, smtp.maxperminute, smtp.maxperday)
            if full is not None:
                windows_end.append(full.until)
                continue
            try:
                outgoing = build(for_server(draft, smtp.defaultfromemail, smtp.defaultfromname))
            except InvalidInput as error:  # the API validated the same: only a server's From can fail
                return log.all(FAILED, delivery.MESSAGE_REJECTED, smtp.id, None, str(error))
            attempt = delivery.deliver(self.sources.target(smtp), outgoing, self.connection)
            log.attempt(smtp.id, attempt, outgoing.recipients)
            if attempt.kind == delivery.SERVER_FAULT:
                faults[str(attempt.stage)] = faults.get(str(attempt.stage), 0) + 1
                self.servers.fault(smtp, attempt)
                continue
            self._tell_rejected(email, attempt)
            if attempt.kind == delivery.DELIVERED:
                self.servers.success(smtp)
            status = FINISHED if attempt.kind == delivery.DELIVERED else FAILED
            return Verdict(email, status, log.rows, faults=faults)
        if windows_end:  # the servers left are at their limits: wait, not an attempt
            return Verdict(email, QUEUED, log.rows, wake=min(windows_end), faults=faults)
        verdict = self._round_failed(log, None)
        verdict.faults = faults
        return verdict

    def _round_failed(self, log: _Log, why: str | None) -> Verdict:
        """Every server faulted (or none was there): again after the backoff, or E past the max age."""
        email = log.email
        if why is not None:
            log.all(QUEUED, NO_SERVER, None, None, why)
        wake = self.clock() + min(RETRY_FIRST * 2**email.attempts, RETRY_MAX)
        if wake > _epoch(email.inittime or email.created) + self.max_age_hours * 3600:
            return Verdict(email, FAILED, log.rows, attempt=True)
        return Verdict(email, QUEUED, log.rows, wake=wake, attempt=True)

    def _tell_rejected(self, email: Email, attempt: Attempt) -> None:
        for refusal in attempt.refused:
            if refusal.code in PERMANENT:
                self.rejected(email, refusal.recipient, refusal.code)

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


class _Log:
    """The log rows of one e-mail's job: one per recipient per attempt, ids ordered by time."""

    _lock = threading.Lock()
    _sequence = 0

    def __init__(self, email: Email, clock: Callable[[], float]) -> None:
        self.email = email
        self.clock = clock
        self.rows: list[LogEntry] = []

    def row(self, to: str, resultcode: str, smtp_id: str | None, code: int | None, message: str) -> None:
        now = self.clock()
        created = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.rows.append(
            LogEntry(
                id=_row_id(now),
                email_id=self.email.id,
                created=created,
                to=to,
                resultcode=resultcode,
                smtp_id=smtp_id,
                app_id=self.email.app_id,
                code=code,
                message=message or None,
            )
        )

    def all(
        self, status: str, resultcode: str, smtp_id: str | None, code: int | None, message: str
    ) -> Verdict:
        for to in self.email.recipients:
            self.row(to, resultcode, smtp_id, code, message)
        return Verdict(self.email, status, self.rows)

    def attempt(self, smtp_id: str, attempt: Attempt, recipients: tuple[str, ...]) -> None:
        refused = {refusal.recipient: refusal for refusal in attempt.refused}
        for to in recipients:
            if to in refused:
                item = refused[to]
                self.row(to, delivery.RECIPIENT_REJECTED, smtp_id, item.code, item.message)
            else:
                self.row(to, attempt.resultcode, smtp_id, attempt.code, attempt.message)


def _row_id(now: float) -> str:
    """24 hex: epoch milliseconds (12), a per-container sequence (4), random (8): sorts by time."""
    with _Log._lock:
        _Log._sequence = (_Log._sequence + 1) % 0x10000
        sequence = _Log._sequence
    return f"{int(now * 1000):012x}{sequence:04x}{secrets.token_hex(4)}"


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
