"""A request's parameters as the contract's *Requests* section says, before any model sees them.

Query parameters, overridden for POST by the body's: `application/x-www-form-urlencoded` (percent-escapes
decoded in the `charset` the Content-Type declares, UTF-8 when none), `multipart/form-data` (fields only,
as Spring's `@RequestParam` reads them: a file part is a problem; each part's text in its own charset, else
the body's `_charset_` field, RFC 7578 4.6, else the Content-Type's, else UTF-8) or `application/json` (an
object). Every body counts against the same 64 KiB. Names are matched case-insensitively with the
contract's aliases folded in; an empty value is absent; a known parameter given twice with different
values, or as a JSON object or array, is a problem named beside every other.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Container, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 1000  # far more than any endpoint has; bounds the work a form body can cause
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
NOT_MULTIPART = "is not valid multipart/form-data"
FILE_PART = "must be a form field, not a file"

# Parameter spellings accepted besides the canonical (lower-case) name.
ALIASES: dict[str, str] = {
    "ssl_tls": "ssltls",
    "defaulfromemail": "defaultfromemail",  # the upstream page's typo
}

Event = Mapping[str, Any]


class BodyTooLarge(Exception):
    pass


class UnsupportedBody(Exception):
    pass


class BadParameters(Exception):
    """Problems found before any model ran, by parameter (or `body`)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("bad parameters")
        self.problems = problems


class _Nested(str):
    """A JSON member that is an object or array: only a problem when the endpoint has that parameter."""

    __slots__ = ()


class _Undecodable(str):
    """A form value whose bytes are not valid in the body's charset (the string is the charset's name)."""

    __slots__ = ()


def canonical_name(name: str) -> str:
    lowered = name.lower()
    return ALIASES.get(lowered, lowered)


def header(event: Event, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value) if value is not None else None
    return None


def gather(event: Event, known: Container[str], problems: dict[str, str]) -> dict[str, str]:
    """The endpoint's parameters (names in `known`): query values, overridden by body values for POST."""
    params = _collect(_query_pairs(event), known, problems)
    if str(event.get("httpMethod", "GET")).upper() == "POST":
        params.update(_collect(_body_pairs(event), known, problems))
    return params


def _collect(
    pairs: Iterable[tuple[str, str]], known: Container[str], problems: dict[str, str]
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        key = canonical_name(name)
        if key not in known or value is None or value == "":
            continue
        if isinstance(value, _Nested):
            problems[key] = "must be a single value"
        elif isinstance(value, _Undecodable):
            problems[key] = f"is not valid {value} text"
        elif key in values and values[key] != value:
            problems[key] = "is given more than once with different values"
        values[key] = value
    return values


def _query_pairs(event: Event) -> Iterable[tuple[str, str]]:
    multi = event.get("multiValueQueryStringParameters")
    if multi:
        return ((name, value) for name, values in multi.items() for value in values or ())
    return (event.get("queryStringParameters") or {}).items()


def _raw_body(event: Event) -> bytes:
    body = event.get("body")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body or "", validate=True)
        except (binascii.Error, ValueError):
            raise BadParameters({"body": "is not valid base64"}) from None
    else:
        raw = str(body).encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    return raw


# `; name=value` or `; name="a \\"quoted\\" value"` after a header's first item (Content-Type, -Disposition).
_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')
_QUOTED_PAIR = re.compile(r"\\(.)")
# RFC 2046's boundary: 1 to 70 of these characters, not ending with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


def header_parameters(value: str) -> tuple[str, dict[str, str]]:
    """A header's first item, lower-cased, and its parameters by lower-cased name (quotes removed)."""
    first = value.split(";", 1)[0]
    parameters: dict[str, str] = {}
    for match in _PARAMETER.finditer(value, len(first)):
        text = (match.group(2) or "").strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = _QUOTED_PAIR.sub(r"\1", text[1:-1])
        parameters.setdefault(match.group(1).lower(), text)
    return first.strip().lower(), parameters


