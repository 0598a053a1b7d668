"""Request models of the /private/emails and /private/logs routes.

emails/send takes upstream's parameters (`api-emails.md`, and the Java client's `sendEmail`): what the
request alone decides is judged here, as 400s (lengths, counts, charsets, dates, URLs, the media type, what
contradicts what). Whether an address is one is not: upstream answers that with its own 406s (`from is not
a valid email`, ...), which the service raises (smtphub.emails.send).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import PureWindowsPath
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema

from smtphub.addresses import MAX_EMAIL
from smtphub.emails.content import Attachment
from smtphub.emails.models import (
    FILE,
    HTML,
    MAX_ATTACHMENTS,
    MAX_RECIPIENTS,
    MAX_SUBJECT,
    MAX_URL_ATTACHMENTS,
    PLAIN,
    URL,
    EmailRef,
    SendEmail,
)
from smtphub.emails.rules import charset, url_problem
from smtphub.errors import InvalidInput
from smtphub.http.fields import (
    MAX_NAME,
    Boolean,
    Id,
    Name,
    at_most,
    forbidden_character,
    invalid,
    one_of,
    text_of,
    text_schema,
)
from smtphub.http.requests import REQUIRED, RequestModel

MAX_SEND_BYTES = (
    10 * 1024 * 1024
)  # API Gateway's request payload (README, "Sending": what Lambda lets through)
MAX_FILENAME = 255
MAX_KEY = 255
SKEW_SECONDS = 60  # a senddate this little in the past (clocks disagree) means now
CONTROL = "must not contain control, format or line separator characters"
SENDDATE = "must be a date and time with its offset, yyyy-MM-dd'T'HH:mm:ssZ (e.g. 2026-12-24T10:00:00+0100)"
_SENDDATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:?\d\d)")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&.+^-]{0,126}/[A-Za-z0-9][\w!#$&.+^-]{0,126}")
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY}}}")


def _line(max_length: int) -> Any:
    """A one-line text: trimmed, bounded, none of the contract's forbidden characters."""

    def parse(value: Any) -> str:
        text = at_most(max_length, text_of(value).strip())
        if forbidden_character(text):
            raise invalid(CONTROL)
        return text

    return parse


def _items(max_items: int, max_length: int, what: str) -> Any:
    """Comma-separated values, each trimmed (empty ones dropped), each one line."""
    line = _line(max_length)

    def parse(value: Any) -> tuple[str, ...]:
        items = tuple(line(item) for item in text_of(value).split(","))
        items = tuple(item for item in items if item)
        if len(items) > max_items:
            raise invalid(f"must list at most {max_items} {what}")
        return items

    return parse


def _body(value: Any) -> str:
    """The body: any text (line ends, tabs and all), but NUL and lone surrogates, which no charset sends."""
    text = text_of(value)
    if "\x00" in text or any("\ud800" <= character <= "\udfff" for character in text):
        raise invalid("must not contain NUL characters or lone surrogates")
    return text


def _charset(value: Any) -> str:
    text = text_of(value).strip()
    try:
        charset(text)
    except InvalidInput:  # this field's message instead
        raise invalid(
            "must be a charset this service can send (UTF-8, ISO-8859-1, windows-1252, ...)"
        ) from None
    return text


def _senddate(value: Any) -> float:
    text = text_of(value).strip()
    if not _SENDDATE.fullmatch(text):
        raise invalid(SENDDATE)
    try:
        when = datetime.fromisoformat(text[:-2] + ":" + text[-2:] if text[-5] in "+-" else text).timestamp()
    except ValueError:
        raise invalid(SENDDATE) from None
    if when < time.time() - SKEW_SECONDS:
        raise invalid("must be in the future")
    return when


def _urls(value: Any) -> tuple[str, ...]:
    urls = tuple(url.strip() for url in text_of(value).split(",") if url.strip())
    if len(urls) > MAX_URL_ATTACHMENTS:
        raise invalid(f"must list at most {MAX_URL_ATTACHMENTS} URLs")
    for url in urls:
        if forbidden_character(url) or any(character.isspace() for character in url):
            raise invalid("must be https URLs separated by commas")
        if problem := url_problem(url):
            raise invalid(f"each {problem}")
    return urls


