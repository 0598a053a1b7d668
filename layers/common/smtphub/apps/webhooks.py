"""Webhook URLs: where an app's events are to be reported, the addresses they may not point at, and what
apps need of the webhook secrets (`WebhookSecrets`, handed in by the composition root: the secrets are
smtphub.webhooks.secret's, a package above this one).

The request model (`smtphub.http.requests.apps`) admits only `https` URLs without credentials whose host
is a DNS name or an IP literal. A literal is judged here, when the app is saved, by the SSRF guard's rules
(`smtphub.netguard`): loopback, private, link-local (the metadata service), reserved and the like are
refused unless the deployment allows private addresses. A name cannot be judged at save time (it may
resolve elsewhere tomorrow): whatever calls a webhook resolves its name once and connects only to
addresses that pass the same rules, as the SMTP check does with `netguard.resolve`.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from smtphub.apps.models import WEBHOOKS
from smtphub.netguard import refusal

if TYPE_CHECKING:
    from smtphub.apps.models import App

SECRET_BYTES = 32  # a generated secret: 256 random bits, 43 characters of URL-safe base64


def new_secret() -> str:
    """A webhook secret as apps/save generates it."""
    return secrets.token_urlsafe(SECRET_BYTES)


class WebhookSecrets(Protocol):
    """The apps' webhook secrets: one Secrets Manager secret per app, each version a secret, the app's record
    naming the version that belongs to it (written under the record's own version condition)."""

    def write(self, app: App, value: str) -> str:
        """A new version holding `value` for an edit of `app` as read (the secret itself when the app names
        none yet); its version id. Nothing names it until the record's write does."""

    def settle(self, app_id: str, version_id: str, base_version: int) -> None:
        """The record (written from `base_version`) now names `version_id`: tidy the secret's labels (best
        effort: a failure leaves extra labels for the next settle)."""

    def abandon(self, app_id: str, version_id: str, base_version: int) -> None:
        """The record's write lost: the version written for it loses its label (AWS purges it later)."""

    def delete(self, app_id: str) -> bool:
        """Schedule the app's secret for deletion; False when there was none (idempotent)."""


def literal_refusal(url: str) -> str | None:
    """Why the URL's host, when an IP literal, may not be called (netguard's class); None for a public
    literal or a name."""
    try:
        address = ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return None
    return refusal(address)


def webhook_problems(fields: Mapping[str, object], *, allow_private: bool) -> dict[str, str]:
    """The webhooks among `fields` whose URL points at an address the deployment may not call."""
    if allow_private:
        return {}
    problems: dict[str, str] = {}
    for name in WEBHOOKS:
        url = fields.get(name)
        reason = literal_refusal(url) if isinstance(url, str) else None
        if reason is not None:
            problems[name] = f"must not point at a {reason} address"
    return problems
