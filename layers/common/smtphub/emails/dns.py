"""The DNS questions emails/send asks: does the sender's domain exist, has `replyto`'s domain an MX, which
addresses has a host of the app's `originserver`.

`Resolver` is what the service sees. `DnsResolver` asks DNS through dnspython, imported on its first question
(only emails/send's function carries it, in its own requirements: the shared layer does not grow, and no other
function loads it); its answers are cached per container for their TTL. `NoDns` is for deployments without
the DNS checks (DNS_CHECKS=false: `make run`, whose machine may have no resolver, and the tests): it has no
opinion on domains, and resolves `originserver`'s host names with the system's own lookup (getaddrinfo, so
`localhost` from /etc/hosts).

A question that gets no answer (a timeout, SERVFAIL, no name server reachable) is None, "unknown": a send is
not refused because a resolver failed. Only a definite answer (NXDOMAIN, no MX) refuses it.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Protocol

from smtphub.observability import logger

TIMEOUT = 1.5  # seconds per name server asked
LIFETIME = 3.0  # seconds per question, retries included


class Resolver(Protocol):
    def domain_exists(self, domain: str) -> bool | None:
        """False when DNS says the domain does not exist (NXDOMAIN); None when it cannot tell."""
        ...

    def has_mx(self, domain: str) -> bool | None:
        """Whether the domain has an MX record that names a host (RFC 7505's null MX does not); None when
        DNS cannot tell."""
        ...

    def addresses(self, host: str) -> set[str]:
        """The host's IPv4 and IPv6 addresses (none when it has none, or DNS cannot tell)."""
        ...


class NoDns:
    """No DNS checks: no opinion on domains; host names by the system's lookup (see the module)."""

    def domain_exists(self, domain: str) -> bool | None:
        return None

    def has_mx(self, domain: str) -> bool | None:
        return None

    def addresses(self, host: str) -> set[str]:
        try:
            found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return set()
        return {str(entry[4][0]) for entry in found}


class DnsResolver:
    """DNS through dnspython: the system's name servers (resolv.conf), or `nameservers` ((host, port), the
    tests'), each question bounded by LIFETIME. Built on first use, then kept (with its cache)."""

    def __init__(self, nameservers: tuple[tuple[str, int], ...] = ()) -> None:
        self.nameservers = nameservers
        self._resolver: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._resolver is None:
                import dns.resolver  # noqa: PLC0415 - dnspython only when a question is asked

                resolver = dns.resolver.Resolver(configure=not self.nameservers)
                if self.nameservers:
                    import dns.nameserver  # noqa: PLC0415

                    resolver.nameservers = [
                        dns.nameserver.Do53Nameserver(host, port) for host, port in self.nameservers
                    ]
                resolver.timeout, resolver.lifetime = TIMEOUT, LIFETIME
                resolver.cache = dns.resolver.LRUCache(1000)
                self._resolver = resolver
            return self._resolver

    def _ask(self, name: str, kind: str) -> Any:
        """The answer (possibly empty), or "nxdomain", or None when DNS could not tell."""
        import dns.exception  # noqa: PLC0415
        import dns.resolver  # noqa: PLC0415

        try:
            return self._get().resolve(name, kind, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return "nxdomain"
        except (dns.exception.DNSException, OSError) as error:
            logger.warning(
                "dns question unanswered", extra={"question": name, "type": kind, "why": type(error).__name__}
            )
            return None

    def domain_exists(self, domain: str) -> bool | None:
        answer = self._ask(domain, "MX")  # any record type tells NXDOMAIN; MX is cached for has_mx
        return None if answer is None else answer != "nxdomain"

    def has_mx(self, domain: str) -> bool | None:
        answer = self._ask(domain, "MX")
        if answer is None:
            return None
        if answer == "nxdomain":
            return False
        return any(str(record.exchange) != "." for record in answer)

    def addresses(self, host: str) -> set[str]:
        found: set[str] = set()
        for kind in ("A", "AAAA"):
            answer = self._ask(host, kind)
            if answer is not None and answer != "nxdomain":
                found.update(str(record.address) for record in answer)
        return found
