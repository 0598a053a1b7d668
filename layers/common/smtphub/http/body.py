"""A request's parameters as the contract's *Requests* section says, before any model sees them.

Query parameters, overridden for POST by the body's: `application/x-www-form-urlencoded` (percent-escapes
decoded in the `charset` the Content-Type declares, UTF-8 when none), `multipart/form-data`
(`smtphub.http.multipart`: fields, as Spring's `@RequestParam` reads them, and file parts only under the
names a route takes files as, emails/send's `attachments`; any other file part is a problem; each part's text
in its own charset, else the body's `_charset_` field, RFC 7578 4.6, else the Content-Type's, else UTF-8)
or `application/json` (an object). Every body counts against its route's limit, 64 KiB unless the route
says otherwise (emails/send: API Gateway's 10 MB). A body may arrive base64-encoded (`isBase64Encoded`: API
Gateway does so for the API's binary media types, multipart/form-data among them): it is decoded first.
Names are matched case-insensitively with the contract's aliases folded in; an empty value is absent; a
known parameter given twice with different values, or as a JSON object or array, is a problem named beside
every other. Parameters and problems go by canonical name (the models' aliases); `gather` also gives the
name as the client spelled it (of the value kept: the body's over the query's, the last of a repeat), and
the edge names the 400's fields with it (`as_sent`), once: `sslTls` stays `sslTls` in the answer.

Charsets: `text_charset` alone decides, for the Content-Type, a multipart part and `_charset_`; what it
refuses is a 415. It reads a charset whose name is 1 to 40 printable US-ASCII characters (IANA's rule: no
space, NUL or non-ASCII letter for Python's lookup to fold or choke on) that the codec registry maps to a
codec decoding bytes to text (not its transforms: `hex_codec`, `base64_codec`, `zlib_codec`, `rot13`, ...),
unless that codec is one of Python's own, no document's charset (`unicode_escape`, `raw_unicode_escape`,
`punycode`, `idna`, `undefined`, `palmos`, `charmap`, Windows' `mbcs` and `oem`) or UTF-7 (many byte
spellings of one text: a way past filters, dropped by the WHATWG Encoding Standard, sent by no client). A
form's charset must also read what a form writes unescaped (`&`, `=`, `+`, letters, digits) as ASCII:
UTF-16, UTF-32 and EBCDIC are read in JSON and in a part, not in a form. So UTF-8, UTF-16/32, ASCII, the
ISO-8859, Windows, DOS and Mac code pages, KOI8 and the CJK encodings are read; bytes not valid in the
declared charset are a 400 naming the parameter.
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

# Parameter spellings accepted besides the canonical (lower-case) name.
ALIASES: dict[str, str] = {
    "ssl_tls": "ssltls",
    "defaulfromemail": "defaultfromemail",  # the upstream page's typo
}

Event = Mapping[str, Any]


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body over {limit} bytes")
        self.limit = limit


class UnsupportedBody(Exception):
    """A body this API cannot read: a media type it does not take, or a charset it does not read."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "unsupported body")
        self.message = message


class BadParameters(Exception):
    """Problems found before any model ran, by canonical parameter name (or `body`), and the names as sent."""

    def __init__(self, problems: dict[str, str], spellings: dict[str, str] | None = None) -> None:
        super().__init__("bad parameters")
        self.problems = problems
        self.spellings = spellings or {}


class _Nested(str):
    """A JSON member that is an object or array: only a problem when the endpoint has that parameter."""

    __slots__ = ()


class Undecodable(str):
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


def gather(
    event: Event,
    known: Container[str],
    problems: dict[str, str],
    spellings: dict[str, str] | None = None,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    files: dict[str, list[Any]] | None = None,
) -> dict[str, str]:
    """The endpoint's parameters (names in `known`): query values, overridden by body values for POST.
    `spellings` receives each one's name as the client spelled it (the kept value's), by canonical name.
    `files`: the names (canonical) that may come as multipart file parts, each receiving its parts
    (`multipart.FilePart`, in the body's order); None: no file is taken. BodyTooLarge beyond `max_bytes`."""
    spelled: dict[str, str] = {} if spellings is None else spellings
    params = _collect(_query_pairs(event), known, problems, spelled)
    if str(event.get("httpMethod", "GET")).upper() == "POST":
        try:
            pairs = _body_pairs(event, max_bytes, files)
        except BadParameters as bad:
            spelled.update(bad.spellings)
            raise
        params.update(_collect(pairs, known, problems, spelled))
    return params


def as_sent(fields: Mapping[str, str], spellings: Mapping[str, str]) -> dict[str, str]:
    """Problems by canonical name (`fields`) named as the client spelled them; one it did not send keeps
    the canonical name (distinct names stay distinct: a spelling folds back to its own canonical name)."""
    return {spellings.get(name, name): problem for name, problem in fields.items()}


REPEATED = "is given more than once with different values"