def _media_type(event: Event) -> tuple[str, dict[str, str]]:
    """The Content-Type's media type and its parameters (charset, boundary)."""
    return header_parameters(header(event, "content-type") or "")


def _body_pairs(event: Event) -> list[tuple[str, str]]:
    if not event.get("body"):
        return []
    raw = _raw_body(event)
    media, parameters = _media_type(event)
    if media not in (FORM, JSON, MULTIPART):
        raise UnsupportedBody()
    charset = parameters.get("charset") or None
    encoding = _known_charset(charset or "utf-8")
    if media == MULTIPART:
        return _multipart_pairs(raw, parameters.get("boundary", ""), charset)
    if media == JSON:
        return _json_pairs(_decode(raw, encoding, "body"))
    return _form_pairs(raw, encoding)


def _known_charset(name: str) -> str:
    """`name` when Python has a codec for it; an unknown charset is an unsupported body (415)."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise UnsupportedBody() from None
    return name


def _decode(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        label = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        raise BadParameters({name: f"must be {label}"}) from None


def _form_pairs(raw: bytes, encoding: str) -> list[tuple[str, str]]:
    """A form body, each name and value percent-decoded and then decoded in `encoding`."""
    _decode(raw, encoding, "body")  # the body's own bytes (escapes aside) must be valid too
    fields = [field for field in raw.split(b"&") if field]
    if len(fields) > MAX_FORM_FIELDS:
        raise BadParameters({"body": "has too many parameters"})
    pairs: list[tuple[str, str]] = []
    for field in fields:
        raw_name, _, raw_value = field.partition(b"=")
        name = _unquote(raw_name, encoding)
        if name is None:
            continue  # a name that is not text cannot be a known parameter
        value = _unquote(raw_value, encoding)
        pairs.append((name, _Undecodable(encoding) if value is None else value))
    return pairs


def _unquote(raw: bytes, encoding: str) -> str | None:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode(encoding)
    except UnicodeDecodeError:
        return None


def _malformed() -> BadParameters:
    return BadParameters({"body": NOT_MULTIPART})


def _multipart_parts(raw: bytes, boundary: str) -> list[bytes]:
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


def _multipart_pairs(raw: bytes, boundary: str, charset: str | None) -> list[tuple[str, str]]:
    """A multipart/form-data body's fields, each decoded in its part's charset (else `_charset_`, else the
    body's `charset`, else UTF-8). A file part is a problem named after its field; all of them at once."""
    fields: list[tuple[str, bytes, str | None]] = []
    files: dict[str, str] = {}
    for part in _multipart_parts(raw, boundary):
        headers, content = _part_headers(part)
        kind, disposition = header_parameters(headers.get("content-disposition", ""))
        if kind != "form-data" or "name" not in disposition:
            raise _malformed()
        if headers.get("content-transfer-encoding", "binary").lower() not in _IDENTITY_ENCODINGS:
            raise _malformed()
        if "filename" in disposition or "filename*" in disposition:
            files[canonical_name(disposition["name"])] = FILE_PART
            continue
        declared = header_parameters(headers.get("content-type", ""))[1].get("charset") or None
        fields.append((disposition["name"], content, declared))
    if files:
        raise BadParameters(files)
    in_body = next((value for name, value, _ in fields if name.lower() == "_charset_"), b"")
    default = in_body.decode("ascii", "replace").strip() or charset or "utf-8"
    pairs: list[tuple[str, str]] = []
    for name, content, declared in fields:
        encoding = _known_charset(declared or default)
        try:
            pairs.append((name, content.decode(encoding)))
        except UnicodeDecodeError:
            pairs.append((name, _Undecodable(encoding)))
    return pairs


def _json_pairs(text: str) -> list[tuple[str, str]]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise BadParameters({"body": "must be a JSON object"}) from None
    if not isinstance(document, dict):
        raise BadParameters({"body": "must be a JSON object"})
    pairs: list[tuple[str, str]] = []
    for name, value in document.items():
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            pairs.append((name, str(value)))
        elif value is not None:
            pairs.append((name, _Nested("nested")))
    return pairs
