"""XOAUTH2 checks against the local token endpoint and the XOAUTH2 aiosmtpd peer, shared by the XOAUTH2
suites: the three provider settings, a fresh token cache, the endpoint and the peer fixtures, a plan, a
check and what the peer received. Registered as a plugin in tests/conftest.py."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from smtphub.check import CheckOutcome, Deadline, Limits, OAuth, Plan, converse
from smtphub.smtp import oauth
from tests.support.oauth_peers import (
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_REFRESH,
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    TokenEndpoint,
    running_token_endpoint,
    service_account_file,
)
from tests.support.smtp_peers import USERNAME, Server, plan, server_context
from tests.support.xoauth2_smtpd import running_oauth_smtpd

MICROSOFT = OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret=MS_CLIENT_SECRET)
GOOGLE_ACCOUNT = OAuth("google", service_account=service_account_file())
GOOGLE_REFRESHED = OAuth(
    "google", client_id=GOOGLE_CLIENT_ID, client_secret=GOOGLE_CLIENT_SECRET, refresh_token=GOOGLE_REFRESH
)


@pytest.fixture
def fresh_token_cache() -> Iterator[None]:
    oauth.forget()
    yield
    oauth.forget()


@pytest.fixture
def endpoint(ca: trustme.CA) -> Iterator[TokenEndpoint]:
    with running_token_endpoint(ca) as running:
        yield running


@pytest.fixture
def peer(endpoint: TokenEndpoint, ca: trustme.CA) -> Iterator[Callable[..., Server]]:
    """aiosmtpd with STARTTLS (a trusted certificate for 127.0.0.1) offering PLAIN LOGIN CRAM-MD5 XOAUTH2."""
    with running_oauth_smtpd(endpoint, tls_context=server_context(ca, "127.0.0.1")) as server:
        yield lambda: server


def xoauth2(port: int, source: OAuth, **changes: Any) -> Plan:
    values = {
        "auth": True,
        "starttls": True,
        "authmech": "XOAUTH2",
        "oauth": source,
        "username": USERNAME,
        "password": None,
        **changes,
    }
    return plan(port, **values)


def check(
    the_plan: Plan, endpoint: TokenEndpoint | None, *, total: float = 3.0, allow_private: bool = True
) -> CheckOutcome:
    return converse(
        the_plan,
        limits=Limits.within(total),
        deadline=Deadline(total),
        allow_private=allow_private,
        oauth_endpoints=endpoint.overrides if endpoint else None,
    )


def sent_xoauth2(server: Server) -> str:
    """The decoded initial response of the AUTH XOAUTH2 the peer received."""
    (line,) = [line for line in server.sink.commands if line.upper().startswith("AUTH XOAUTH2 ")]
    return base64.b64decode(line.split(" ", 2)[2]).decode()
