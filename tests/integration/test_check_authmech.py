"""`authmech` in the check's AUTH stage: each mechanism against an aiosmtpd peer that offers it (PLAIN,
LOGIN and CRAM-MD5 with the password, XOAUTH2 with a token from the local endpoint) and one that does not,
whose failure lists what it offers; and `auto`'s order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from smtphub.check import CheckOutcome, Deadline, Limits, OAuth, Plan, converse
from smtphub.smtp import oauth
from tests.support.oauth_peers import (
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    TokenEndpoint,
    running_token_endpoint,
)
from tests.support.smtp_peers import assert_failed, plan
from tests.support.xoauth2_smtpd import running_oauth_smtpd

pytestmark = pytest.mark.usefixtures("trust_test_ca")
MICROSOFT = OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret=MS_CLIENT_SECRET)


@pytest.fixture
def endpoint(ca: trustme.CA) -> Iterator[TokenEndpoint]:
    oauth.forget()
    with running_token_endpoint(ca) as running:
        yield running
    oauth.forget()


def check(the_plan: Plan, endpoint: TokenEndpoint) -> CheckOutcome:
    return converse(
        the_plan,
        limits=Limits.within(3),
        deadline=Deadline(3),
        allow_private=True,
        oauth_endpoints=endpoint.overrides,
    )


MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_each_authmech_is_used_when_offered(endpoint, mechanism):
    with running_oauth_smtpd(endpoint) as server:
        changes: dict[str, Any] = {"authmech": mechanism, "insecure_auth": True}
        if mechanism == "XOAUTH2":
            changes.update(oauth=MICROSOFT, password=None)
        outcome = check(plan(server.port, auth=True, **changes), endpoint)
    assert outcome.ok, outcome
    (auth,) = [line for line in server.sink.commands if line.upper().startswith("AUTH ")]
    assert auth.split()[1] == mechanism
    assert server.sink.received[0].authenticated


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_an_authmech_not_offered_fails_at_auth_listing_what_is(endpoint, mechanism):
    with running_oauth_smtpd(endpoint, auth_exclude_mechanism=[mechanism]) as server:
        changes: dict[str, Any] = {"authmech": mechanism, "insecure_auth": True}
        if mechanism == "XOAUTH2":
            changes.update(oauth=MICROSOFT, password=None)
        outcome = check(plan(server.port, auth=True, **changes), endpoint)
    assert_failed(outcome, "AUTH")
    offered = " ".join(sorted(set(MECHANISMS) - {mechanism}))
    assert outcome.message.startswith(f"The server does not offer AUTH {mechanism} (authmech); it offers ")
    assert sorted(outcome.message.rsplit("it offers ", 1)[1].split()) == offered.split()
    assert not any(line.upper().startswith("AUTH") for line in server.sink.commands)


def test_auto_prefers_plain_then_login_then_cram_md5(endpoint):
    for excluded, used in (([], "PLAIN"), (["PLAIN"], "LOGIN"), (["PLAIN", "LOGIN"], "CRAM-MD5")):
        with running_oauth_smtpd(endpoint, auth_exclude_mechanism=excluded) as server:
            assert check(plan(server.port, auth=True, insecure_auth=True), endpoint).ok
        (auth,) = [line for line in server.sink.commands if line.upper().startswith("AUTH ")]
        assert auth.split()[1] == used
