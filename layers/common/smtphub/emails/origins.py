"""Where an app's e-mails may be sent from (upstream's "Restrict email API calls by origin server or IP").

- `originserver` (host names or IPs, comma-separated): the caller's IP address, as API Gateway saw it
  (`requestContext.identity.sourceIp`: the TCP peer, or the client API Gateway's edge saw; never a header the
  caller writes), must be one of the listed IPs or an address of one of the listed names. Names are resolved
  only when no IP entry matched, one after the other, until one matches or RESOLVE_BUDGET has passed.
  Refused: `Remote server not allowed: <ip>`, naming the address to add.
- `origindomain` (host names): the host of the page that sent the request, from its `Origin` header, else its
  `Referer`, must be a listed name or a subdomain of one (`example.com` allows `www.example.com`). Refused:
  `Remote domain not allowed: <host>` (`unknown` when the request names no page, as a server-side client
  such as upstream's Java one does not). These headers are the caller's to write: this keeps other sites'
  pages from sending with a token of yours that leaked to a browser, and is no authentication.

An app with neither setting takes requests from anywhere (upstream's default).
"""

from __future__ import annotations

import ipaddress
import time

from smtphub.apps.models import App
from smtphub.emails.dns import Resolver
from smtphub.emails.models import Caller
from smtphub.errors import RemoteDomainNotAllowed, RemoteServerNotAllowed

RESOLVE_BUDGET = 4.0  # seconds spent resolving originserver's names, at most
UNKNOWN = "unknown"


def _entries(setting: str | None) -> list[str]:
    return [entry.strip().lower() for entry in (setting or "").split(",") if entry.strip()]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:192.0.2.1 is 192.0.2.1
    return mapped or address


def check(app: App, caller: Caller, resolver: Resolver) -> None:
    """RemoteServerNotAllowed or RemoteDomainNotAllowed when the app restricts where it is sent from and
    this request is not from there."""
    servers = _entries(app.originserver)
    if servers and not _server_allowed(servers, caller.ip, resolver):
        raise RemoteServerNotAllowed(caller.ip or UNKNOWN)
    domains = _entries(app.origindomain)
    if domains and not _domain_allowed(domains, caller.origin):
        raise RemoteDomainNotAllowed(caller.origin or UNKNOWN)


def _server_allowed(entries: list[str], ip: str | None, resolver: Resolver) -> bool:
    caller = _ip(ip or "")
    if caller is None:
        return False
    names = []
    for entry in entries:
        listed = _ip(entry)
        if listed is None:
            names.append(entry)
        elif listed == caller:
            return True
    deadline = time.monotonic() + RESOLVE_BUDGET
    for name in names:
        if time.monotonic() > deadline:
            break
        if any(_ip(found) == caller for found in resolver.addresses(name)):
            return True
    return False


def _domain_allowed(entries: list[str], origin: str | None) -> bool:
    if not origin:
        return False
    host = origin.lower().rstrip(".")
    return any(host == entry.rstrip(".") or host.endswith("." + entry.rstrip(".")) for entry in entries)
