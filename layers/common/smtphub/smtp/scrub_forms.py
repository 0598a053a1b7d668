"""The forms a secret may take in server text, for smtphub.smtp.scrub (which says what each is for).

- `exact_forms`: strings looked for as they are (case aside) and masked in place;
- `hidden_forms`: strings looked for in a text's normalized views (smtphub.smtp.scrub_views: case folded,
  spacing and line breaks removed, and decoded from quoted-printable, URL, HTML and backslash escapes);
  finding one there drops the text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

from smtphub.smtp.scrub_views import normalized

MAX_TEXT_FORMS = 256  # see exact_forms
MIN_PIECE = 8  # the shortest piece of a secret also masked in its encodings (see piece_forms)
MIN_CORE = 4  # the shortest base64 core masked in place (shorter ones would mask random text)
# The shortest normalized forms looked for in the views: a secret itself (its spacing and unprintable
# characters removed), and an encoded one (shorter ones would drop random text).
MIN_HIDDEN_SECRET = 4
MIN_HIDDEN = 6
_BREAKS = re.compile(r"[\r\n]+")
_REPLY_CODE = re.compile(r"^[0-9]{3}[ -]?")
_HTML_ESCAPES_NO_QUOTES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_HTML_ESCAPES = {**_HTML_ESCAPES_NO_QUOTES, ord('"'): "&quot;", ord("'"): "&#x27;"}
_ALPHABETS: tuple[Callable[[bytes], bytes], ...] = (base64.b64encode, base64.urlsafe_b64encode)


def utf8(text: str) -> bytes:
    """UTF-8, keeping even a lone surrogate (such a secret could never be sent, but is masked)."""
    return text.encode("utf-8", "surrogatepass")


def encodings(text: str) -> list[bytes]:
    """The bytes a secret's text may be echoed as: UTF-8 (what was sent), UTF-16 LE and BE."""
    return [utf8(text), text.encode("utf-16-le", "surrogatepass"), text.encode("utf-16-be", "surrogatepass")]


def base64_whole(data: bytes) -> list[str]:
    """`data` alone in base64, standard and URL-safe, padded and not."""
    padded = [encode(data).decode("ascii") for encode in _ALPHABETS]
    return padded + [form.rstrip("=") for form in padded]


def base64_cores(data: bytes, minimum: int) -> list[str]:
    """What base64 shows of `data` inside a longer stream, at each of the 3 byte offsets (mod 3): the
    characters whose 6 bits all come from `data` (the first and last may mix in their neighbours' bits),
    in both alphabets; those of at least `minimum` characters."""
    cores = []
    for offset in (0, 1, 2):
        first, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        for encode in _ALPHABETS:
            core = encode(b"\0" * offset + data).decode("ascii")[first:end]
            if len(core) >= minimum:
                cores.append(core)
    return cores


def url_forms(data: bytes) -> list[str]:
    """URL encoding: `quote` and `quote_plus`, `/` kept or not (the case of the escapes aside)."""
    strict, spaced = quote(data, safe=""), quote(data, safe=" ").replace(" ", "+")
    return [strict, strict.replace("%2F", "/"), spaced, spaced.replace("%2F", "/")]


def quoted_printable(data: bytes) -> list[str]:
    """RFC 2045 quoted-printable (without soft line breaks: the views remove those), spaces kept or not."""
    latin = data.decode("latin-1")  # one character per byte, translated below (C speed on long secrets)
    table = {byte: f"={byte:02X}" for byte in set(data) if not 33 <= byte <= 126 or byte == 61}
    return [latin.translate(table), latin.translate({**table, 32: " "})]


def html_forms(text: str) -> list[str]:
    """HTML: the usual escaping of < > & " ', and every character as a decimal or hex reference."""
    chars = set(map(ord, text))
    return [
        text.translate(_HTML_ESCAPES),  # html.escape's, without importing html (and its entities) at init
        text.translate(_HTML_ESCAPES_NO_QUOTES),
        text.translate({point: f"&#{point};" for point in chars}),
        text.translate({point: f"&#x{point:x};" for point in chars}),
    ]


