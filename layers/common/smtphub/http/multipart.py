"""A `multipart/form-data` body's fields (RFC 7578), as Spring's `@RequestParam` reads them.

Fields only: a file part is a problem named after its field (as the part spells it). Each part's text is
decoded in its own charset, else the body's `_charset_` field (RFC 7578 4.6), else the Content-Type's, else
UTF-8. A body without its closing delimiter, or a part without a form-data disposition, is malformed.
"""

from __future__ import annotations

import re

from smtphub.http.body import (
    MAX_FORM_FIELDS,
    BadParameters,
    Undecodable,
    canonical_name,
    header_parameters,
    text_charset,
)

NOT_MULTIPART = "is not valid multipart/form-data"
FILE_PART = "must be a form field, not a file"
# RFC 2046's boundary: 1 to 70 of these characters, not ending with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


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
    """A multipart/form-data body's fields, each decoded in its part's charset (else `_charset_`, else the
    body's `charset`, else UTF-8). A file part is a problem named after its field; all of them at once."""
    fields: list[tuple[str, bytes, str | None]] = []
    files: dict[str, str] = {}
    spellings: dict[str, str] = {}
    for part in _parts(raw, boundary):
        headers, content = _part_headers(part)
        kind, disposition = header_parameters(headers.get("content-disposition", ""))
        if kind != "form-data" or "name" not in disposition:
            raise _malformed()
        if headers.get("content-transfer-encoding", "binary").lower() not in _IDENTITY_ENCODINGS:
            raise _malformed()
        if "filename" in disposition or "filename*" in disposition:
            key = canonical_name(disposition["name"])
            files[key], spellings[key] = FILE_PART, disposition["name"]
            continue
        declared = header_parameters(headers.get("content-type", ""))[1].get("charset") or None
        fields.append((disposition["name"], content, declared))
    if files:
        raise BadParameters(files, spellings)
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
