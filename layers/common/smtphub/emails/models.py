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

from dataclasses import dataclass, field

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
