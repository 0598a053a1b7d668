"""What the scrubbing suites share: a secret in each encoding a hostile peer may echo (`encodings`), and
disguised as issue 22 found peers do (`disguises`), the logger's lines while a block runs, and every string
of a JSON-like value.

The disguises are written here with the standard library's own encoders (quopri, html.entities, json,
codecs), not with smtphub.smtp.scrub_forms: the suites test the scrubber against them.
"""

from __future__ import annotations

import base64
import contextlib
import html.entities
import io
import json
import quopri
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from smtphub.observability import logger

# Where a disguise mixes the secret with neighbouring bytes (base64 inside a longer stream), this many
# characters at each end may carry bits of both: what must never be shown is what lies between.
EDGE = 3


def encodings(secret: str) -> dict[str, str]:
    """The secret raw, base64, hex (both cases) and URL-encoded (both ways)."""
    data = secret.encode("utf-8")
    return {
        "raw": secret,
        "base64": base64.b64encode(data).decode(),
        "hex": data.hex(),
        "HEX": data.hex().upper(),
        "quote": quote(data, safe=""),
        "quote_plus": quote_plus(data),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _named_html(secret: str) -> str:
    """Named character references where HTML has one (&eacute; &amp; &lt; ...), the rest as it is."""
    names = html.entities.codepoint2name
    return "".join(f"&{names[ord(char)]};" if ord(char) in names else char for char in secret)


def _upper_u_escapes(text: str) -> str:
    """JSON's \\u escapes with upper-case hex digits (both are valid)."""
    return re.sub(r"\\u[0-9a-f]{4}", lambda escape: escape.group().upper().replace("\\U", "\\u"), text)


def _octal(data: bytes) -> str:
    """Every byte as a short octal escape (\\120\\167\\55), the last one on 3 digits (\\055) so that a
    digit after it is not read as part of it, as careful escapers do."""
    return "".join(f"\\{byte:o}" for byte in data[:-1]) + f"\\{data[-1]:03o}"


def _middle(secret: str) -> int:
    """Where to split a secret in two (between characters)."""
    return max(1, len(secret) // 2)


def disguises(secret: str) -> dict[str, str]:
    """The secret as a hostile peer may echo it in one line of text (issue 22): another case, spaced out, a
    bare CR inside, base64 from another byte offset of a longer stream, quoted-printable, UTF-16 (hex,
    base64), HTML references (decimal, hex, named) and backslash escapes (\\xNN, \\uNNNN, octal)."""
    data = secret.encode("utf-8")
    half = _middle(secret)
    return {
        "upper case": secret.upper(),
        "swapped case": secret.swapcase(),
        "spaced out": " ".join(secret),
        "a bare CR inside": secret[:half] + "\r" + secret[half:],
        "hex, spaced": " ".join(f"{byte:02x}" for byte in data),
        "base64 at offset 1": _b64(b"\x01" + data + b"\x02\x03"),
        "base64 at offset 2": _b64(b"\x01\x02" + data + b"\x03"),
        "base64 with more after": _b64(data + b"\x03\x04"),
        "url-safe base64 at offset 1": base64.urlsafe_b64encode(b"\x01" + data + b"\x02").decode("ascii"),
        "quoted-printable": quopri.encodestring(data).decode("ascii").replace("=\n", "").rstrip("\n"),
        "UTF-16 LE, hex": secret.encode("utf-16-le").hex(),
        "UTF-16 BE, HEX": secret.encode("utf-16-be").hex().upper(),
        "UTF-16 with BOM, base64": _b64(secret.encode("utf-16")),
        "UTF-16 BE, base64": _b64(secret.encode("utf-16-be")),
        "HTML decimal": "".join(f"&#{ord(char)};" for char in secret),
        "HTML hex": "".join(f"&#X{ord(char):X};" for char in secret),
        "HTML named": _named_html(secret),
        "escapes \\xNN": "".join(f"\\x{byte:02X}" for byte in data),
        "escapes \\uNNNN": _upper_u_escapes(json.dumps(secret)[1:-1]),
        "escapes octal": _octal(data),
        "Python repr": ascii(secret)[1:-1],
    }


def split_disguises(secret: str, code: int) -> dict[str, str]:
    """The secret cut in two across reply lines (`code` starting the second line), raw or in
    quoted-printable with a soft line break."""
    half = _middle(secret)
    qp = quopri.encodestring(secret.encode("utf-8")).decode("ascii").replace("=\n", "")
    cut = qp.rfind("=", 0, max(1, len(qp) // 2)) if "=" in qp[: len(qp) // 2] else len(qp) // 2
    return {
        "split across lines": f"{secret[:half]}\r\n{code}-{secret[half:]}",
        "quoted-printable, soft line break": f"{qp[:cut]}=\r\n{code}-{qp[cut:]}".rstrip("\n"),
    }


def never_shown(secret: str, disguise: str, name: str) -> list[str]:
    """What of a disguised echo must never be shown: the whole of it, but the mixed ends of base64 inside a
    longer stream, and each half of a secret cut in two."""
    if name.startswith(("base64", "url-safe base64", "UTF-16 with BOM")):
        return [disguise[EDGE:-EDGE]]
    if name in ("split across lines", "a bare CR inside"):
        half = _middle(secret)
        return [secret[:half], secret[half:]]
    if name == "quoted-printable, soft line break":
        head, _, tail = disguise.partition("=\r\n")
        return [head, tail.split("-", 1)[1]]
    return [disguise]


@contextlib.contextmanager
def log_lines() -> Iterator[io.StringIO]:
    """The Powertools logger's JSON lines, written to a buffer while the block runs."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    saved = handler.stream
    handler.stream = buffer
    try:
        yield buffer
    finally:
        handler.stream = saved


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
