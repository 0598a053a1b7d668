"""A text's normalized views, where smtphub.smtp.scrub looks for secrets that masking cannot locate.

`normalized` folds case (str.casefold) and removes every character that is not printable or is a space
(Unicode Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs: line breaks, a bare CR, TAB, NUL, ...), so a secret echoed in
another case, split across reply lines, spaced out, or as UTF-16 read as UTF-8 (NULs between its ASCII
characters) reads as itself. `views` gives the text so normalized, and normalized again after undoing each
text-level encoding a server may use, when the text holds its marker:

- quoted-printable (`=`): soft line breaks removed, `=XX` runs decoded as UTF-8;
- URL encoding (`%` or `+`): `%XX` as UTF-8, `+` as a space;
- HTML (`&`): character references, decimal, hex and named;
- backslash escapes (`\\`): `\\xNN` and octal `\\NNN` runs as UTF-8 bytes (C, Python bytes) and, in a
  second view, as code points (Python str, Latin-1); `\\uNNNN`, `\\UNNNNNNNN` (surrogate pairs joined), and
  `\\"`, `\\\\`, `\\/` and the like.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

_SOFT_BREAK = re.compile(r"=[ \t]*(?:\r\n|\r|\n)|=[ \t]+")  # the second: its lines joined with a space
_QP_RUN = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_OCTAL = r"\\(?:[0-3][0-7]{2}|[0-7]{1,2})"  # a byte: up to \377 (\600 is \60 then "0")
# One pass over every escape, so that what one decodes to (a backslash) is never decoded again.
_ESCAPES = re.compile(
    rf"(?P<bytes>(?:\\x[0-9A-Fa-f]{{2}}|{_OCTAL})+)|\\u(?P<u>[0-9A-Fa-f]{{4}})|\\U(?P<U>[0-9A-Fa-f]{{8}})|\\(?P<c>.)",
    re.DOTALL,
)
_BYTE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\([0-3][0-7]{2}|[0-7]{1,2})")
_CONTROL = {"n": "", "r": "", "t": ""}  # removed as the spacing they stand for is


def squeeze(text: str) -> str:
    """`text` without its unprintable characters and spaces."""
    if text.isprintable():
        return text.replace(" ", "") if " " in text else text
    gone = [ord(char) for char in set(text) if char == " " or not char.isprintable()]
    return text.translate(dict.fromkeys(gone))


def normalized(text: str) -> str:
    return squeeze(text).casefold()


def views(text: str) -> list[str]:
    """`text` normalized, and normalized after each decoding its markers call for (module docstring)."""
    base = squeeze(text)
    found = [base]
    if "=" in base:
        found.append(_QP_RUN.sub(_bytes_of_hex, squeeze(_SOFT_BREAK.sub("", text))))
    # Decoded as received (spacing may delimit an escape) and with the spacing gone (a reference or an
    # escape may be split across lines).
    for source in (base, text) if base != text else (base,):
        if "%" in source or "+" in source:
            found.append(unquote_plus(source))
        if "&" in source:
            import html  # noqa: PLC0415 - its entities cost an import at init; few replies hold a "&"

            found.append(html.unescape(source))
        if "\\" in source:
            found += [_unescape(source, as_bytes=True), _unescape(source, as_bytes=False)]
    return [found[0].casefold(), *(normalized(view) for view in found[1:])]


def _bytes_of_hex(run: re.Match[str]) -> str:
    return bytes.fromhex(run.group().replace("=", "")).decode("utf-8", "replace")


def _unescape(text: str, *, as_bytes: bool) -> str:
    """Backslash escapes undone in one pass: runs of \\xNN and octal as UTF-8 bytes (`as_bytes`) or each as
    a code point; \\uNNNN, \\UNNNNNNNN; any other escaped character as itself, \\n \\r \\t as nothing."""

    def undo(escape: re.Match[str]) -> str:
        run, short, long, other = escape.group("bytes", "u", "U", "c")
        if run:
            values = bytes(int(hexa, 16) if hexa else int(octal, 8) for hexa, octal in _BYTE.findall(run))
            return values.decode("utf-8", "replace") if as_bytes else values.decode("latin-1")
        if short or long:
            value = int(short or long, 16)
            return chr(value) if value <= 0x10FFFF else ""
        return _CONTROL.get(other, other)

    decoded = _ESCAPES.sub(undo, text)
    # \ud83d\ude00 (JSON's escape of one character outside the BMP) joined into that character.
    return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
