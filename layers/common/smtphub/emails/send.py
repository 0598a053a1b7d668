"""emails/send: judge the request as upstream does, then store the e-mail so that the sender finds it.

The checks, cheapest first; the first that applies answers (each a 406 with upstream's words):
the app (`App not found`), where the request comes from (smtphub.emails.origins), tracking or an unsubscribe
link with CC or BCC, the addresses (`from`, `to`, `replyto`; invalid CC and BCC addresses, and invalid TO
addresses beside a valid one, are skipped and listed in `notvalidrecipients`), an active server of the app
(one Query), DNS (the sender's domain exists, `replyto`'s domain has MX: when the deployment checks DNS),
the blacklist (when the app uses it), the month's count.

The writes, in an order that survives a crash at any point:
1. the content (subject, body, attachments) to S3: an object whose record never comes is deleted by the
   bucket's lifecycle (and at once when the month's count refuses the e-mail);
2. the record and the month's count in one transaction, the record held in byWake (`wakeat`) until a little
   after it is due: if this request dies before step 3, the sweep sends the e-mail's message itself;
3. the message on the send queue, delayed until `senddate` (SQS delays up to 15 minutes), or nothing when it
   is farther away: the sweep sends it when due. A failed SendMessage is logged, not answered as a failure:
   the e-mail is stored and the sweep sends it (step 2's safety net).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from smtphub.accounts.monthly import MonthlyCounter
from smtphub.addresses import domain_of, is_address
from smtphub.emails import origins
from smtphub.emails.content import Content, ContentStore
from smtphub.emails.dns import Resolver
from smtphub.emails.idempotency import Idempotency
from smtphub.emails.models import (
    LOG_DAYS,
    QUEUED,
    SAFETY_NET_SECONDS,
    Caller,
    Email,
    SendEmail,
    SendingResult,
)
from smtphub.emails.queue import MAX_DELAY, SendQueue, Turn
from smtphub.emails.repository import EmailRepository
from smtphub.emails.rules import shown
from smtphub.errors import (
    AllBlacklisted,
    InvalidFrom,
    InvalidInput,
    InvalidReplyTo,
    InvalidTo,
    MonthlyLimitExceeded,
    NoActiveSmtp,
    NoValidRecipients,
    ReplyToWithoutMx,
    SenderDomainNotFound,
    TrackingWithCc,
    UnregisterWithCc,
)
from smtphub.ids import iso_of, new_id
from smtphub.observability import logger

if TYPE_CHECKING:
    from smtphub.apps.models import App
    from smtphub.apps.repository import AppRepository
    from smtphub.smtps.repository import SmtpRepository


MAX_DAYS_AHEAD = 365


def max_days_ahead(content_max_age_days: int) -> int:
    """How far ahead a senddate may be when the bucket keeps content `content_max_age_days` days: the content
    must outlive the e-mail's start, a day of retries and the 30 days a record (and, with retaindata, its
    content) is kept after it finished. At most a year."""
    return max(1, min(MAX_DAYS_AHEAD, content_max_age_days - LOG_DAYS - 2))


class Blacklist(Protocol):
    """Which of these addresses the app's blacklist lists (smtphub.blacklists.BlacklistService.listed)."""

    def listed(self, app_id: str, addresses: Iterable[str]) -> set[str]: ...


class NoBlacklist:
    def listed(self, app_id: str, addresses: Iterable[str]) -> set[str]:
        return set()


