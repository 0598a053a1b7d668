"""Header values, written out: the subject, mailboxes and file names (the charsets' names are
smtphub.emails.rules').

Python's email package would write them too, but not safely on every Python this runs on: 3.11 and 3.12 fold
an address list after an encoded display name into a comma encoded as a word (`=?utf-8?q?=2C?=`), and its
parameter folder quotes a name such as `<x>` or `=?utf-8?q?x?=`, which mail clients then unquote or decode
into something else. So these values are written here, with the package's encoders (`Header`) but folded
here (lines of at most 78 characters but for an address itself). None of them checks for control
characters: `allowed` does, before anything is written.
"""

from __future__ import annotations

import re
import unicodedata
from email import charset as email_charset
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from urllib.parse import quote

from smtphub.emails.rules import charset
from smtphub.errors import InvalidInput

MAX_ADDRESS = 320  # 64 for the local part, @, 255 for the domain
_FORBIDDEN = frozenset({"Cc", "Zl", "Zp", "Cs"})
# Text that reads back the same without encoding: printable ASCII words of at most 60, single spaces.
_PLAIN = re.compile(r"[!-~]{1,60}(?: [!-~]{1,60})*")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60}(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60})*")
_PLAIN_FILENAME = re.compile(r"(?=.{1,60}$)[A-Za-z0-9_.()+-]+(?: [A-Za-z0-9_.()+-]+)*")


def allowed(value: str) -> bool:
    """Whether `value` may be in a header: no control character (CR, LF, TAB, NUL, ...), no line or
    paragraph separator, no lone surrogate."""
    return value.isprintable() or not any(unicodedata.category(c) in _FORBIDDEN for c in value)


def subject(text: str, encoding: str) -> str:
    """The Subject's value: the text itself when plain ASCII reads back the same, else RFC 2047 encoded
    words in `encoding` (declared as asked: Python would turn Shift_JIS into ISO-2022-JP). InvalidInput for
    an unknown charset (`subjectencoding`) or text it cannot encode (`subject`)."""
    if _PLAIN.fullmatch(text) and "=?" not in text:
        return Header(text, "us-ascii", header_name="Subject").encode(linesep="\r\n")
    words = email_charset.Charset(charset(encoding, "subjectencoding"))
    words.output_charset, words.output_codec = words.input_charset, words.input_codec
    try:
        return Header(text, words, header_name="Subject").encode(linesep="\r\n")
    except (UnicodeError, LookupError):
        raise InvalidInput({"subject": "holds characters that subjectencoding cannot encode"}) from None


def mailbox(address: str, name: str = "") -> str:
    """`name <address>` as a header writes it (the name as atoms, quoted, or encoded words); ValueError when
    `address` is not one."""
    spec = addr_spec(address.strip())
    if not spec or len(spec) > MAX_ADDRESS:
        raise ValueError("not an e-mail address")
    return f"{_phrase(name)} <{spec}>" if name else spec


def addr_spec(address: str) -> str:
    """The address as a header writes it (quoted where it must be); "" when it is not an address. Python's
    parser refuses a local part that is not ASCII (RFC 6532 allows it, with SMTPUTF8): such an address is
    judged by its shape, each non-ASCII character standing in as an ASCII letter."""
    shape = "".join(c if c.isascii() else "x" for c in address)
    try:
        spec = Address(addr_spec=shape).addr_spec
    except (ValueError, IndexError, HeaderParseError):
        return ""
    if address.isascii():
        return spec
    return address if spec == shape else ""


def _phrase(name: str) -> str:
    """A display name: as it is when it is atoms, quoted when it is other short ASCII, else encoded words
    (UTF-8), folded so that no line is long."""
    if "=?" not in name and _ATOMS.fullmatch(name):
        return name
    if "=?" not in name and _PLAIN.fullmatch(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return Header(name, "utf-8", header_name="Reply-To").encode(linesep="\r\n")


def parameter(attribute: str, value: str) -> str:
    """`attribute="value"` for a plain file name, else RFC 2231's `attribute*=utf-8''%..`, continued over
    lines of at most 50 encoded characters (`attribute*0*=utf-8''..;` then `attribute*1*=..`)."""
    if _PLAIN_FILENAME.fullmatch(value):
        return f'{attribute}="{value}"'
    pieces = re.findall(r"%[0-9A-F]{2}|[^%]", quote(value.encode("utf-8"), safe=""))
    chunks = [""]
    for piece in pieces:
        if len(chunks[-1]) + len(piece) > 50:
            chunks.append("")
        chunks[-1] += piece
    if len(chunks) == 1:
        return f"{attribute}*=utf-8''{chunks[0]}"
    lines = [f"{attribute}*{number}*={chunk}" for number, chunk in enumerate(chunks)]
    lines[0] = lines[0].replace("=", "=utf-8''", 1)
    return ";\r\n ".join(lines)
