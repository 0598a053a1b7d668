"""The TLS client context of one check: the server's own trust (`cacert`), verification (`tlsverify`) and
lowest version (`tlsmin`). The token endpoints never use this: they are always verified against the
system's CAs (smtphub.check.oauth)."""

from __future__ import annotations

import ssl
from collections.abc import Callable

from smtphub.check.plan import Plan

TlsContext = Callable[[], ssl.SSLContext]
UNVERIFIED_NOTE = "the server's certificate was not verified (tlsverify=false)"
_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def client_context(plan: Plan, system: TlsContext) -> ssl.SSLContext:
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


def encrypted(plan: Plan) -> bool:
    return plan.ssltls or plan.starttls