def _collect(
    pairs: Iterable[tuple[str, str]],
    known: Container[str],
    problems: dict[str, str],
    spellings: dict[str, str],
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        key = canonical_name(name)
        if key not in known or value is None or value == "":
            continue
        if isinstance(value, _Nested):
            problems[key] = "must be a single value"
        elif isinstance(value, Undecodable):
            problems[key] = f"is not valid {value} text"
        elif key in values and values[key] != value:
            first = spellings[key]  # this source's earlier occurrence
            problems[key] = REPEATED if first == name else f"{REPEATED} (as {first} and {name}: one name)"
        values[key] = value
        spellings[key] = name
    return values


def _query_pairs(event: Event) -> Iterable[tuple[str, str]]:
    multi = event.get("multiValueQueryStringParameters")
    if multi:
        return ((name, value) for name, values in multi.items() for value in values or ())
    return (event.get("queryStringParameters") or {}).items()


def _raw_body(event: Event, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    body = event.get("body")
    if event.get("isBase64Encoded"):
        text = body or ""
        if len(text) > (max_bytes + 2) // 3 * 4:  # refused before decoding what is too large anyway
            raise BodyTooLarge(max_bytes)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BadParameters({"body": "is not valid base64"}) from None
    else:
        raw = str(body).encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise BodyTooLarge(max_bytes)
    return raw


# `; name=value` or `; name="a \\"quoted\\" value"` after a header's first item (Content-Type, -Disposition).
_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')
_QUOTED_PAIR = re.compile(r"\\(.)")
_QUOTE_OR_BACKSLASH = re.compile(r'\\(["\\])')


def header_parameters(value: str, *, quoted_pairs: bool = True) -> tuple[str, dict[str, str]]:
    """A header's first item, lower-cased, and its parameters by lower-cased name (quotes removed; a quoted
    value's `\\x` pairs unescaped; when `quoted_pairs` is false only `\\"` and `\\\\` are: a form-data part's
    Content-Disposition, where browsers and httpmime write a file name's backslashes as they are,
    `C:\\Users\\ana\\report.bin`)."""
    first = value.split(";", 1)[0]
    parameters: dict[str, str] = {}
    for match in _PARAMETER.finditer(value, len(first)):
        text = (match.group(2) or "").strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = (_QUOTED_PAIR if quoted_pairs else _QUOTE_OR_BACKSLASH).sub(r"\1", text[1:-1])
        parameters.setdefault(match.group(1).lower(), text)
    return first.strip().lower(), parameters


def _media_type(event: Event) -> tuple[str, dict[str, str]]:
    """The Content-Type's media type and its parameters (charset, boundary)."""
    return header_parameters(header(event, "content-type") or "")


def _body_pairs(
    event: Event, max_bytes: int = MAX_BODY_BYTES, files: dict[str, list[Any]] | None = None
) -> list[tuple[str, str]]:
    if not event.get("body"):
        return []
    raw = _raw_body(event, max_bytes)
    media, parameters = _media_type(event)
    if media not in (FORM, JSON, MULTIPART):
        raise UnsupportedBody()
    charset = parameters.get("charset") or None
    encoding = text_charset(charset or "utf-8", form=media == FORM)
    if media == MULTIPART:
        from smtphub.http import multipart  # noqa: PLC0415 - read with the first multipart body, not before

        fields, parts = multipart.read(raw, parameters.get("boundary", ""), charset, files or {})
        for part in parts:
            (files or {})[canonical_name(part.field)].append(part)
        return fields
    if media == JSON:
        return _json_pairs(_decode(raw, encoding, "body"))
    return _form_pairs(raw, encoding)


# IANA's rule for a charset's name: up to 40 printable US-ASCII characters.
_CHARSET_NAME = re.compile(r"[!-~]{1,40}")
# Codecs that decode bytes to text but are no character set of a document (module docstring), by the name
# Python's registry gives them (`codecs.lookup(...).name`).
NOT_CHARSETS = frozenset(
    {
        "unicode-escape",
        "raw-unicode-escape",
        "punycode",
        "idna",
        "undefined",
        "palmos",
        "charmap",
        "mbcs",
        "oem",
        "utf-7",
    }
)
# What a form body writes as itself (the rest is `%XX`, bytes whatever the charset): in a form's charset
# these bytes must read as these characters.
_FORM_SYNTAX = b"&=+azAZ09-._*"
_FORM_TEXT = _FORM_SYNTAX.decode("ascii")
_TEXT_PROBE = b"\0\0\0\0"
CHARSET_REFUSED = "The body's charset is not a character encoding this API reads: send UTF-8"


def text_charset(name: str, *, form: bool = False) -> str:
    """`name` when a body (a form's when `form`) may be decoded in it; anything else is an unsupported body
    (415): see the module's docstring for the rule."""
    if not _CHARSET_NAME.fullmatch(name):
        raise UnsupportedBody(CHARSET_REFUSED)
    try:
        codec = codecs.lookup(name).name  # LookupError: unknown
        # LookupError: not a text encoding. Four NULs are text in every charset (one UTF-32 unit); an
        # empty probe would not do, bytes.decode returns "" for b"" before asking the codec.
        _TEXT_PROBE.decode(codec)
        readable = codec not in NOT_CHARSETS and (not form or _FORM_SYNTAX.decode(codec) == _FORM_TEXT)
    except (LookupError, UnicodeError):
        readable = False
    if not readable:
        raise UnsupportedBody(CHARSET_REFUSED)
    return name


def _decode(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeError:  # UnicodeDecodeError, or a codec's own failure
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
        pairs.append((name, Undecodable(encoding) if value is None else value))
    return pairs


def _unquote(raw: bytes, encoding: str) -> str | None:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode(encoding)
    except UnicodeError:
        return None


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
