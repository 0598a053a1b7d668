"""A tracking event (upstream's TrackingDTO: `_id, idsending, idemailing, email, type, url, created, ip`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

OPENED: Final = "OPEN"
CLICKED: Final = "CLICK"
TYPES = (OPENED, CLICKED)


@dataclass(frozen=True, slots=True)
class TrackEvent:
    id: str
    sending_id: str
    email: str  # the recipient
    type: str
    created: str
    url: str | None = None  # a click's link
    ip: str | None = None  # the request's source IP (often a mail provider's image proxy, for an open)
    expires: int = 0  # the e-mail's: the event goes with it (DynamoDB's TTL)


@dataclass(frozen=True, slots=True)
class EmailEvents:
    """tracking/findByEMail: the account's e-mail's events."""

    account_id: str
    email_id: str


@dataclass(frozen=True, slots=True)
class Visit:
    """A request to a public route: its token, and where it came from."""

    token: str
    ip: str | None = None
