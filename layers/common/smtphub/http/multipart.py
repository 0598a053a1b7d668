"""A `multipart/form-data` body's fields (RFC 7578), as Spring's `@RequestParam` reads them.

Fields, and file parts (those with a `filename`) only under the names the route takes files as (`read`'s
`file_fields`: emails/send's `attachments`); any other file part is a problem named after its field (as the
part spells it). Each field's text is decoded in its own charset, else the body's `_charset_` field (RFC 7578
4.6), else the Content-Type's, else UTF-8; a file's bytes are kept exactly as sent, with its file name (RFC
7578 4.2: `filename`, or RFC 5987's `filename*` when given) and its Content-Type (application/octet-stream
when it has none). A body without its closing delimiter, or a part without a form-data disposition, is
malformed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Container
from urllib.parse import unquote

from smtphub.http.body import (
    MAX_FORM_FIELDS,
    BadParameters,
    Undecodable,
    UnsupportedBody,
    canonical_name,
    header_parameters,
    text_charset,
)

NOT_MULTIPART = "is not valid multipart/form-data"
FILE_PART = "must be a form field, not a file"
# RFC 2046's boundary: 1 to 70 of these characters, not ending with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})
OCTET_STREAM = "application/octet-stream"


@dataclasses.dataclass(frozen=True, slots=True)
class FilePart:
    """A file part: its field's name (as the part spells it), its file name, its media type, its bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes = dataclasses.field(repr=False)


def _malformed() -> BadParameters:
    return BadParameters({"body": NOT_MULTIPART})


def _parts(raw: bytes, boundary: str) -> list[bytes]:
    """The parts between the delimiters (preamble and epilogue ignored): each its header lines, a blank
    line and its content. No closing delimiter, or a delimiter line with more than padding, is malformed."""
    if not _BOUNDARY.fullmatch(boundary):
        raise _malformed()
    delimiter = b"--" + boundary.encode("ascii")
    separator = b"\r\n" + delimiter
    if raw.startswith(delimiter):
        position = len(delimiter)
    else:
        found = raw.find(separator)
        if found < 0:
            raise _malformed()
        position = found + len(separator)
    parts: list[bytes] = []
    while not raw.startswith(b"--", position):  # "--" after a delimiter closes the body
        line_end = raw.find(b"\r\n", position)
        if line_end < 0 or raw[position:line_end].strip(b" \t"):
            raise _malformed()
        end = raw.find(separator, line_end + 2)
        if end < 0:
            raise _malformed()
        parts.append(raw[line_end + 2 : end])
        if len(parts) > MAX_FORM_FIELDS:
            raise BadParameters({"body": "has too many parameters"})
        position = end + len(separator)
    return parts


def _part_headers(part: bytes) -> tuple[dict[str, str], bytes]:
    """A part's headers (names lower-cased; folded lines joined) and its content."""
    if part.startswith(b"\r\n"):
        return {}, part[2:]
    block, found, content = part.partition(b"\r\n\r\n")
    if not found:
        raise _malformed()
    try:
        text = block.decode("utf-8")  # RFC 7578: names may be UTF-8
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    headers: dict[str, str] = {}
    last = ""
    for line in text.split("\r\n"):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise _malformed()
        last = name.strip().lower()
        headers.setdefault(last, value.strip())
    return headers, content


def pairs(raw: bytes, boundary: str, charset: str | None) -> list[tuple[str, str]]:
    """A multipart/form-data body's fields (`read`), where no file part is taken."""
    return read(raw, boundary, charset, frozenset())[0]


def read(
    raw: bytes, boundary: str, charset: str | None, file_fields: Container[str]
) -> tuple[list[tuple[str, str]], list[FilePart]]:
    """A multipart/form-data body's fields, each decoded in its part's charset (else `_charset_`, else the
    body's `charset`, else UTF-8), and its file parts named in `file_fields` (canonical names). Any other file
    part is a problem named after its field; all of them at once."""
    fields: list[tuple[str, bytes, str | None]] = []
    taken: list[FilePart] = []
    files: dict[str, str] = {}
    spellings: dict[str, str] = {}
    for part in _parts(raw, boundary):
        headers, content = _part_headers(part)
        kind, disposition = header_parameters(headers.get("content-disposition", ""), quoted_pairs=False)
        if kind != "form-data" or "name" not in disposition:
            raise _malformed()
        if headers.get("content-transfer-encoding", "binary").lower() not in _IDENTITY_ENCODINGS:
            raise _malformed()
        key = canonical_name(disposition["name"])
        if "filename" in disposition or "filename*" in disposition:
            if key in file_fields:
                taken.append(_file(disposition, headers, content))
            else:
                files[key], spellings[key] = FILE_PART, disposition["name"]
            continue
        declared = header_parameters(headers.get("content-type", ""))[1].get("charset") or None
        fields.append((disposition["name"], content, declared))
    if files:
        raise BadParameters(files, spellings)
    return _decoded(fields, charset), taken


def _file(disposition: dict[str, str], headers: dict[str, str], content: bytes) -> FilePart:
    """A file part as taken: RFC 5987's `filename*` (charset''language'percent-encoded) over `filename`."""
    name = disposition.get("filename", "")
    extended = disposition.get("filename*", "")
    encoding, quote, rest = extended.partition("'")
    if quote and "'" in rest:
        try:
            name = unquote(
                rest.partition("'")[2], encoding=text_charset(encoding or "utf-8"), errors="strict"
            )
        except (UnicodeError, LookupError, UnsupportedBody):  # an unreadable extended name: the plain one
            name = disposition.get("filename", "")
    media = headers.get("content-type", "").strip() or OCTET_STREAM
    return FilePart(disposition["name"], name, media, content)


def _decoded(fields: list[tuple[str, bytes, str | None]], charset: str | None) -> list[tuple[str, str]]:
    in_body = next((value for name, value, _ in fields if name.lower() == "_charset_"), b"")
    default = in_body.decode("ascii", "replace").strip() or charset or "utf-8"
    pairs: list[tuple[str, str]] = []
    for name, content, declared in fields:
        encoding = text_charset(declared or default)
        try:
            pairs.append((name, content.decode(encoding)))
        except UnicodeError:
            pairs.append((name, Undecodable(encoding)))
    return pairs
