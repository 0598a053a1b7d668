"""An e-mail (upstream's "sending"): what was asked, where it stands, what came of each recipient.

The record holds the envelope and the state; the subject, the body and the attachments' bytes are never
in it (they are in S3: smtphub.emails.content). States, upstream's letters:

    Q queued   waiting: in the send queue, or held in the table until the sweep hands it over
    R sending  claimed by one sender, which holds it until `lease`
    F finished every recipient has an outcome and at least one was accepted
    E failed   no recipient was accepted: the servers kept faulting until the e-mail's max age, a server
               rejected the message itself, or no recipient was left to send to
    C cancelled by emails/cancel, only ever from Q: a cancelled e-mail is never sent

Q -> R -> F | E, R -> Q (every server faulted: another round later; or the app's pacing or limits say
wait), Q -> C. `turn` counts the claims and requeues: a queue message names the turn it was sent for, so a
duplicate or stale message claims nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Protocol

from smtphub.emails.content import Attachment
from smtphub.record import Record

QUEUED = "Q"
SENDING = "R"
FINISHED = "F"
FAILED = "E"
CANCELLED = "C"
DONE = (FINISHED, FAILED, CANCELLED)  # what emails/remove accepts
STATUSES = (QUEUED, SENDING, FINISHED, FAILED, CANCELLED)

PLAIN = "text/plain"
HTML = "text/html"
FILE = "FILE"
URL = "URL"
LOG_DAYS = 30  # upstream's free tier: logs (and here the whole record) are deleted 30 days on


@dataclass(frozen=True, slots=True, kw_only=True)
class Email(Record):
    """One e-mail as stored: the envelope (never the subject, body or attachment bytes) and its state."""

    app_id: str
    sender: str  # the From address (upstream's `from`), the app's default filled in
    sendername: str | None = None  # upstream's `fromname`
    tos: list[str] = field(default_factory=list)
    tonames: list[str] = field(default_factory=list)  # by position; "" where a name is missing
    ccs: list[str] = field(default_factory=list)
    bccs: list[str] = field(default_factory=list)
    replyto: str | None = None
    mimetype: str = PLAIN
    subjectencoding: str = "UTF-8"
    bodyencoding: str = "UTF-8"
    includetracking: bool = False
    includeunregisterlink: bool = False
    attachmenttype: str = FILE
    urlattachments: list[str] = field(default_factory=list)  # attachmenttype=URL: fetched by the sender
    attachments: list[str] = field(default_factory=list)  # the attachments' names, as the result lists them
    messageid: str = ""  # the Message-ID header: chosen once, the same on every attempt
    contentkey: str = ""  # the S3 key of the subject, body and attachments (smtphub.emails.content)
    retaindata: bool = False  # the app's, when the e-mail was made: keep the content once done
    inittime: str = ""  # when sending is expected to start (ISO, the contract's format)
    finishtime: str | None = None
    logsdeleledby: str = ""  # upstream's spelling: when the logs (here the whole record) go
    expires: int = 0  # logsdeleledby in epoch seconds: DynamoDB's TTL attribute
    notvalidrecipients: list[str] = field(default_factory=list)
    blacklisted: list[str] = field(default_factory=list)
    autoblacklisted: list[str] = field(default_factory=list)
    attempts: int = 0  # rounds in which every server faulted
    turn: int = 0  # bumped by every claim and requeue (see the module's docstring)
    lease: int | None = None  # epoch seconds: the claiming sender holds the e-mail until then
    holder: str | None = None  # the claim's own token: only its sender may finish or requeue the e-mail
    wakeat: int | None = None  # epoch seconds: held in the table until the sweep sends it then
    sentto: list[str] = field(
        default_factory=list
    )  # accepted by an earlier round (one message per recipient)
    paceslot: int | None = None  # epoch ms: its place in the app's pacing line (smtphub.sending.state)

    @property
    def recipients(self) -> list[str]:
        """Every envelope recipient, TO, CC and BCC, in that order, each once."""
        return list(dict.fromkeys([*self.tos, *self.ccs, *self.bccs]))

    @property
    def done(self) -> bool:
        return self.status in DONE


@dataclass(frozen=True, slots=True)
class EmailRef:
    """One of the account's e-mails (info, cancel, remove, its logs)."""

    account_id: str
    email_id: str


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One outcome of one attempt for one recipient (upstream's LogDTO, plus the reply that decided it).

    `resultcode` is upstream's (OK, BLACKLISTED, AUTOBLACKLISTED, ATTACHMENT_PROBLEM, SMTP_CONNECT_FAILS,
    SMTP_CONNECT_TIMEOUT, NO_EFFECTIVE_RECIPIENTS) or this service's (README, "Sending"). `code` and
    `message` are the SMTP reply that decided it, scrubbed of every credential; None where none came.
    """

    id: str
    email_id: str
    created: str
    to: str
    resultcode: str
    smtp_id: str | None = None
    app_id: str | None = None
    code: int | None = None
    message: str | None = None


# --- what the API asks and answers (smtphub.emails.send, smtphub.emails.service) --------------------------
MAX_RECIPIENTS = 100  # TO, CC and BCC together: what RFC 5321 (4.5.3.1.8) has every server accept at least
MAX_ATTACHMENTS = 20
MAX_URL_ATTACHMENTS = 10
MAX_SUBJECT = 998  # characters: RFC 5322's line, before any encoding
SAFETY_NET_SECONDS = 120  # a new e-mail waits in byWake this long after it is due, should its message be lost


@dataclass(frozen=True, slots=True, kw_only=True)
class SendEmail:
    """emails/send: the e-mail as the request asked for it. Addresses are as given (split, trimmed): whether
    each is one is the service's to judge, since upstream answers those with its 406s, not a 400."""

    account_id: str
    app_id: str
    tos: tuple[str, ...]
    tonames: tuple[str, ...] = ()  # by position; "" where none
    ccs: tuple[str, ...] = ()
    bccs: tuple[str, ...] = ()
    sender: str | None = None  # `from`; None: the app's default
    sendername: str | None = None  # `fromname`; None: the app's default
    replyto: str | None = None
    subject: str
    body: str
    mimetype: str = PLAIN
    subjectencoding: str = "UTF-8"
    bodyencoding: str = "UTF-8"
    attachments: tuple[Attachment, ...] = ()
    attachmenttype: str = FILE
    urlattachments: tuple[str, ...] = ()
    includetracking: bool = False
    includeunregisterlink: bool = False
    senddate: float | None = None  # epoch seconds; None: now

    def fingerprint(self) -> str:
        """A digest of everything the e-mail says and does (the account aside): the same for a retry of the
        same request however it was spelled (form, multipart or JSON, parameters in any order), another for
        any other parameter or attachment byte (an Idempotency-Key's payload check)."""
        digest = hashlib.sha256()
        for name in _FINGERPRINTED:
            digest.update(json.dumps([name, getattr(self, name)], ensure_ascii=True).encode("ascii"))
        for item in self.attachments:
            header = json.dumps([item.name, item.content_type, len(item.data)], ensure_ascii=True)
            digest.update(header.encode("ascii"))
            digest.update(hashlib.sha256(item.data).digest())
        return digest.hexdigest()


