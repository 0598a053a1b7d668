"""The message an e-mail becomes (RFC 5322 and MIME bytes) and its envelope.

Rules, each with its test in tests/unit/test_sending_mime.py:
- Bcc addresses are envelope recipients only, never a header. Recipients are To, Cc, then Bcc, each once.
- Every header value is refused (InvalidInput naming the field, never folded or cleaned) when it holds a
  control character (CR and LF included), a line or paragraph separator or a lone surrogate: nothing a
  caller gives can start a header of its own.
- The subject is sent in `subjectencoding` as RFC 2047 encoded words, unless it is plain ASCII that reads
  back the same unencoded (printable, single spaces, no `=?`, short words). The body is in `bodyencoding`,
  7bit when it is short-lined ASCII, else quoted-printable or base64 (whichever is shorter), so that the
  message never needs the server's 8BITMIME. A charset is any ASCII-compatible text encoding Python knows,
  declared by its MIME name (`charset`); another name, or text it cannot encode, is InvalidInput.
- Display names are atoms, quoted strings or encoded words (UTF-8); a To name is matched to its address by
  position, missing names allowed. Attachments are base64 MIME parts with their names (RFC 2231 unless
  plain words) in both the Content-Disposition `filename` and the Content-Type `name`, as mail clients old
  and new look for them; their names are trimmed; a media type that is not a well-formed leaf type is sent
  as application/octet-stream.
- The message needs SMTPUTF8 when an address (envelope, From, To, Cc or Reply-To) is not ASCII: then those
  addresses are UTF-8 in its headers (RFC 6532) and MAIL FROM must ask for it; otherwise it is 7-bit ASCII
  throughout.

Header values are written by smtphub.sending.headers (with the email package's encoders, not its folder,
which is wrong on Python 3.11 and 3.12), the parts by smtphub.sending.parts (binascii, not the email
package's generator, which is too slow for the sender's CPU budget): see there why.
- The Message-ID is the caller's (the same on every attempt: `message_id` makes one at creation); the Date
  is the caller's too.

`build` returns the message unstuffed: the SMTP client's `data_bytes` (smtphub.smtp.client) dot-stuffs it
and ends it for DATA. `for_server` is the "From" rule of a server with a `defaultfromemail`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime

from smtphub.emails.content import Attachment
from smtphub.emails.rules import charset
from smtphub.errors import InvalidInput
from smtphub.sending import parts
from smtphub.sending.headers import allowed, mailbox, subject

MIMETYPES = ("text/plain", "text/html")
BAD_TEXT = "must not hold control characters or line breaks"
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322's ftext
_MESSAGE_ID = re.compile(r"<[!-;=?A-~]+@[!-;=?A-~]+>")  # printable ASCII, no <, > or @ inside


@dataclass(frozen=True, slots=True)
class Draft:
    """An e-mail as the sender has it, upstream's parameters by their meaning."""

    sender: str  # from
    sender_name: str | None  # fromname
    tos: Sequence[str]
    subject: str
    body: str
    message_id: str
    date: datetime
    tonames: Sequence[str | None] = ()  # by position; shorter than tos, or None/"" where there is none
    ccs: Sequence[str] = ()
    bccs: Sequence[str] = ()
    reply_to: str | None = None
    subject_encoding: str = "UTF-8"
    body_encoding: str = "UTF-8"
    mimetype: str = "text/plain"
    attachments: Sequence[Attachment] = field(default=(), repr=False)
    # Headers of one recipient's copy, written after Message-ID as given (ASCII, unfolded): RFC 8058's
    # List-Unsubscribe and List-Unsubscribe-Post (smtphub.sending.copies).
    headers: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one SMTP transaction sends: MAIL FROM, the RCPT TOs, and the message DATA carries."""

    mail_from: str
    recipients: tuple[str, ...]
    message: bytes = field(repr=False)  # CRLF line ends, not dot-stuffed
    smtputf8: bool  # MAIL FROM must ask for SMTPUTF8 (the server must offer it)


def message_id(email_id: str, sender: str) -> str:
    """A Message-ID for the e-mail `email_id` (unique: ids are), chosen once, at creation."""
    domain = sender.rpartition("@")[2].strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii") if domain else ""
    except UnicodeError:
        domain = ""
    if not _MESSAGE_ID.fullmatch(f"<x@{domain}>"):
        domain = "smtp-hub.invalid"
    return f"<{email_id}@{domain}>"


def for_server(draft: Draft, default_email: str | None, default_name: str | None = None) -> Draft:
    """The draft as a server with this `defaultfromemail` sends it. When that address's domain is not the
    e-mail's from's (upstream's "sender domain restricted"), the message is From the server's address, the
    requested address becomes the Reply-To unless the e-mail has one, and the display name stays the
    e-mail's (the server's `defaultfromname` when the e-mail has none). Otherwise the draft is unchanged."""
    if not default_email or _domain(default_email) == _domain(draft.sender):
        return draft
    return replace(
        draft,
        sender=default_email,
        sender_name=draft.sender_name or default_name,
        reply_to=draft.reply_to or draft.sender,
    )


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def build(draft: Draft) -> Outgoing:
    """The message and its envelope; InvalidInput naming every parameter it cannot be built from."""
    problems: dict[str, str] = {}
    headers = _Headers(draft, problems)
    subject_value = _subject(draft, problems)
    body = _body(draft, problems)
    if not all(allowed(attachment.name) for attachment in draft.attachments):
        problems["attachments"] = "names " + BAD_TEXT
    if not all(
        _HEADER_NAME.fullmatch(name) and allowed(value) and value.isascii() for name, value in draft.headers
    ):
        problems["headers"] = BAD_TEXT
    if problems:
        raise InvalidInput(problems)
    date = draft.date if draft.date.tzinfo else draft.date.replace(tzinfo=UTC)
    head = [f"{name}: {value}" for name, value in (*headers.values, ("Subject", subject_value))]
    head += [f"Date: {format_datetime(date)}", f"Message-ID: {draft.message_id}"]
    head += [*(f"{name}: {value}" for name, value in draft.headers), "MIME-Version: 1.0"]
    if draft.attachments:
        content_type, body = parts.mixed([body, *map(parts.attachment, draft.attachments)])
        head.append(content_type)
        body = parts.CRLF + body
    message = "\r\n".join(head).encode("utf-8") + parts.CRLF + body
    recipients = tuple(dict.fromkeys(_envelope(a) for a in (*draft.tos, *draft.ccs, *draft.bccs)))
    smtputf8 = not all(address.isascii() for address in headers.addresses)
    return Outgoing(_envelope(draft.sender), recipients, message, smtputf8)


class _Headers:
    """The address headers of a draft (`values`: name, folded value), each address checked; a problem
    noted for each that is not one."""

    def __init__(self, draft: Draft, problems: dict[str, str]) -> None:
        self.problems = problems
        self.addresses: list[str] = []
        names = list(draft.tonames)
        self.values = [("From", self.entry("from", draft.sender, ("fromname", draft.sender_name)))]
        tos = [
            self.entry("tos", to, ("tonames", names[number] if number < len(names) else None))
            for number, to in enumerate(draft.tos)
        ]
        self.values.append(("To", ",\r\n ".join(tos)))
        if draft.ccs:
            self.values.append(("Cc", ",\r\n ".join(self.entry("ccs", cc) for cc in draft.ccs)))
        for bcc in draft.bccs:
            self.entry("bccs", bcc)
        if draft.reply_to:
            self.values.append(("Reply-To", self.entry("replyto", draft.reply_to)))
        if not draft.tos:
            problems["tos"] = "is required"
        if not _MESSAGE_ID.fullmatch(draft.message_id):
            problems["messageid"] = "must be <left@right> in printable ASCII"

    def entry(self, field_name: str, address: str, name: tuple[str, str | None] = ("", None)) -> str:
        """`"name" <address>`, `=?utf-8?...?= <address>` or `address`, folded."""
        self.addresses.append(address)
        display = name[1] or ""
        if not allowed(display):
            self.problems.setdefault(name[0], BAD_TEXT)
        if not allowed(address):
            self.problems.setdefault(field_name, BAD_TEXT)
            return ""
        try:
            return mailbox(address, display if allowed(display) else "")
        except ValueError:
            self.problems.setdefault(field_name, "must be an e-mail address")
            return ""


def _subject(draft: Draft, problems: dict[str, str]) -> str:
    if not allowed(draft.subject):
        problems["subject"] = BAD_TEXT
        return ""
    try:
        return subject(draft.subject, draft.subject_encoding)
    except InvalidInput as error:
        problems.update(error.fields)
        return ""


def _body(draft: Draft, problems: dict[str, str]) -> bytes:
    """The text part (its own header lines, a blank line, its payload)."""
    if draft.mimetype not in MIMETYPES:
        problems["mimetype"] = "must be text/plain or text/html"
    try:
        name = charset(draft.body_encoding, "bodyencoding")
        encoded = draft.body.encode(name)
    except InvalidInput as error:
        problems.update(error.fields)
        return b""
    except UnicodeError:
        problems["body"] = "holds characters that bodyencoding cannot encode"
        return b""
    return parts.text(encoded, draft.mimetype.partition("/")[2], name)


def _envelope(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"
