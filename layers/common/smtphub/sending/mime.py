"""The message an e-mail becomes (RFC 5322 bytes, built with Python's email package) and its envelope.

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
- Header values are written out by smtphub.sending.headers and kept as written (see there why).
- The message needs SMTPUTF8 when an address (envelope, From, To, Cc or Reply-To) is not ASCII: then its
  headers are UTF-8 (policy SMTPUTF8) and MAIL FROM must ask for it; otherwise it is 7-bit ASCII throughout.
- The Message-ID is the caller's (the same on every attempt: `message_id` makes one at creation); the Date
  is the caller's too.

`build` returns the message unstuffed: the SMTP layer's `data_bytes` (smtphub.check.message) dot-stuffs it
and ends it for DATA. `for_server` is the "From" rule of a server with a `defaultfromemail`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime

from smtphub.emails.content import Attachment
from smtphub.errors import InvalidInput
from smtphub.sending.headers import allowed, charset, mailbox, parameter, subject

MIMETYPES = ("text/plain", "text/html")
BAD_TEXT = "must not hold control characters or line breaks"
_MESSAGE_ID = re.compile(r"<[!-;=?A-~]+@[!-;=?A-~]+>")  # printable ASCII, no <, > or @ inside
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}")  # RFC 6838's restricted names, for media types


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
    if problems:
        raise InvalidInput(problems)
    smtputf8 = not all(address.isascii() for address in headers.addresses)
    # Header values are written here, folded, and kept as they are (refold_source none): Python 3.11 and
    # 3.12 fold address lists wrongly (a comma after an encoded name becomes an encoded word).
    message = EmailMessage(policy=(SMTPUTF8 if smtputf8 else SMTP).clone(refold_source="none"))
    for name, value in (*headers.values, ("Subject", subject_value)):
        message.set_raw(name, value)
    message.set_raw(
        "Date", format_datetime(draft.date if draft.date.tzinfo else draft.date.replace(tzinfo=UTC))
    )
    message.set_raw("Message-ID", draft.message_id)
    text, charset_name, cte = body
    message.set_content(text, subtype=draft.mimetype.partition("/")[2], charset=charset_name, cte=cte)
    for attachment in draft.attachments:
        _attach(message, attachment)
    for part in message.iter_parts():
        del part["MIME-Version"]  # add_attachment gives each part one: only the message has it
    recipients = tuple(dict.fromkeys(_envelope(a) for a in (*draft.tos, *draft.ccs, *draft.bccs)))
    return Outgoing(_envelope(draft.sender), recipients, message.as_bytes(), smtputf8)


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


def _body(draft: Draft, problems: dict[str, str]) -> tuple[str, str, str]:
    """(text, charset, Content-Transfer-Encoding) of the body part."""
    if draft.mimetype not in MIMETYPES:
        problems["mimetype"] = "must be text/plain or text/html"
    try:
        name = charset(draft.body_encoding, "bodyencoding")
        encoded = draft.body.encode(name)
    except InvalidInput as error:
        problems.update(error.fields)
        return "", "utf-8", "7bit"
    except UnicodeError:
        problems["body"] = "holds characters that bodyencoding cannot encode"
        return "", "utf-8", "7bit"
    if _short_plain(encoded):
        return draft.body, name, "7bit"
    unsafe = len(encoded.translate(None, _SAFE_BYTES))
    shorter = len(encoded) + 2 * unsafe <= 4 * -(-len(encoded) // 3)  # quoted-printable's size, base64's
    return draft.body, name, "quoted-printable" if shorter else "base64"


_SAFE_BYTES = bytes(range(32, 127)) + b"\t\r\n"


def _short_plain(encoded: bytes) -> bool:
    """ASCII text without control characters (tabs and line ends apart) and with lines of at most 78."""
    return not encoded.translate(None, _SAFE_BYTES) and all(len(line) <= 78 for line in encoded.splitlines())


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    """A base64 part with the attachment's bytes, its media type, and its name in Content-Disposition's
    `filename` and Content-Type's `name` (written here: Python's folder picks RFC 2231 only for names that are
    not ASCII, and readers decode an encoded-word lookalike in a quoted name, or unquote <...> twice)."""
    maintype, subtype, params = _media_type(attachment.content_type)
    message.add_attachment(attachment.data, maintype, subtype, params=params)
    name = attachment.name.strip()
    if not name:
        return
    *_, part = message.iter_parts()  # the part just added (the message is multipart/mixed now)
    media = part["Content-Type"].split(";", 1)[0]
    charset_parameter = f'; charset="{params["charset"]}"' if "charset" in params else ""
    del part["Content-Type"], part["Content-Disposition"]
    part.set_raw("Content-Type", f"{media}{charset_parameter};\r\n {parameter('name', name)}")
    part.set_raw("Content-Disposition", f"attachment;\r\n {parameter('filename', name)}")


def _media_type(value: str) -> tuple[str, str, dict[str, str]]:
    """(maintype, subtype, parameters) of an attachment's Content-Type: a well-formed leaf type is kept (with
    its charset, if a token), anything else is application/octet-stream."""
    media, _, parameters = value.partition(";")
    maintype, slash, subtype = media.strip().lower().partition("/")
    if not (slash and _TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        return "application", "octet-stream", {}
    if maintype in ("multipart", "message"):  # a part of those types may not be base64: sent as bytes
        return "application", "octet-stream", {}
    found = _CHARSET_PARAMETER.search(parameters)
    return maintype, subtype, {"charset": found.group(1)} if found else {}


_CHARSET_PARAMETER = re.compile(r'(?:^|;)\s*charset\s*=\s*"?([A-Za-z0-9!#$&^_.+-]{1,64})"?\s*(?:;|$)', re.I)


def _envelope(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"