def escape_forms(text: str, data: bytes) -> list[str]:
    """Backslash escapes: Python's and JSON's (the non-ASCII escaped), and every byte or character escaped
    (\\xNN, octal \\NNN, \\uNNNN as JSON writes a character outside the BMP: its two surrogates)."""
    latin = data.decode("latin-1")
    units = text.encode("utf-16-be", "surrogatepass").hex(" ", 2)  # "0050 00e9 d83d de00"
    return [
        text.encode("unicode_escape").decode("ascii"),
        repr(data)[2:-1],
        json.dumps(text)[1:-1],
        latin.translate({byte: f"\\x{byte:02x}" for byte in set(data)}),
        latin.translate({byte: f"\\{byte:03o}" for byte in set(data)}),
        "\\u" + units.replace(" ", "\\u") if units else "",
    ]


def pieces(secret: str) -> list[str]:
    """A secret holding line breaks arrives in pieces (a reply is read line by line, its line ends dropped),
    each maybe without what looked like a reply code at its start; one that only starts or ends with one,
    without it."""
    found = [piece for piece in _BREAKS.split(secret) if piece]
    if len(found) < 2:
        return found if found and found[0] != secret else []
    return found + [_REPLY_CODE.sub("", piece) for piece in found]


def piece_forms(secret: str) -> list[str]:
    """The pieces of `secret` (`pieces`), and those of at least MIN_PIECE characters (a private key's lines)
    also in base64 (alone), hex and URL encoding."""
    forms = pieces(secret)
    for piece in forms:
        if len(piece) >= MIN_PIECE:
            data = utf8(piece)
            forms = [*forms, *base64_whole(data), data.hex(), *url_forms(data)]
    return forms


def exact_forms(secret: str) -> list[str]:
    """Every whole form of `secret` masked in place (see smtphub.smtp.scrub); its `pieces` aside. A secret
    longer than MAX_TEXT_FORMS characters (a key file, a signed assertion) has no URL, quoted-printable,
    HTML or escaped form here: the views undo those (its echo is dropped rather than masked), and
    building them for every check would cost more than all the rest."""
    data = utf8(secret)
    forms = [secret]
    if len(secret) <= MAX_TEXT_FORMS:
        forms += url_forms(data) + quoted_printable(data) + html_forms(secret) + escape_forms(secret, data)
    for encoded in encodings(secret):
        forms += [encoded.hex(), *base64_whole(encoded), *base64_cores(encoded, MIN_CORE)]
    return forms


def hidden_forms(secret: str) -> list[str]:
    """The normalized forms of `secret` looked for in a text's views: itself (its views undo the
    text-level encodings), each of its pieces, and its pieces joined without reply codes, those of at
    least MIN_HIDDEN_SECRET characters; its hex and base64 cores in UTF-8 and UTF-16, at least
    MIN_HIDDEN."""
    forms = [normalized(secret), *map(normalized, pieces(secret))]
    if pieces(secret):
        forms.append(normalized("".join(_REPLY_CODE.sub("", piece) for piece in _BREAKS.split(secret))))
    forms = [form for form in forms if len(form) >= MIN_HIDDEN_SECRET]
    for encoded in encodings(secret):
        derived = [encoded.hex(), *base64_cores(encoded, MIN_HIDDEN)]
        forms += [normalized(form) for form in derived if len(form) >= MIN_HIDDEN]
    return forms


def token_forms(username: bytes, password: bytes) -> list[str]:
    """The PLAIN tokens (RFC 4616) a password was sent in, in base64: without and with an authzid."""
    return [
        form
        for token in (b"\0" + username + b"\0" + password, username + b"\0" + username + b"\0" + password)
        for form in base64_whole(token)
    ]


def username_forms(user: bytes) -> list[str]:
    """The username's base64 and hex (the LOGIN answer's): only credentials echoed show them."""
    return [*base64_whole(user), user.hex()]


def nonempty(forms: Iterable[str]) -> set[str]:
    return {form for form in forms if form}
