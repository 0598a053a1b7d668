"""The public links of one recipient's copy of an e-mail, and the HTML rewritten to carry them.

`Links(base_url, tokens, email_id, recipient, (account, app))` makes the URLs (the open pixel, a tracked
link, the unsubscribe link); `rewrite_html(html, links, track=..., unsubscribe=...)` is the pure function
the sender calls per recipient: with `track`, every http(s) link of an `<a href>` goes through the click
route and a 1x1 pixel is added at the end of the body; with `unsubscribe`, a visible unsubscribe link is
added there.
`unsubscribe_headers(links)` are RFC 8058's two headers. Nothing here does I/O.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import quote, urlsplit

from smtphub.tracking.tokens import CLICK, OPEN, UNSUBSCRIBE, Tokens

OPEN_PATH = "/public/tracking/open"
CLICK_PATH = "/public/tracking/click"
UNSUBSCRIBE_PATH = "/public/blacklist/unsubscribe"
# An <a ...> start tag's href attribute (quoted with " or ', or unquoted), case-insensitive.
_HREF = re.compile(
    r"""(<a\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE | re.DOTALL
)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
UNSUBSCRIBE_TEXT = "Unsubscribe"


class Links:
    """The links of `recipient`'s copy of e-mail `email_id`, of app `app_id` of account `account_id`."""

    def __init__(
        self, base_url: str, tokens: Tokens, email_id: str, recipient: str, app: tuple[str, str]
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.email_id = email_id
        self.recipient = recipient
        self.app = app

    def _url(self, path: str, token: str) -> str:
        return f"{self.base_url}{path}?t={quote(token, safe='')}"

    def pixel(self) -> str:
        return self._url(OPEN_PATH, self.tokens.make(OPEN, self.email_id, self.recipient))

    def click(self, url: str) -> str:
        return self._url(CLICK_PATH, self.tokens.make(CLICK, self.email_id, self.recipient, url))

    def unsubscribe(self) -> str:
        account_id, app_id = self.app
        token = self.tokens.make(UNSUBSCRIBE, self.email_id, self.recipient, f"{account_id}/{app_id}")
        return self._url(UNSUBSCRIBE_PATH, token)


def trackable(url: str) -> bool:
    """Whether a link is rewritten: an absolute http(s) URL with a host (not mailto:, tel:, #anchors,
    relative links, or a template placeholder)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and not any(character.isspace() for character in url)
    )


def rewrite_html(html: str, links: Links, *, track: bool, unsubscribe: bool) -> str:
    """`html` with its links tracked and the pixel added (`track`), and a visible unsubscribe link
    (`unsubscribe`). An href's entities are read as a browser would (`&amp;` is `&`), and written escaped."""
    if track:
        html = _HREF.sub(lambda match: _tracked(match, links), html)
    tail = ""
    if unsubscribe:
        href = htmllib.escape(links.unsubscribe(), quote=True)
        tail += f'<p style="font-size:12px;color:#666666"><a href="{href}">{UNSUBSCRIBE_TEXT}</a></p>'
    if track:
        src = htmllib.escape(links.pixel(), quote=True)
        style = "display:block;border:0;width:1px;height:1px"
        tail += f'<img src="{src}" width="1" height="1" alt="" style="{style}">'
    if not tail:
        return html
    ends = list(_BODY_END.finditer(html))
    if ends:
        at = ends[-1].start()
        return html[:at] + tail + html[at:]
    return html + tail


def _tracked(match: re.Match[str], links: Links) -> str:
    raw = next(group for group in match.group(3, 4, 5) if group is not None)
    url = htmllib.unescape(raw).strip()
    if not trackable(url):
        return match.group(0)
    return f'{match.group(1)}"{htmllib.escape(links.click(url), quote=True)}"'


def rewrite_text(text: str, links: Links) -> str:
    """A plain-text body with the unsubscribe link added at its end."""
    return f"{text.rstrip()}\n\n{UNSUBSCRIBE_TEXT}: {links.unsubscribe()}\n"


def unsubscribe_headers(links: Links) -> dict[str, str]:
    """RFC 8058's headers: the https URL a mail client POSTs `List-Unsubscribe=One-Click` to."""
    return {
        "List-Unsubscribe": f"<{links.unsubscribe()}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
