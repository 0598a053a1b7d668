"""Server text made safe to show and store: without the password, one line, bounded.

Whatever the server says may end up in an outcome message (so in `lastcheck`, the 406 body and the
log line), in the debug transcript, or in the detail of an accepted message. A hostile or buggy
server can echo what it was sent, in any encoding, so every such text goes through `Scrubber`:

1. **Mask** every occurrence of a secret form with `***` (overlapping and adjacent occurrences
   become one mask). The forms are:
   - the password as it is, and each of its pieces between line breaks (a reply is read line by
     line, so an echoed password holding CR or LF arrives in pieces), with or without a leading
     reply code;
   - base64 (standard and URL-safe, with and without padding) of the password's
     UTF-8 bytes, of the PLAIN tokens `\\0user\\0password` and `user\\0user\\0password`, and of the
     username alone (the LOGIN forms are the username's and the password's);
   - hex, lower and upper case, of the UTF-8 bytes of the password and of the username;
   - URL encoding of the password (`quote` and `quote_plus`, with `/` kept or not, upper- and
     lower-case escapes);
   - the same forms (but the PLAIN tokens) of every other secret the check holds: XOAUTH2's client
     secret, refresh token and service account key file (and its private key, decoded, line by line),
     and what the check makes of them: the JWT assertion and the access token;
   - anything the conversation adds later (the CRAM-MD5 answer, the XOAUTH2 initial response).
   The username itself is not masked: servers name the account ("user x is unknown"), and it is
   not a secret. Its encodings are, because they only appear where credentials were echoed.
2. **Then** replace control, format and line/paragraph separator characters (Unicode Cc, Cf, Zl,
   Zp) by a space and strip the ends: matching runs on the text as received, so a password holding
   a TAB or a CR is found before those characters are rewritten.
3. Mask again (collapsing can join a password that holds a space, and a mask next to text can
   rebuild one: "a" + "a***" masked is "a***"), then truncate to `MAX_SERVER_TEXT` characters.
   Truncation comes last, so it cannot cut a secret in half and let a prefix through: every whole
   occurrence is gone before anything is cut.
4. If a form still occurs (only when the "..." of the truncation completes one), the text is dropped.

Length rule. Every form is masked whatever its length, for any non-empty str (the contract refuses
passwords with control, format or surrogate characters, but the scrubber does not rely on it): a
one-character password masks that character everywhere in server text, which is ugly but never leaks.
Scrubbed server text never holds a form, whatever the password (tests/unit/test_check_scrub.py).
What cannot be promised is that a very short password is absent from a whole outcome or log line,
which also hold our own words, ids, codes, timings and timestamps: "a", "550" or "0000" occur there
whatever the server says. So the end-to-end guarantee, and the Hypothesis property that checks it
(tests/integration/test_check_scrubbing.py), is stated for passwords of at least `MIN_ASSERTED` (4)
characters (their hex is at least 8 characters and their base64 at least 6, lengths no timing or
timestamp reproduces by chance), and differentially: such a password, or any of its forms, occurs in
what a check returns, stores, shows or logs only where it also occurs when the server never echoes it
(e.g. a password "550 " in the reply code we quote, or "0000" in the log's "+0000": no disclosure).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MAX_SERVER_TEXT = 160
MIN_ASSERTED = 4  # see "Length rule" above
_UNSHOWN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_BREAKS = re.compile(r"[\r\n]+")
_REPLY_CODE = re.compile(r"^[0-9]{3}[ -]?")
_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _utf8(text: str) -> bytes:
    """UTF-8, keeping even a lone surrogate (such a password could never be sent, but is masked)."""
    return text.encode("utf-8", "surrogatepass")


def _base64(data: bytes) -> list[str]:
    padded = [base64.b64encode(data).decode("ascii"), base64.urlsafe_b64encode(data).decode("ascii")]
    return padded + [form.rstrip("=") for form in padded]


def _hex(data: bytes) -> list[str]:
    return [data.hex(), data.hex().upper()]


def _url(data: bytes) -> list[str]:
    forms = [
        quote(data, safe=""),
        quote(data, safe="/"),
        quote_plus(data, safe=""),
        quote_plus(data, safe="/"),
    ]
    return forms + [_ESCAPE.sub(lambda escape: escape.group().lower(), form) for form in forms]


def _pieces(password: str) -> list[str]:
    pieces = [piece for piece in _BREAKS.split(password) if piece]
    if len(pieces) < 2:
        return []
    return pieces + [_REPLY_CODE.sub("", piece) for piece in pieces]


def _forms_of(value: str) -> list[str]:
    secret = _utf8(value)
    return [value, *_pieces(value), *_base64(secret), *_hex(secret), *_url(secret)]


def secret_forms(username: str | None, password: str | None, *others: str) -> set[str]:
    """Every form of the credentials that server text may not show (see the module's docstring)."""
    forms: set[str] = set()
    user = _utf8(username or "")
    if user:
        forms.update(_base64(user) + _hex(user))
    if password:
        secret = _utf8(password)
        forms.update(_forms_of(password))
        for token in (b"\0" + user + b"\0" + secret, user + b"\0" + user + b"\0" + secret):
            forms.update(_base64(token))
    for other in others:
        if other:
            forms.update(_forms_of(other))
    forms.discard("")
    return forms


def _collapse(text: str) -> str:
    """Unshowable characters (Cc, Cf, Zl, Zp, Cs) to single spaces, ends stripped."""
    if text.isprintable():
        return text.strip()
    out: list[str] = []
    for char in text:
        if unicodedata.category(char) in _UNSHOWN:
            if not out or out[-1] != " ":
                out.append(" ")
        else:
            out.append(char)
    return "".join(out).strip()


class Scrubber:
    """Masks the credentials' forms in server text; `scrubber(text)` also makes it one short line."""

    def __init__(self, username: str | None, password: str | None, *others: str) -> None:
        self.forms = secret_forms(username, password, *others)

    def add(self, *forms: str) -> None:
        """More secret forms learned during the conversation (the CRAM-MD5 answer), as they are."""
        self.forms.update(form for form in forms if form)

    def add_secret(self, secret: str) -> None:
        """A secret made during the check (an access token, an assertion), with all its usual forms."""
        self.forms.update(secret_forms(None, None, secret))

    def mask(self, text: str) -> str:
        """`text` with every occurrence of every form (overlapping ones merged) replaced by the mask."""
        merged: list[list[int]] = []
        for start, end in sorted(_occurrences(text, self.forms)):
            if merged and start <= merged[-1][1]:  # overlapping or adjacent: one mask
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out: list[str] = []
        done = 0
        for start, end in merged:
            out += [text[done:start], MASK]
            done = end
        out.append(text[done:])
        return "".join(out)

    def leaks(self, text: str) -> bool:
        return any(form in text for form in self.forms)

    def __call__(self, text: str) -> str:
        text = self.mask(_collapse(self.mask(text)))
        if len(text) > MAX_SERVER_TEXT:
            text = text[:MAX_SERVER_TEXT] + "..."
        return "" if self.leaks(text) else text


def _occurrences(text: str, forms: Iterable[str]) -> Iterable[tuple[int, int]]:
    for form in forms:
        start = text.find(form)
        while start >= 0:
            yield start, start + len(form)
            start = text.find(form, start + 1)
