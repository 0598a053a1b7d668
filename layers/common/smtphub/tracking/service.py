"""What the public routes do with a token, and tracking/findByEMail.

- An open (the pixel): a valid token of an e-mail still stored records the recipient's first open and fires
  `tracking_opened`; later fetches (mail providers' image proxies prefetch and refetch) record nothing.
  Whatever the token, the route answers the pixel.
- A click: a valid token answers the link it names (the only URL a redirect can go to) and records the
  recipient's first click of that link, firing `tracking_clicked`; later clicks of the same link redirect
  and record nothing (link scanners click too). An expired or bad token: no redirect.
- Unsubscribing: a valid token lists the recipient in the app's blacklist as added by the recipient
  (smtphub.blacklists), which fires `blacklisted_added`; the e-mail's record is not needed (it may be gone).

Events expire with their e-mail (its `expires`), and go with it on emails/remove (`forget`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from smtphub.blacklists.notices import EMAIL, IDSENDING, TRACKING_CLICKED, TRACKING_OPENED, URL, Outbox, tell
from smtphub.ids import new_id, now_iso
from smtphub.observability import logger
from smtphub.tracking.models import CLICKED, OPENED, EmailEvents, TrackEvent, Visit
from smtphub.tracking.tokens import CLICK, OPEN, UNSUBSCRIBE, Claims, Tokens

if TYPE_CHECKING:
    from smtphub.apps.repository import AppRepository
    from smtphub.blacklists.service import BlacklistService
    from smtphub.emails.repository import EmailRepository
    from smtphub.tracking.repository import TrackingRepository


class TrackingService:
    def __init__(  # noqa: PLR0917 - the composition root's one call
        self,
        tokens: Callable[[], Tokens],
        emails: EmailRepository,
        apps: AppRepository,
        events: TrackingRepository,
        blacklists: BlacklistService,
        outbox: Outbox,
    ) -> None:
        self._tokens = tokens  # built on first use: tracking/findByEMail never reads the key
        self.emails = emails
        self.apps = apps
        self.events = events
        self.blacklists = blacklists
        self.outbox = outbox

    @property
    def tokens(self) -> Tokens:
        return self._tokens()

    def find(self, query: EmailEvents) -> list[TrackEvent]:
        """tracking/findByEMail: the account's e-mail's events, oldest first (EmailNotFound otherwise)."""
        self.emails.get_owned(query.account_id, query.email_id)
        return self.events.of_email(query.email_id)

    def forget(self, email_id: str) -> int:
        """emails/remove: the e-mail's events go with it."""
        return self.events.delete_of_email(email_id)

    def opened(self, visit: Visit) -> bool:
        """Record an open; whether it was the recipient's first."""
        claims = self.tokens.read(visit.token, OPEN)
        return claims is not None and self._record(claims, OPENED, visit.ip)

    def clicked(self, visit: Visit) -> str | None:
        """The link to redirect to (None: a bad or expired token), its first click recorded."""
        claims = self.tokens.read(visit.token, CLICK)
        if claims is None:
            return None
        self._record(claims, CLICKED, visit.ip)
        return claims.url

    def may_unsubscribe(self, visit: Visit) -> bool:
        """Whether the token is a valid unsubscribe token (the confirmation page shows its button)."""
        return self.tokens.read(visit.token, UNSUBSCRIBE) is not None

    def unsubscribe(self, visit: Visit) -> bool:
        """List the recipient in the app's blacklist (added by the recipient); False for a bad token. An app
        that is gone has nothing left to send: done all the same."""
        claims = self.tokens.read(visit.token, UNSUBSCRIBE)
        if claims is None:
            return False
        account_id, app_id = claims.app
        app = self.apps.get(account_id, app_id)
        if app is None or app.deleting:
            logger.info("unsubscribed from a removed app", extra={"idapp": app_id})
            return True
        self.blacklists.add_by_recipient(app, claims.recipient, claims.email_id, visit.ip)
        return True

    def _record(self, claims: Claims, kind: str, ip: str | None) -> bool:
        email = self.emails.get(claims.email_id)
        if email is None:  # removed, or expired: nothing to attach the event to
            return False
        url = claims.url if kind == CLICKED else None
        event = TrackEvent(new_id(), email.id, claims.recipient, kind, now_iso(), url, ip, email.expires)
        if not self.events.record(event):
            return False
        app = self.apps.get(email.account_id, email.app_id)
        logger.info("tracked", extra={"idsending": email.id, "type": kind})
        if app is not None:
            params = {IDSENDING: email.id, EMAIL: claims.recipient, **({URL: url} if url else {})}
            tell(self.outbox, app, TRACKING_CLICKED if url else TRACKING_OPENED, params, key=event.id)
        return True
