"""The TLS client context of one check: the server's own trust (`cacert`), verification (`tlsverify`) and
lowest version (`tlsmin`). The token endpoints never use this: they are always verified against the
system's CAs (smtphub.smtp.oauth)."""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable
from typing import Any

from smtphub.smtp.endpoint import Endpoint
from smtphub.smtps.results import TlsFacts

TlsContext = Callable[[], ssl.SSLContext]
UNVERIFIED_NOTE = "the server's certificate was not verified (tlsverify=false)"
_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def client_context(plan: Endpoint, system: TlsContext) -> ssl.SSLContext:
    """`system()` (the trusted CAs of this environment), or only the plan's `cacert` when it has one; the
    certificate and its host name verified unless `tls_verify` is off; TLS `tls_min` or later.

    ssl.SSLError when the stored `cacert` cannot be loaded (it was checked when saved).
    """
    if plan.cacert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the host name
        context.load_verify_locations(cadata=plan.cacert)
    else:
        context = system()
    context.minimum_version = _VERSIONS.get(plan.tls_min, ssl.TLSVersion.TLSv1_2)
    if not plan.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def encrypted(plan: Endpoint) -> bool:
    return plan.ssltls or plan.starttls


# RFC 4514's short names of the attributes certificates use most; others keep Python's long name.
_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "domainComponent": "DC",
}


def describe(
    sock: ssl.SSLSocket, scrub: Callable[[str], str], mode: str, now: Callable[[], float] = time.time
) -> TlsFacts:
    """How TLS came about (`mode`), the negotiated version and cipher, and the certificate's subject,
    issuer, end of validity (ISO, UTC) and whole days left. The certificate's are None when it was not
    verified (`tlsverify=false`: Python parses only a verified certificate). Every text goes through
    `scrub`."""
    cipher = sock.cipher()
    certificate = sock.getpeercert() or {}
    not_after = certificate.get("notAfter")
    expires = ssl.cert_time_to_seconds(not_after) if isinstance(not_after, str) else None
    return TlsFacts(
        mode=mode,
        version=scrub(sock.version() or "") or None,
        cipher=scrub(cipher[0]) if cipher else None,
        subject=_name(certificate.get("subject"), scrub),
        issuer=_name(certificate.get("issuer"), scrub),
        not_after=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)) if expires else None,
        days_left=math.floor((expires - now()) / 86400) if expires else None,
    )


def _name(rdns: Any, scrub: Callable[[str], str]) -> str | None:
    """A distinguished name as `CN=mx.example.net, O=Example`, scrubbed; None when there is none."""
    if not rdns:
        return None
    parts = [f"{_SHORT.get(key, key)}={value}" for rdn in rdns for key, value in rdn]
    return scrub(", ".join(parts)) or None
