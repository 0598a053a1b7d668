"""The events an app hears of: upstream's five webhooks (features-webhooks.md), each with the parameters
it carries, the app's setting that holds its URL, and its detail-type on EventBridge.

Parameters are upstream's: `qm_idsending` (the e-mail), `qm_email` (the recipient) and `qm_url` (the link
clicked). A manual blacklist entry names no e-mail, so `blacklisted_added` may come without `qm_idsending`.
EventBridge's detail carries the same ids and the recipient, never the link: a link is part of the
message's content, which stays between the app and its own webhook receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smtphub.health.alerts import SOURCE

__all__ = ["EVENTS", "SOURCE", "Event"]
IDSENDING, EMAIL, URL = "qm_idsending", "qm_email", "qm_url"
# EventBridge detail members, by webhook parameter (a parameter not named here is not in the detail)
DETAIL_NAMES = {IDSENDING: "idsending", EMAIL: "email"}


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # upstream's: the `event` parameter of the webhook
    detail_type: str  # EventBridge
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def setting(self) -> str:
        """The app's field holding this event's webhook URL (upstream's AppDTO name)."""
        return f"webhook_{self.name}"

    def problems(self, params: Mapping[str, str]) -> list[str]:
        """What is wrong with `params` for this event: a required one missing or empty, an unknown one."""
        missing = [name for name in self.required if not params.get(name)]
        unknown = sorted(set(params) - set(self.required) - set(self.optional))
        return [f"{name} is required" for name in missing] + [
            f"{name} is not a parameter" for name in unknown
        ]


SENDING_FINISHED = Event("sending_finished", "Email sent", (IDSENDING,))
SENDING_ERROR = Event("sending_error", "Email failed", (IDSENDING,))
TRACKING_OPENED = Event("tracking_opened", "Email opened", (IDSENDING, EMAIL))
TRACKING_CLICKED = Event("tracking_clicked", "Link clicked", (IDSENDING, EMAIL, URL))
BLACKLISTED_ADDED = Event("blacklisted_added", "Recipient blacklisted", (EMAIL,), (IDSENDING,))
EVENTS = {
    event.name: event
    for event in (SENDING_FINISHED, SENDING_ERROR, TRACKING_OPENED, TRACKING_CLICKED, BLACKLISTED_ADDED)
}
