"""Stage TOKEN's failures: each provider's refusal with its own error code, answers that are not OAuth,
endpoints that drip, sit on private addresses or show an untrusted certificate, settings that are missing.
None of them lets the check contact the SMTP server. Peers as in test_check_xoauth2.py."""

from __future__ import annotations

import pytest
import trustme

from smtphub.check import OAuth
from tests.support.oauth_peers import (
    GENERIC_CLIENT_ID,
    GENERIC_REFRESH,
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    running_token_endpoint,
)
from tests.support.smtp_peers import assert_failed
from tests.support.xoauth2_checks import (
    GOOGLE_ACCOUNT,
    MICROSOFT,
    check,
    xoauth2,
)

pytestmark = pytest.mark.usefixtures("trust_test_ca", "fresh_token_cache")

# --- refusals at TOKEN, and nothing sent to the SMTP server -----------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret="wrong"),
            "(401 invalid_client AADSTS7000215): check oauthclientid and oauthclientsecret",
        ),
        (
            OAuth(
                "microsoft",
                tenant="other.onmicrosoft.com",
                client_id=MS_CLIENT_ID,
                client_secret=MS_CLIENT_SECRET,
            ),
            "(400 invalid_request AADSTS90002): the tenant was not found: check oauthtenant",
        ),
        (
            OAuth("microsoft", tenant=TENANT, client_id="nobody", client_secret=MS_CLIENT_SECRET),
            "(400 unauthorized_client AADSTS700016)",
        ),
        (
            OAuth(
                "google",
                client_id=GOOGLE_CLIENT_ID,
                client_secret=GOOGLE_CLIENT_SECRET,
                refresh_token="revoked",
            ),
            "(400 invalid_grant): the refresh token or the service account is not valid",
        ),
    ],
    ids=["wrong secret", "unknown tenant", "unknown client", "revoked refresh token"],
)
def test_a_provider_s_refusal_fails_at_token_with_its_own_code(endpoint, peer, source, expected):
    server = peer()
    outcome = check(xoauth2(server.port, source), endpoint)
    assert_failed(outcome, "TOKEN")
    assert outcome.message.startswith("The token endpoint refused the request ")
    assert expected in outcome.message
    assert server.sink.commands == []  # the SMTP server was never contacted
    assert "wrong" not in outcome.message.replace("wrong secret", "")


def test_a_service_account_not_delegated_for_the_user_fails_at_token(endpoint, peer):
    endpoint.delegated = {"someone-else@example.net"}
    outcome = check(xoauth2(peer().port, GOOGLE_ACCOUNT), endpoint)
    assert_failed(outcome, "TOKEN")
    assert "(401 unauthorized_client)" in outcome.message
    assert "domain-wide delegation" in outcome.message
    assert "Client is unauthorized" in outcome.message  # the provider's own description, scrubbed


def test_an_answer_that_is_not_oauth_fails_at_token(endpoint, peer):
    endpoint.raw_answer = (502, b"<html>Bad gateway</html>")
    outcome = check(xoauth2(peer().port, MICROSOFT), endpoint)
    assert_failed(outcome, "TOKEN")
    assert outcome.message == "The token endpoint answered 502 without an OAuth answer (not JSON)"


def test_a_token_endpoint_that_drips_fails_at_token_within_the_bound(endpoint, peer):
    endpoint.drip = 0.05
    outcome = check(xoauth2(peer().port, MICROSOFT), endpoint, total=0.6)
    assert_failed(outcome, "TOKEN")
    assert "did not answer in time" in outcome.message
    assert outcome.ms < 1000


def test_a_token_endpoint_on_a_private_address_is_refused_like_an_smtp_host(endpoint, peer):
    source = OAuth(
        "generic", client_id=GENERIC_CLIENT_ID, token_url=endpoint.generic_url, refresh_token=GENERIC_REFRESH
    )
    outcome = check(xoauth2(peer().port, source), None, allow_private=False)
    assert_failed(outcome, "TOKEN")
    assert "not publicly routable (loopback)" in outcome.message
    assert endpoint.requests == []


def test_a_token_endpoint_whose_certificate_is_not_trusted_fails_at_token(peer):
    with running_token_endpoint(trustme.CA()) as stranger:
        outcome = check(xoauth2(peer().port, MICROSOFT), stranger)
    assert_failed(outcome, "TOKEN")
    assert "The token endpoint's certificate is not valid for 127.0.0.1" in outcome.message
    assert stranger.requests == []


def test_missing_settings_fail_at_token_before_any_request(endpoint, peer):
    outcome = check(xoauth2(peer().port, OAuth("microsoft", tenant=TENANT)), endpoint)
    assert_failed(outcome, "TOKEN")
    assert outcome.message == (
        "No oauthclientid, oauthclientsecret is stored for this server's XOAUTH2: save it again with them"
    )
    assert endpoint.requests == []
