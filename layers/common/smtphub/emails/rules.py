"""What an e-mail may ask for, judged the same way when it is sent (the request's validation, API side) and
when it goes out (smtphub.sending): its charsets and its URL attachments. Pure and light (no I/O, nothing
heavy imported), so that emails/send can use it at no cold-start cost, and one floor below the sender.
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import urlsplit

from smtphub.errors import InvalidInput

MAX_URL = 2048
_ASCII = "".join(map(chr, range(128)))
_MIME_NAMES = {"ascii": "us-ascii", "shift_jis": "shift_jis", "mac-roman": "macintosh"}


def charset(name: str, parameter: str = "bodyencoding") -> str:
    """The MIME name of the charset `name` (UTF8 -> utf-8, latin1 -> iso-8859-1, cp1252 -> windows-1252);
    InvalidInput naming `parameter` when Python has no such text encoding or it is not ASCII-compatible
    (UTF-16, UTF-7, EBCDIC: a text part's line ends and headers must stay ASCII)."""
    try:
        compatible = _ASCII.encode(name) == _ASCII.encode("ascii")
        codec = codecs.lookup(name).name
    except (LookupError, UnicodeError, ValueError, TypeError):
        compatible, codec = False, ""
    if not compatible:
        raise InvalidInput({parameter: "is not a charset this service can send (use UTF-8, ISO-8859-1, ...)"})
    if match := re.fullmatch(r"iso8859-(\d+)", codec):
        return f"iso-8859-{match.group(1)}"
    if match := re.fullmatch(r"cp(125\d)", codec):
        return f"windows-{match.group(1)}"
    if match := re.fullmatch(r"iso2022_(\w+)", codec):
        return "iso-2022-" + match.group(1).replace("_", "-")
    return _MIME_NAMES.get(codec, codec.replace("_", "-"))


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a URL attachment (for the request's validation), or None."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return "must be an https URL"
    if parts.scheme.lower() != "https" or not parts.hostname:
        return "must be an https URL"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password"
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    return None


def shown(url: str) -> str:
    """The URL as a message shows it: no user info, query or fragment (a presigned URL's signature)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(a URL that is not one)"
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]
