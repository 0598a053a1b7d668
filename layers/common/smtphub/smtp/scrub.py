"""Server text made safe to show and store: without any secret, one line, bounded.

Whatever a server or a token endpoint says may end up in an outcome message (so in `lastcheck`, history,
events, the 406 body and the log line), in `lastcheck`'s capabilities and TLS fields, in the debug
transcript, or in the detail of an accepted message. A hostile or buggy peer can echo what it was sent,
disguised, so every such text goes through `Scrubber`. The secrets: the password, XOAUTH2's client
secret, refresh token and service account key file (and its private key), and what the check makes of
them (the signed JWT assertion, the access token, the CRAM-MD5 answer, the XOAUTH2 initial response, the
PLAIN tokens).

1. **Mask in place** every occurrence, in any letter case, of each exact form of each secret with `***`
   (overlapping and adjacent occurrences become one mask). The exact forms (smtphub.smtp.scrub_forms):
   - the secret as it is, and each of its pieces between line breaks (a reply is read line by line, so
     an echoed secret holding CR or LF arrives in pieces; a private key's lines), with or without a
     leading reply code; pieces of 8 characters or more also in base64 (alone), hex and URL encoding;
   - base64 (standard and URL-safe, padded or not) of its UTF-8, UTF-16 LE and UTF-16 BE bytes alone,
     and the characters each shows inside a longer base64 stream, at each byte offset mod 3 (its
     "cores", 4 characters or more); the PLAIN tokens `\\0user\\0password`, `user\\0user\\0password`;
   - hex of its UTF-8, UTF-16 LE and UTF-16 BE bytes;
   - for secrets of up to 256 characters (`MAX_TEXT_FORMS`; longer ones, a key file or an assertion, are
     left to step 2): URL encoding (`quote`, `quote_plus`, `/` kept or not); quoted-printable (spaces
     kept or not); HTML (the usual escaping, every character as a decimal or hex reference); backslash
     escapes (Python's `unicode_escape` and bytes repr, JSON's, every byte as `\\xNN` or octal `\\NNN`,
     every UTF-16 unit as `\\uNNNN`);
   - the username's base64 and hex (they only appear where credentials were echoed; the username itself
     is kept: servers name the account, "user x is unknown", and it is not a secret).
2. **Then look for what masking cannot locate** (`hides`): each secret's normalized forms (itself, each
   of its pieces and its pieces joined, 4 characters or more once normalized; the hex and base64 cores
   of its UTF-8 and UTF-16 bytes, 6 or more) in the text's normalized views (smtphub.smtp.scrub_views:
   case folded, line breaks, a bare CR, spacing, TAB, NUL and other unprintable characters removed; and
   again after undoing quoted-printable with its soft line breaks, URL encoding, HTML references,
   decimal, hex or named, and backslash escapes, \\xNN and octal as UTF-8 bytes or as code points). A
   secret found there was split across lines, spaced out, in another case inside an encoding, partly
   escaped or otherwise disguised, and cannot be masked in place: the whole text is dropped (""), and
   what quotes it keeps only the reply code. Callers judge what they quote as a whole: a reply is quoted
   only when nothing hides in everything the server has said so far, its lines and replies in order
   (so a secret cut at a line or a reply boundary is found; smtphub.smtp.session); `capabilities` and
   the transcript's server lines are reduced the same way (codes only); a token endpoint's description is
   judged whole when only its first line is shown, and its `error` and AADSTS label are quoted only when
   scrubbing leaves them unchanged.
3. Replace control, format and line/paragraph separator characters (Unicode Cc, Cf, Zl, Zp) by a space
   and strip the ends, mask again (collapsing can join a secret that holds a space, and a mask next to
   text can rebuild one: "a" + "a***" masked is "a***"), then truncate to `MAX_SERVER_TEXT` characters.
   Truncation comes last, so it cannot cut a secret in half and let a prefix through.
4. If an exact or a normalized form still occurs (only when the "..." of the truncation completes one),
   the text is dropped.

Not covered: encodings of encodings (base64 of a hex form, ...), other character sets (UTF-32, Latin-1
bytes in hex), escapes run into the text around them ambiguously (a literal "\\" just before an escaped
form), a secret of fewer than 4 characters once normalized (step 2 only; step 1 still masks it in place),
and pieces of one secret with other text between them (half in a certificate's name, half in a refusal).
Each covered form has a test: tests/unit/test_check_scrub.py (each form, each view, Hypothesis over
passwords from all of Unicode), tests/integration/test_check_scrubbing.py and test_check_scrubbing_oauth.py
(hostile SMTP peers and token endpoints echoing each form; nothing in the 406, `lastcheck`, history,
events, transcript or log).

Cost (README, "Checking a server"): a password's scrubber is built in about 0.3 ms and scrubs a reply line
in about 15 us (0.6 ms for a whole check); a service-account check's, 5 ms and 30 us.

Length rule. Every exact form is masked whatever its length, for any non-empty str (the contract refuses
passwords with control, format or surrogate characters, but the scrubber does not rely on it): a
one-character password masks that character everywhere in server text, which is ugly but never leaks.
Scrubbed server text never holds a form, whatever the password (tests/unit/test_check_scrub.py).
What cannot be promised is that a very short password is absent from a whole outcome or log line,
which also hold our own words, ids, codes, timings and timestamps: "a", "550" or "0000" occur there
whatever the server says. So the end-to-end guarantee, and the Hypothesis properties that check it, is
stated for secrets of at least `MIN_ASSERTED` (4) characters once normalized (their hex is at least 8
characters and their base64 at least 6, lengths no timing or timestamp reproduces by chance), and
differentially: such a secret, or any of its forms, occurs in what a check returns, stores, shows or logs
only where it also occurs when the server never echoes it (e.g. a password "550 " in the reply code we
quote, or "0000" in the log's "+0000": no disclosure).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from smtphub.smtp.scrub_forms import (
    MIN_HIDDEN,
    MIN_HIDDEN_SECRET,
    exact_forms,
    hidden_forms,
    nonempty,
    piece_forms,
    pieces,
    token_forms,
    username_forms,
    utf8,
)
from smtphub.smtp.scrub_views import normalized, views

MASK = "***"
MAX_SERVER_TEXT = 160
MIN_ASSERTED = 4  # see "Length rule" above
_UNSHOWN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def secret_forms(username: str | None, password: str | None, *others: str) -> set[str]:
    """Every exact form of the credentials that server text may not show (see the module's docstring)."""
    user = utf8(username or "")
    forms: set[str] = set()
    if user:
        forms.update(username_forms(user))
    for secret in (password, *others):
        if secret:
            forms.update(exact_forms(secret) + piece_forms(secret))
    if password:
        forms.update(token_forms(user, utf8(password)))
    return nonempty(forms)


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
    """Masks the secrets' forms in server text; `scrubber(text)` also makes it one short line, or drops it
    when a secret hides in it (see the module's docstring)."""

    def __init__(self, username: str | None, password: str | None, *others: str) -> None:
        self.forms: set[str] = set()
        self._exact: set[str] = set()  # the forms, lower-cased (case-insensitive matching)
        self._short: set[str] = set()  # short pieces, not masked before the views are searched (`hides`)
        self._hidden: set[str] = set()  # the normalized forms looked for in the views
        self._exact_heads = _Heads()  # most texts hold no form: found out quickly
        self._hidden_heads = _Heads()
        secrets = [secret for secret in (password, *others) if secret]
        self._learn(secret_forms(username, password, *others), secrets)

    def _learn(self, forms: Iterable[str], secrets: Iterable[str] = (), hidden: Iterable[str] = ()) -> None:
        forms = {form for form in forms if form}
        self.forms |= forms
        self._exact |= {_lower(form) for form in forms}
        for secret in secrets:
            self._short |= {_lower(p) for p in pieces(secret) if len(normalized(p)) < MIN_HIDDEN_SECRET}
            self._hidden.update(hidden_forms(secret))
        self._hidden.update(hidden)
        self._exact_heads.update(self._exact)
        self._hidden_heads.update(self._hidden)

    def add(self, *forms: str) -> None:
        """More forms learned during the conversation (the CRAM-MD5 answer), as they are."""
        hidden = (form for form in map(normalized, forms) if len(form) >= MIN_HIDDEN)
        self._learn(forms, hidden=list(hidden))

    def add_secret(self, secret: str) -> None:
        """A secret made during the check (an access token, an assertion), with all its forms."""
        if secret:
            self._learn(exact_forms(secret) + piece_forms(secret), [secret])

    def mask(self, text: str, *, whole: bool = False) -> str:
        """`text` with every occurrence, in any case, of every exact form (overlapping ones merged) masked;
        but the short pieces, with `whole`."""
        lowered = _lower(text)
        if not self._exact_heads.any_in(lowered):
            return text
        forms = self._exact - self._short if whole else self._exact
        merged: list[list[int]] = []
        for start, end in sorted(_occurrences(lowered, forms)):
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

    def hides(self, text: str) -> bool:
        """Whether `text` holds a secret that masking cannot locate (step 2 of the module's docstring).
        Short pieces of a secret holding a line break are not masked first: "0" of "0\r01:11" masked would
        hide the rest of a disguised echo ("0\r0\r1:11") from the views."""
        return self._in_views(self._masked(text, whole=True))

    def leaks(self, text: str) -> bool:
        """Whether `text` holds any form, exact (any case) or normalized: what shown text never does."""
        lowered = _lower(text)
        exact = self._exact_heads.any_in(lowered) and any(form in lowered for form in self._exact)
        return exact or self._in_views(text)

    def __call__(self, text: str) -> str:
        masked = self._masked(text)
        if self._in_views(self._masked(text, whole=True) if self._short else masked):
            return ""
        text = self.mask(_collapse(masked))
        if len(text) > MAX_SERVER_TEXT:
            text = text[:MAX_SERVER_TEXT] + "..."
        return "" if self.leaks(text) else text

    def _masked(self, text: str, *, whole: bool = False) -> str:
        """`mask` until nothing changes: a mask next to text can rebuild a secret ("a" + "a***" is "a***")."""
        masked = self.mask(text, whole=whole)
        for _ in range(3):
            if MASK not in masked:
                break
            again = self.mask(masked, whole=whole)
            if again == masked:
                break
            masked = again
        return masked

    def _in_views(self, text: str) -> bool:
        if not self._hidden:
            return False
        for view in views(text):
            if self._hidden_heads.any_in(view) and any(form in view for form in self._hidden):
                return True
        return False


class _Heads:
    """A quick "no" to "does any of these forms occur in this text?". Up to FEW forms (a password's), each
    is looked for (str.find is fast); beyond (a key file's, a token's, an assertion's), the first SIZE
    characters of each are looked up at each position of the text (a set lookup each), with the shorter
    forms themselves. Only when it says "maybe" are the forms searched one by one."""

    SIZE = 4
    FEW = 64

    def __init__(self) -> None:
        self.forms: set[str] = set()
        self.heads: set[str] = set()
        self.short: set[str] = set()

    def update(self, forms: Iterable[str]) -> None:
        for form in forms:
            self.forms.add(form)
            if len(form) >= self.SIZE:
                self.heads.add(form[: self.SIZE])
            elif form:
                self.short.add(form)

    def any_in(self, text: str) -> bool:
        if len(self.forms) <= self.FEW:
            return any(form in text for form in self.forms)
        if any(form in text for form in self.short):
            return True
        heads, size = self.heads, self.SIZE
        return any(text[at : at + size] in heads for at in range(len(text) - size + 1))


def _lower(text: str) -> str:
    """Lower case, one character for one (str.lower makes two of U+0130 alone), so positions hold."""
    return (text.replace("\u0130", "i") if "\u0130" in text else text).lower()


def _occurrences(text: str, forms: Iterable[str]) -> Iterable[tuple[int, int]]:
    for form in forms:
        start = text.find(form)
        while start >= 0:
            yield start, start + len(form)
            start = text.find(form, start + 1)