def _uploads(value: Any) -> tuple[Attachment, ...]:
    """The file parts as attachments: each named by its file name (a path's last part, trimmed)."""
    if not isinstance(value, tuple):
        raise invalid("must be files: multipart/form-data file parts named attachments")
    if len(value) > MAX_ATTACHMENTS:
        raise invalid(f"must be at most {MAX_ATTACHMENTS} files")
    found = []
    for part in value:
        name = PureWindowsPath(part.filename.replace("/", "\\")).name.strip() or "attachment"
        if len(name) > MAX_FILENAME or forbidden_character(name):
            raise invalid(f"names must be at most {MAX_FILENAME} characters, without control characters")
        media = part.content_type.split(";")[0].strip().lower()
        found.append(
            Attachment(name, media if _MEDIA_TYPE.fullmatch(media) else "application/octet-stream", part.data)
        )
    return tuple(found)


def _key(value: Any) -> str:
    text = text_of(value).strip()
    if not _KEY.fullmatch(text):
        raise invalid(f"must be 1 to {MAX_KEY} printable ASCII characters, without spaces")
    return text


Address = Annotated[str, PlainValidator(_line(MAX_EMAIL)), text_schema(MAX_EMAIL, format="email")]
Addresses = Annotated[
    tuple[str, ...],
    PlainValidator(_items(MAX_RECIPIENTS, MAX_EMAIL, "addresses")),
    WithJsonSchema({"type": "string", "example": "ana@example.net,bo@example.org"}),
]
Names = Annotated[
    tuple[str, ...],
    PlainValidator(_items(MAX_RECIPIENTS, MAX_NAME, "names")),
    WithJsonSchema({"type": "string", "example": "Ana,Bo"}),
]
Subject = Annotated[str, PlainValidator(_line(MAX_SUBJECT)), text_schema(MAX_SUBJECT)]
Body = Annotated[str, PlainValidator(_body), WithJsonSchema({"type": "string"})]
Charset = Annotated[str, PlainValidator(_charset), text_schema(40, example="ISO-8859-1")]
MimeType = Annotated[
    str, PlainValidator(one_of(PLAIN, HTML)), WithJsonSchema({"type": "string", "enum": [PLAIN, HTML]})
]
AttachmentType = Annotated[
    str, PlainValidator(one_of(FILE, URL)), WithJsonSchema({"type": "string", "enum": [FILE, URL]})
]
SendDate = Annotated[
    float,
    PlainValidator(_senddate),
    WithJsonSchema({"type": "string", "pattern": _SENDDATE.pattern, "example": "2026-12-24T10:00:00+0100"}),
]
UrlList = Annotated[
    tuple[str, ...],
    PlainValidator(_urls),
    WithJsonSchema({"type": "string", "example": "https://files.example.net/invoice-1001.pdf"}),
]
Uploads = Annotated[
    tuple[Attachment, ...],
    PlainValidator(_uploads),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": MAX_ATTACHMENTS,
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
        }
    ),
]
IdempotencyKey = Annotated[
    str, PlainValidator(_key), WithJsonSchema({"type": "string", "pattern": "^[!-~]{1,255}$"})
]


