"""The MIME parts of a message, written out as bytes: the text in its charset and transfer encoding, the
attachments as base64 parts with their names, and the multipart/mixed that holds them.

Written here rather than by email.message.EmailMessage and its generator, which cost about 1 ms of CPU for
a short text e-mail and 5 ms with a 50 KB file (the generator writes line by line and scans the whole
message for its boundary), against the sender's budget of 1.5 ms an e-mail (README, "Performance").
binascii does the encodings in C; the boundary is 128 random bits behind "=_", which neither base64 nor
quoted-printable can produce, and which a 7bit text cannot guess. Every part's payload ends with CRLF.
"""

from __future__ import annotations

import binascii
import re
import secrets

from smtphub.emails.content import Attachment
from smtphub.sending.headers import parameter

CRLF = b"\r\n"
_SAFE = bytes(range(32, 127)) + b"\t"  # what a 7bit line may hold as it is
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}")  # RFC 6838's restricted names, for media types
_CHARSET = re.compile(r'(?:^|;)\s*charset\s*=\s*"?([A-Za-z0-9!#$&^_.+-]{1,64})"?\s*(?:;|$)', re.IGNORECASE)


def text(encoded: bytes, subtype: str, charset: str) -> bytes:
    """The text part of `encoded` (already in `charset`): its lines end with CRLF, and it is 7bit when it is
    short-lined printable ASCII, else quoted-printable or base64, whichever is shorter."""
    lines = encoded.splitlines()  # bytes: \r\n, \r and \n only
    data = CRLF.join(lines) + CRLF
    if not data.translate(None, _SAFE + CRLF) and all(len(line) <= 78 for line in lines):
        encoding, payload = "7bit", data
    else:
        quoted, based = _quoted_printable(data), _base64(data)
        encoding, payload = ("quoted-printable", quoted) if len(quoted) <= len(based) else ("base64", based)
    head = [f'Content-Type: text/{subtype}; charset="{charset}"', f"Content-Transfer-Encoding: {encoding}"]
    return _part(head, payload)


def attachment(file: Attachment) -> bytes:
    """A base64 part with the file's bytes, its media type, and its name (trimmed) in Content-Disposition's
    `filename` and Content-Type's `name` (RFC 2231 unless plain words: smtphub.sending.headers)."""
    media = media_type(file.content_type)
    disposition = "attachment"
    name = file.name.strip()
    if name:
        media += f";\r\n {parameter('name', name)}"
        disposition += f";\r\n {parameter('filename', name)}"
    head = [
        f"Content-Type: {media}",
        f"Content-Disposition: {disposition}",
        "Content-Transfer-Encoding: base64",
    ]
    return _part(head, _base64(file.data))


def mixed(parts: list[bytes]) -> tuple[str, bytes]:
    """(the Content-Type header line, the body) of a multipart/mixed of `parts`."""
    boundary = b"=_" + secrets.token_hex(16).encode("ascii")
    delimiter = b"--" + boundary + CRLF
    pieces = [piece for part in parts for piece in (delimiter, part, CRLF)]
    body = b"".join([*pieces, b"--", boundary, b"--", CRLF])
    return f'Content-Type: multipart/mixed; boundary="{boundary.decode("ascii")}"', body


def media_type(value: str) -> str:
    """An attachment's Content-Type: a well-formed leaf type (lower case, with its charset if that is a
    token); anything else, multipart and message types included (they may not be base64), is
    application/octet-stream."""
    media, _, parameters = value.partition(";")
    maintype, slash, subtype = media.strip().lower().partition("/")
    if not (slash and _TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        return "application/octet-stream"
    if maintype in ("multipart", "message"):
        return "application/octet-stream"
    found = _CHARSET.search(parameters)
    return f"{maintype}/{subtype}" + (f'; charset="{found.group(1)}"' if found else "")


def _part(head: list[str], payload: bytes) -> bytes:
    return "\r\n".join(head).encode("ascii") + CRLF + CRLF + payload


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 (base64.encodebytes takes twice as long: it encodes 57 bytes at a time)."""
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    return CRLF.join([encoded[start : start + 76] for start in range(0, len(encoded), 76)]) + CRLF


def _quoted_printable(data: bytes) -> bytes:
    """binascii's quoted-printable, its one overlong line mended: it may end a 76-character line with the
    escape of a trailing tab or space (=09, =20), one over RFC 2045's limit; that escape moves to a line of
    its own behind a soft break."""
    quoted = binascii.b2a_qp(data, istext=True)
    lines = quoted.split(CRLF)
    if all(len(line) <= 76 for line in lines):
        return quoted
    mended: list[bytes] = []
    for line in lines:
        mended.extend([line[:-3] + b"=", line[-3:]] if len(line) > 76 else [line])
    return CRLF.join(mended)
