"""How blacklists and tracking tell an app what happened (`blacklisted_added`, `tracking_opened`,
`tracking_clicked`): through an outbox the composition root hands in (smtphub.webhooks' `Outbox`, one
floor above: it queues the app's webhook and puts the EventBridge event).

A notice that cannot be given is logged and dropped, never an error of what caused it: an address is
blacklisted, and a click redirected, whether or not the app's receiver hears of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol

from smtphub.observability import logger

if TYPE_CHECKING:
    from smtphub.apps.models import App

BLACKLISTED_ADDED: Final = "blacklisted_added"
TRACKING_OPENED: Final = "tracking_opened"
TRACKING_CLICKED: Final = "tracking_clicked"
# Upstream's webhook parameters.
IDSENDING, EMAIL, URL = "qm_idsending", "qm_email", "qm_url"


class Outbox(Protocol):
    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        """Tell the app's webhook receiver and EventBridge of `event`; raises when it could not."""


class NoOutbox:
    """Tells nobody (a deployment, or a test, without webhooks)."""

    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        return None


def tell(outbox: Outbox, app: App, event: str, params: Mapping[str, str], key: str | None = None) -> None:
    """`outbox.notify`, a failure logged (with the app and the event, never the address) and dropped."""
    try:
        outbox.notify(app, event, params, key=key)
    except Exception:  # any failure of the outbox: what happened stands, its notice is lost (logged)
        logger.exception("could not notify", extra={"idapp": app.id, "event": event})