_FINGERPRINTED = tuple(f.name for f in fields(SendEmail) if f.name not in ("account_id", "attachments"))


@dataclass(frozen=True, slots=True)
class Caller:
    """Where an emails/send request came from: the caller's IP (API Gateway's sourceIp) and the host of the
    page that sent it (its Origin header, else its Referer's), for the app's `originserver` and
    `origindomain`."""

    ip: str | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class SendingResult:
    """Upstream's sending result (SendingResultDTO): what emails/send answers, and what a retry with the same
    Idempotency-Key answers again."""

    id: str
    status: str
    inittime: str
    logsdeleledby: str
    attachments: list[str]
    blacklisted: list[str]
    autoblacklisted: list[str]
    notvalidrecipients: list[str]

    @classmethod
    def of(cls, email: Email) -> SendingResult:
        return cls(
            email.id,
            email.status,
            email.inittime,
            email.logsdeleledby,
            list(email.attachments),
            list(email.blacklisted),
            list(email.autoblacklisted),
            list(email.notvalidrecipients),
        )


class Opened(Protocol):
    """An open of an e-mail, as smtphub.tracking records it (its TrackEvent; upstream's TrackingDTO)."""

    @property
    def id(self) -> str: ...
    @property
    def sending_id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def created(self) -> str: ...
    @property
    def ip(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class EmailInfo:
    """emails/info: the e-mail, its log, and its opens."""

    email: Email
    log: list[LogEntry]
    opened: list[Opened] = field(default_factory=list)
