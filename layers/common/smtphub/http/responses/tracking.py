"""The JSON of a tracking event: upstream's TrackingDTO, as the Java client's getTracking reads it."""

from typing import TYPE_CHECKING, Annotated

from typing_extensions import TypedDict

from smtphub.http.responses import Id, OneOf, Timestamp

if TYPE_CHECKING:
    from smtphub.emails.models import Opened


class TrackingJson(TypedDict):
    """An open or a click of a tracked e-mail."""

    _id: Id
    idsending: Id
    """The e-mail."""
    idemailing: None
    """Upstream's mailings (campaigns): none here, always null."""
    email: str
    """The recipient who opened or clicked."""
    type: Annotated[str, OneOf("smtphub.tracking.models", "TYPES")]
    url: str | None
    """The link clicked (`CLICK`); null for `OPEN`."""
    created: Timestamp
    ip: str | None
    """Where the request came from: for an open, often the recipient's mail provider's image proxy."""


def tracking_json(event: "Opened") -> TrackingJson:
    """An open or a click (a TrackEvent: emails.models.Opened is its shape)."""
    return {
        "_id": event.id,
        "idsending": event.sending_id,
        "idemailing": None,
        "email": event.email,
        "type": event.type,
        "url": event.url,
        "created": event.created,
        "ip": event.ip,
    }
