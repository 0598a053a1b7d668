"""A message read back the way a mail client reads it, for the sending tests.

RFC 2047 decoding of the Subject and display names is done with `email.header.decode_header` (the legacy
decoder: adjacent encoded words separated by folding white space join without a space, as RFC 2047 6.2
says; the address parser of Python's newer policies inserts one). Headers of a message sent with SMTPUTF8
are UTF-8 and read as such. Bodies and attachments are decoded from their transfer encodings and charsets.
"""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import getaddresses


@dataclass
class ReadBack:
    message: email.message.Message
    subject: str
    sender: tuple[str, str]
    tos: list[tuple[str, str]]
    ccs: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    body: str
    body_type: str
    body_charset: str
    attachments: list[tuple[str | None, str, bytes]]

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def addresses(message: email.message.Message, name: str) -> list[tuple[str, str]]:
    values = [str(value) for value in message.get_all(name, [])]
    return [(decoded(display), address) for display, address in getaddresses(values)]


def read(raw: bytes) -> ReadBack:
    """`raw` as a client shows it (compat32, so that nothing is decoded behind the test's back)."""
    try:
        raw.decode("ascii")
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except UnicodeDecodeError:  # SMTPUTF8: the headers are UTF-8 (the parts themselves stay 7-bit)
        message = email.message_from_string(raw.decode("utf-8"), policy=email.policy.compat32)
    parts = list(message.walk()) if message.is_multipart() else [message]
    leaves = [part for part in parts if not part.is_multipart()]
    text, files = leaves[0], leaves[1:]
    charset = text.get_content_charset() or "us-ascii"
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    attachments = []
    for part in files:
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        attachments.append((part.get_filename(), part.get_content_type(), data))
    (sender,) = addresses(message, "From")
    return ReadBack(
        message=message,
        subject=decoded(str(message["Subject"])),
        sender=sender,
        tos=addresses(message, "To"),
        ccs=addresses(message, "Cc"),
        reply_to=addresses(message, "Reply-To"),
        body=payload.decode(charset),
        body_type=text.get_content_type(),
        body_charset=charset,
        attachments=attachments,
    )


def lines(text: str) -> list[str]:
    """A text's lines, whatever its line ends (a message's text travels with CRLF, and ends with one)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n").split("\n")