class EmailSend(RequestModel):
    """emails/send: an e-mail of one of the account's apps."""

    model_config = ConfigDict(defer_build=True)  # built by its route only
    MAX_BODY_BYTES: ClassVar[int] = MAX_SEND_BYTES
    FILES: ClassVar[frozenset[str]] = frozenset({"attachments"})
    HEADERS: ClassVar[frozenset[str]] = frozenset({"idempotency-key"})

    app_id: Id = Field(alias="idapp", description="The app whose servers send it.")
    sender: Address | None = Field(
        None, alias="from", description="The From address. Default: the app's `defaultfromemail`."
    )
    sendername: Name | None = Field(
        None, alias="fromname", description="The From name. Default: the app's `defaultfromname`."
    )
    tos: Addresses = Field(description="Recipients, comma-separated.")
    tonames: Names | None = Field(None, description="Their names, comma-separated, by position.")
    ccs: Addresses | None = Field(None, description="Copy recipients, comma-separated.")
    bccs: Addresses | None = Field(None, description="Blind copy recipients, comma-separated: in no header.")
    replyto: Address | None = Field(None, description="The Reply-To address.")
    subject: Subject = Field(description="The subject.")
    subjectencoding: Charset = Field("UTF-8", description="The subject's charset: any ASCII-compatible one.")
    body: Body = Field(description="The body.")
    bodyencoding: Charset = Field("UTF-8", description="The body's charset: any ASCII-compatible one.")
    mimetype: MimeType = Field(PLAIN, description="The body's media type.")
    attachments: Uploads | None = Field(
        None,
        description="Files: multipart/form-data file parts named `attachments`, each named by its filename.",
    )
    urlattachments: UrlList | None = Field(
        None,
        description="Files the sender fetches when it sends (https URLs, comma-separated).",
    )
    attachmenttype: AttachmentType | None = Field(
        None, description="`FILE` (the file parts) or `URL` (`urlattachments`). Default: whichever is given."
    )
    includetracking: Boolean = Field(False, description="Track opens and clicks (HTML only; no CC or BCC).")
    includeunregisterlink: Boolean = Field(False, description="Add an unsubscribe link (no CC or BCC).")
    senddate: SendDate | None = Field(None, description="When to send it, in the future. Default: now.")
    idempotency_key: IdempotencyKey | None = Field(
        None,
        alias="idempotency-key",
        description="A header: the same key from the same account within 24 hours answers the first result "
        "again.",
    )

    def problems(self) -> dict[str, str]:
        found: dict[str, str] = {} if self.tos else {"tos": REQUIRED}
        if len(self.tos) + len(self.ccs or ()) + len(self.bccs or ()) > MAX_RECIPIENTS:
            found["tos"] = f"with ccs and bccs, must list at most {MAX_RECIPIENTS} recipients"
        if len(self.tonames or ()) > len(self.tos):
            found["tonames"] = "must not have more names than tos has addresses"
        for text, encoding in (("subject", self.subjectencoding), ("body", self.bodyencoding)):
            try:
                getattr(self, text).encode(charset(encoding))
            except UnicodeError:
                found[text] = f"holds characters that {text}encoding ({encoding}) cannot encode"
        kind = self.attachmenttype
        if kind == FILE and self.urlattachments:
            found["urlattachments"] = "needs attachmenttype=URL"
        if kind == URL and self.attachments:
            found["attachments"] = "must not be given with attachmenttype=URL (use urlattachments)"
        if kind == URL and not self.urlattachments and not self.attachments:
            found["urlattachments"] = REQUIRED + " with attachmenttype=URL"
        if self.attachments and self.urlattachments and kind is None:
            found["attachmenttype"] = "is required when both files and urlattachments are given"
        return found

    def command(self, account_id: str) -> SendEmail:
        return SendEmail(
            account_id=account_id,
            app_id=self.app_id,
            tos=self.tos,
            tonames=self.tonames or (),
            ccs=self.ccs or (),
            bccs=self.bccs or (),
            sender=self.sender,
            sendername=self.sendername,
            replyto=self.replyto,
            subject=self.subject,
            body=self.body,
            mimetype=self.mimetype,
            subjectencoding=self.subjectencoding,
            bodyencoding=self.bodyencoding,
            attachments=self.attachments or (),
            attachmenttype=self.attachmenttype or (URL if self.urlattachments else FILE),
            urlattachments=self.urlattachments or (),
            includetracking=self.includetracking,
            includeunregisterlink=self.includeunregisterlink,
            senddate=self.senddate,
        )


class EmailById(RequestModel):
    """One of the account's e-mails (info, cancel, remove, its logs)."""

    model_config = ConfigDict(defer_build=True)  # built by its routes only

    email_id: Id = Field(alias="idemail", description="The e-mail's id (the `id` emails/send answered).")

    def command(self, account_id: str) -> EmailRef:
        return EmailRef(account_id, self.email_id)
