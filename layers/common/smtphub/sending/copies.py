"""Each TO recipient's own copy of a tracked or unsubscribable e-mail: the sender's personalization hook
(smtphub.sending.job `Personalize`).

With `includetracking` an HTML body has its links tracked and an open pixel added (a plain-text body has
nowhere to put either: it is sent as written); with `includeunregisterlink` the body gets a visible
unsubscribe link (HTML or text) and the message RFC 8058's two headers. The links point at
`public_base_url` (PUBLIC_BASE_URL), signed with the tracking key (read on the first copy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from smtphub.emails.models import Email
from smtphub.sending.mime import Draft
from smtphub.settings import SettingsError
from smtphub.tracking.links import Links, rewrite_html, rewrite_text, unsubscribe_headers
from smtphub.tracking.tokens import Tokens


@dataclass(frozen=True, slots=True)
class TrackedCopies:
    public_base_url: str
    tokens: Callable[[], Tokens]

    def __call__(self, email: Email, draft: Draft, recipient: str) -> Draft:
        html = draft.mimetype == "text/html"
        track, unsubscribe = email.includetracking and html, email.includeunregisterlink
        if not (track or unsubscribe):
            return draft
        if not self.public_base_url:
            raise SettingsError("PUBLIC_BASE_URL is required")
        app = (email.account_id, email.app_id)
        links = Links(self.public_base_url, self.tokens(), email.id, recipient, app)
        if html:
            body = rewrite_html(draft.body, links, track=track, unsubscribe=unsubscribe)
        else:
            body = rewrite_text(draft.body, links) if unsubscribe else draft.body
        headers = tuple(unsubscribe_headers(links).items()) if unsubscribe else ()
        return replace(draft, body=body, headers=(*draft.headers, *headers))
