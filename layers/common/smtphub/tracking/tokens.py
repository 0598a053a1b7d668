"""Signed tokens for the public links of an e-mail: the open pixel, a tracked link, the unsubscribe link.

A token names what it is for (`o` open, `c` click, `u` unsubscribe), the e-mail (its id), the recipient
(the address the message was sent to), for a click the link itself, for unsubscribing the app (its
account and id: the e-mail's record may be gone by then), and when it expires; all of it
under an HMAC-SHA256 with the stack's own key (TrackingKeySecret, read once per container). So a token
cannot be forged, altered (another address, another e-mail, another link) or reused for another purpose,
and a click can only ever redirect to a URL that was signed when the message was written: no open
redirect, and nothing to look up.

Form: base64url(JSON [kind, idemail, expires, recipient, extra]) "." base64url(HMAC), no padding; `extra`
is the link of a click, "<account>/<app>" of an unsubscribe, null for an open. The
token is not encrypted: the recipient reading it sees their own address and the link, nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

OPEN: Final = "o"
CLICK: Final = "c"
UNSUBSCRIBE: Final = "u"
KINDS = (OPEN, CLICK, UNSUBSCRIBE)
DAY = 86_400
# How long each kind of link works after the message was written. Opens and clicks: the 30 days an
# e-mail's record and its tracking are kept after it finished, plus the days it may wait to be sent.
# Unsubscribing: 90 days, since a recipient may act on an old message (RFC 8058 asks only that the link
# keep working "for a reasonable time").
LIFETIME: Final = {OPEN: 45 * DAY, CLICK: 45 * DAY, UNSUBSCRIBE: 90 * DAY}
MAX_TOKEN = 8192  # a URL's worth; anything longer is refused before any work


@dataclass(frozen=True, slots=True)
class Claims:
    kind: str
    email_id: str
    recipient: str
    expires: int
    extra: str | None = None  # a click's link; an unsubscribe's "<account>/<app>"

    @property
    def url(self) -> str:
        """A click's link."""
        return self.extra or ""

    @property
    def app(self) -> tuple[str, str]:
        """An unsubscribe's (account, app)."""
        account_id, _, app_id = (self.extra or "").rpartition("/")
        return account_id, app_id


class Tokens:
    """Makes and reads tokens with one key."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("the tracking key must have at least 32 bytes")
        self.key = key
        self.clock = clock

    def make(self, kind: str, email_id: str, recipient: str, extra: str | None = None) -> str:
        if (kind == OPEN) != (extra is None):
            raise ValueError("a click names its link, an unsubscribe its app, an open nothing more")
        expires = int(self.clock()) + LIFETIME[kind]
        claims = [kind, email_id, expires, recipient, extra]
        payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{payload}.{_b64(self._sign(payload))}"

    def read(self, token: str, kind: str) -> Claims | None:
        """The claims of a token of `kind` that this key signed and that has not expired; else None."""
        if not token or len(token) > MAX_TOKEN:
            return None
        payload, _, signature = token.partition(".")
        given = _unb64(signature)
        if given is None or not hmac.compare_digest(given, self._sign(payload)):
            return None
        raw = _unb64(payload)
        try:
            found, email_id, expires, recipient, extra = json.loads(raw or b"")
        except (ValueError, TypeError):
            return None
        fine = found == kind and isinstance(email_id, str) and isinstance(recipient, str)
        if not fine or not isinstance(expires, int) or expires < self.clock():
            return None
        if (kind == OPEN) != (extra is None) or not isinstance(extra, str | None):
            return None
        return Claims(kind, email_id, recipient, expires, extra)

    def _sign(self, payload: str) -> bytes:
        message = b"smtp-hub tracking v1\0" + payload.encode("ascii", "replace")
        return hmac.new(self.key, message, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    if not text.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
