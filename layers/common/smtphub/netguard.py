"""SSRF guard for the check: resolve a host once, refuse addresses that are not globally routable.

The check connects to a user-supplied host from inside AWS, where loopback, the VPC, link-local
(the instance metadata service at 169.254.169.254) and the like are reachable. So `resolve` looks
the host up once, drops every address that is not public, and hands back the addresses that passed:
the caller connects to one of those (never to the name again, so a second lookup cannot answer
differently), and keeps the name only for TLS (SNI and certificate hostname).

The rules are explicit here rather than left to `ipaddress.is_global`, whose answers changed between
Python versions; an address must pass both. Forms that embed an IPv4 address (IPv4-mapped, NAT64,
6to4) are judged by the address they embed.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Resolution answers beyond this many are ignored (a connect is tried on each in turn).
MAX_ADDRESSES = 4

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IANA's IPv4 special-purpose registry, minus the few entries that are globally reachable.
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared (CGNAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),  # includes the metadata service 169.254.169.254
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"),  # deprecated 6to4 relay anycast
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "reserved"),  # benchmarking
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),  # includes the broadcast address
)

_MAPPED = _V6("::ffff:0:0/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_GLOBAL_UNICAST = _V6("2000::/3")

_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "reserved"),  # IPv4-compatible (deprecated)
    (_V6("64:ff9b:1::/48"), "private"),  # NAT64 local-use
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001::/23"), "reserved"),  # IETF protocol assignments, Teredo included
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "reserved"),  # SRv6 SIDs
    (_V6("fc00::/7"), "private"),  # unique local
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "private"),  # site-local (deprecated)
    (_V6("ff00::/8"), "multicast"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 (well-known prefix) or 6to4 address stands for."""
    if address in _MAPPED or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` must not be connected to (a short class name), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # drop any %scope
        inner = embedded_ipv4(address)
        if inner is not None:
            return refusal(inner)
        for network, reason in _BLOCKED_V6:
            if address in network:
                return reason
        if address not in _GLOBAL_UNICAST:
            return "reserved"
    else:
        for network4, reason in _BLOCKED_V4:
            if address in network4:
                return reason
    if not address.is_global:
        return "reserved"
    return None


def is_public(address: IPAddress) -> bool:
    return refusal(address) is None


class ResolveError(Exception):
    """The host cannot be checked: it does not resolve, resolves too slowly, or only to refused addresses."""

    def __init__(self, message: str, *, refused: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.refused = refused  # the classes of the refused addresses, for the log (never shown)


@dataclass(frozen=True, slots=True)
class Address:
    """One address to connect to, as getaddrinfo gave it."""

    family: int
    sockaddr: tuple[Any, ...]

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(str(self.sockaddr[0]).split("%", 1)[0])


def _lookup(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo with a bound: the lookup runs in a daemon thread that is abandoned if it is late."""
    result: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP))
        except (OSError, UnicodeError) as error:
            result.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="smtp-check-dns", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        raise ResolveError(f"Looking up {host} took longer than {timeout:.0f} s")
    answer = result[0]
    if isinstance(answer, Exception):
        raise ResolveError(f"{host} could not be resolved: check the host name")
    return list(answer)


def resolve(host: str, port: int, *, allow_private: bool, timeout: float) -> list[Address]:
    """The addresses of `host` that may be connected to, in resolver order (at most MAX_ADDRESSES).

    Raises ResolveError when there is none. With `allow_private` every address is kept.
    """
    seen: set[tuple[int, tuple[Any, ...]]] = set()
    allowed: list[Address] = []
    refused: list[str] = []
    for family, _type, _proto, _name, sockaddr in _lookup(host, port, timeout):
        if family not in (socket.AF_INET, socket.AF_INET6) or (family, sockaddr) in seen:
            continue
        seen.add((family, sockaddr))
        address = Address(family, tuple(sockaddr))
        reason = None if allow_private else refusal(address.ip)
        if reason is None:
            allowed.append(address)
        else:
            refused.append(reason)
    if allowed:
        return allowed[:MAX_ADDRESSES]
    if refused:
        classes = ", ".join(sorted(set(refused)))
        raise ResolveError(
            f"{host} resolves to an address that is not publicly routable ({classes}); "
            "only servers on the public internet can be checked",
            refused=tuple(refused),
        )
    raise ResolveError(f"{host} has no IPv4 or IPv6 address")