class Pace(Protocol):
    """When the app's pacing lets its next e-mail go at the earliest (epoch seconds), None when now."""

    def earliest(self, app_id: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the e-mail goes to, as judged: valid recipients (TO with their names), what was skipped."""

    sender: str
    sendername: str | None
    tos: list[str]
    tonames: list[str]
    ccs: list[str]
    bccs: list[str]
    notvalid: list[str]
    blacklisted: list[str]

    @property
    def count(self) -> int:
        return len(dict.fromkeys(address.lower() for address in [*self.tos, *self.ccs, *self.bccs]))


class SendService:
    def __init__(
        self,
        apps: AppRepository,
        smtps: SmtpRepository,
        emails: EmailRepository,
        content: ContentStore,
        *,
        queue: SendQueue,
        monthly: MonthlyCounter,
        resolver: Resolver,
        message_id: Callable[[str, str], str],
        pace: Pace | None = None,
        blacklist: Blacklist | None = None,
        idempotency: Idempotency | None = None,
        max_days: int = MAX_DAYS_AHEAD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps, self.smtps, self.emails, self.content = apps, smtps, emails, content
        self.queue, self.monthly, self.resolver = queue, monthly, resolver
        self.message_id = message_id
        self.pace = pace
        self.blacklist = blacklist or NoBlacklist()
        self.idempotency = idempotency
        self.max_days = max_days  # how far ahead senddate may be (the content bucket keeps objects so long)
        self.clock = clock

    def send(
        self,
        command: SendEmail,
        caller: Caller,
        key: str | None = None,
        remaining_ms: Callable[[], int] | None = None,
    ) -> SendingResult:
        """Send once; with an Idempotency-Key `key`, once per account and key (smtphub.emails.idempotency).
        `remaining_ms`: the time left in this invocation (how long the key is held while this runs)."""
        if key is None or self.idempotency is None:
            return self._send(command, caller)
        work = functools.partial(self._send, command, caller)
        return self.idempotency.once(command.account_id, key, command.fingerprint(), work, remaining_ms)

    def _send(self, command: SendEmail, caller: Caller) -> SendingResult:
        if command.senddate and command.senddate > self.clock() + self.max_days * 86400:
            raise InvalidInput({"senddate": f"must be at most {self.max_days} days ahead"})
        app = self.apps.get_live(command.account_id, command.app_id)
        origins.check(app, caller, self.resolver)
        if command.includetracking and (command.ccs or command.bccs):
            raise TrackingWithCc()
        if command.includeunregisterlink and (command.ccs or command.bccs):
            raise UnregisterWithCc()
        envelope = judge(app, command)
        if not self.smtps.has_active(command.account_id, app.id):
            raise NoActiveSmtp()
        self._check_dns(envelope.sender, command.replyto)
        envelope = self._skip_blacklisted(app, envelope)
        if self.monthly.refuses(envelope.count):
            raise MonthlyLimitExceeded()
        now = self.clock()
        due = max(now, command.senddate or now)
        email = self._new(app, command, envelope, now, due)
        self._store(command, email, due)
        return SendingResult.of(email)

    def _check_dns(self, sender: str, replyto: str | None) -> None:
        if self.resolver.domain_exists(domain_of(sender)) is False:
            raise SenderDomainNotFound()
        if replyto and self.resolver.has_mx(domain_of(replyto)) is False:
            raise ReplyToWithoutMx()

    def _skip_blacklisted(self, app: App, envelope: Envelope) -> Envelope:
        if not app.useblacklist:
            return envelope
        everyone = [*envelope.tos, *envelope.ccs, *envelope.bccs]
        listed = {address.lower() for address in self.blacklist.listed(app.id, everyone)}
        if not listed:
            return envelope
        names = envelope.tonames or [""] * len(envelope.tos)  # no names at all is an empty list
        kept = [(to, name) for to, name in zip(envelope.tos, names, strict=True) if to.lower() not in listed]
        if not kept:
            raise AllBlacklisted()
        others = [address for address in everyone if address.lower() in listed]
        return replace(
            envelope,
            tos=[to for to, _ in kept],
            tonames=[name for _, name in kept] if envelope.tonames else [],
            ccs=[a for a in envelope.ccs if a.lower() not in listed],
            bccs=[a for a in envelope.bccs if a.lower() not in listed],
            blacklisted=list(dict.fromkeys(others)),
        )

    def _new(self, app: App, command: SendEmail, envelope: Envelope, now: float, due: float) -> Email:
        """The record: expected to start at `due` or when the app's pacing lets it, whichever is later; held
        in byWake until `due` when that is beyond SQS's delays, else a little after (the safety net)."""
        start = max(due, (self.pace.earliest(app.id) or 0) if self.pace else 0)
        held = due + SAFETY_NET_SECONDS if due - now <= MAX_DELAY else due
        email_id = new_id()
        return Email(
            id=email_id,
            account_id=command.account_id,
            created=iso_of(now),
            modified=iso_of(now),
            status=QUEUED,
            app_id=app.id,
            sender=envelope.sender,
            sendername=envelope.sendername,
            tos=envelope.tos,
            tonames=envelope.tonames,
            ccs=envelope.ccs,
            bccs=envelope.bccs,
            replyto=command.replyto,
            mimetype=command.mimetype,
            subjectencoding=command.subjectencoding,
            bodyencoding=command.bodyencoding,
            includetracking=command.includetracking,
            includeunregisterlink=command.includeunregisterlink,
            attachmenttype=command.attachmenttype,
            urlattachments=list(command.urlattachments),
            attachments=[a.name for a in command.attachments]
            or [shown(url) for url in command.urlattachments],
            messageid=self.message_id(email_id, envelope.sender),
            retaindata=app.retaindata,
            inittime=iso_of(start),
            logsdeleledby=iso_of(start + LOG_DAYS * 86400),
            expires=math.ceil(start + LOG_DAYS * 86400),
            notvalidrecipients=envelope.notvalid,
            blacklisted=envelope.blacklisted,
            wakeat=math.ceil(held),
        )

    def _store(self, command: SendEmail, email: Email, due: float) -> None:
        content = Content(command.subject, command.body, command.attachments)
        key = self.content.put(email.id, content)
        email = replace(email, contentkey=key)
        steps = self.monthly.steps(email.account_id, len(email.recipients), self.clock())
        try:
            self.emails.create(email, steps)
        except MonthlyLimitExceeded:
            self.content.delete([key])
            raise
        delay = math.ceil(due - self.clock())
        if delay > MAX_DELAY:
            logger.info("email held", extra={"idemail": email.id, "wakeat": email.wakeat})
            return
        try:
            self.queue.send([Turn(email.id, email.turn, max(0, delay))])
        except Exception:  # the record is held: the sweep sends it (the module's docstring, step 3)
            logger.exception(
                "email stored, its message not sent: the sweep will", extra={"idemail": email.id}
            )
        else:
            logger.info("email queued", extra={"idemail": email.id, "delay": max(0, delay)})


def judge(app: App, command: SendEmail) -> Envelope:
    """The e-mail's addresses judged (upstream's 406s): the sender (the app's by default), TO (each with its
    name by position), CC and BCC; invalid ones skipped and listed, unless nothing valid is left."""
    sender = command.sender or app.defaultfromemail or ""
    if not is_address(sender):
        raise InvalidFrom()
    names = [*command.tonames, *[""] * len(command.tos)]
    valid_tos = [(to, names[n]) for n, to in enumerate(command.tos) if is_address(to)]
    if not valid_tos:
        raise InvalidTo() if len(command.tos) == 1 else NoValidRecipients()
    if command.replyto and not is_address(command.replyto):
        raise InvalidReplyTo()
    seen: set[str] = set()
    tos, tonames = [], []
    for to, name in valid_tos:
        if to.lower() not in seen:
            seen.add(to.lower())
            tos.append(to)
            tonames.append(name)
    return Envelope(
        sender=sender,
        sendername=command.sendername or app.defaultfromname,
        tos=tos,
        tonames=tonames if any(tonames) else [],
        ccs=_valid(command.ccs, seen),
        bccs=_valid(command.bccs, seen),
        notvalid=list(
            dict.fromkeys(a for a in [*command.tos, *command.ccs, *command.bccs] if not is_address(a))
        ),
        blacklisted=[],
    )


def _valid(addresses: Iterable[str], seen: set[str]) -> list[str]:
    """The valid addresses not seen yet (`seen` grows): a recipient gets one copy however often named."""
    kept = []
    for address in addresses:
        if is_address(address) and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return kept
