"""Webhook URLs: where an app's events are to be reported, and the addresses they may not point at.

The request model (`smtphub.http.requests.apps`) admits only `https` URLs without credentials whose host
is a DNS name or an IP literal. A literal is judged here, when the app is saved, by the SSRF guard's rules
(`smtphub.netguard`): loopback, private, link-local (the metadata service), reserved and the like are
refused unless the deployment allows private addresses. A name cannot be judged at save time (it may
resolve elsewhere tomorrow): whatever calls a webhook resolves its name once and connects only to
addresses that pass the same rules, as the SMTP check does with `netguard.resolve`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from smtphub.apps.models import WEBHOOKS
from smtphub.netguard import refusal


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
