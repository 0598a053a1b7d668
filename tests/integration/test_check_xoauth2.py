"""XOAUTH2 and `authmech` in the check's conversation, against real peers on 127.0.0.1: a local HTTPS token
endpoint speaking Microsoft's, Google's and a generic provider's grants (tests/support/oauth_peers.py) and
aiosmtpd peers whose XOAUTH2 accepts only that endpoint's tokens. Stage TOKEN comes before DNS."""

from __future__ import annotations

import socket
from typing import Any

import jwt
import pytest

from smtphub.check import OAuth
from smtphub.smtp import oauth
from tests.support.oauth_peers import (
    GENERIC_CLIENT_ID,
    GENERIC_CLIENT_SECRET,
    GENERIC_REFRESH,
    GOOGLE_AUDIENCE,
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_REFRESH,
    JWT_BEARER,
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    MS_SCOPE,
    SA_EMAIL,
    TENANT,
)
from tests.support.smtp_peers import USERNAME, assert_failed
from tests.support.xoauth2_checks import (
    GOOGLE_ACCOUNT,
    GOOGLE_REFRESHED,
    MICROSOFT,
    check,
    sent_xoauth2,
    xoauth2,
)
from tests.support.xoauth2_smtpd import running_oauth_smtpd

pytestmark = pytest.mark.usefixtures("trust_test_ca", "fresh_token_cache")

# --- each provider, each grant ----------------------------------------------------------------------


def test_microsoft_client_credentials_then_auth_xoauth2(endpoint, peer):
    server = peer()
    outcome = check(xoauth2(server.port, MICROSOFT), endpoint)
    assert outcome.ok, outcome
    (request,) = endpoint.requests
    assert request.path == f"/{TENANT}/oauth2/v2.0/token"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "client_id": MS_CLIENT_ID,
        "client_secret": MS_CLIENT_SECRET,
        "scope": MS_SCOPE,
        "grant_type": "client_credentials",
    }
    (token,) = endpoint.issued
    assert sent_xoauth2(server) == f"user={USERNAME}\x01auth=Bearer {token}\x01\x01"
    assert server.sink.received[0].authenticated
    assert server.sink.received[0].tls
    assert list(outcome.timings)[:2] == ["TOKEN", "DNS"]


def test_google_service_account_acts_as_the_username(endpoint, peer):
    server = peer()
    outcome = check(xoauth2(server.port, GOOGLE_ACCOUNT), endpoint)
    assert outcome.ok, outcome
    (request,) = endpoint.requests
    assert (request.path, set(request.form), request.form["grant_type"]) == (
        "/google/token",
        {"grant_type", "assertion"},
        JWT_BEARER,
    )
    # The endpoint verified the RS256 signature, kid, iss, aud, scope, lifetime and sub; here, the claims.
    claims = jwt.decode(request.form["assertion"], options={"verify_signature": False})
    assert {key: claims[key] for key in ("iss", "aud", "scope", "sub")} == {
        "iss": SA_EMAIL,
        "aud": GOOGLE_AUDIENCE,
        "scope": "https://mail.google.com/",
        "sub": USERNAME,
    }
    assert claims["exp"] - claims["iat"] == 3600
    (grant,) = endpoint.issued.values()
    assert grant.user == USERNAME


def test_google_refresh_token(endpoint, peer):
    server = peer()
    assert check(xoauth2(server.port, GOOGLE_REFRESHED), endpoint).ok
    (request,) = endpoint.requests
    assert request.form == {
        "grant_type": "refresh_token",
        "refresh_token": GOOGLE_REFRESH,
        "client_id": GOOGLE_CLIENT_ID,
        "client_secret": GOOGLE_CLIENT_SECRET,
    }


@pytest.mark.parametrize("secret", [GENERIC_CLIENT_SECRET, None], ids=["confidential", "public client"])
def test_generic_refresh_token_at_the_server_s_own_token_url(endpoint, peer, secret):
    server = peer()
    source = OAuth(
        "generic",
        client_id=GENERIC_CLIENT_ID,
        token_url=endpoint.generic_url,
        refresh_token=GENERIC_REFRESH,
        client_secret=secret,
    )
    assert check(xoauth2(server.port, source), None).ok  # no override: the URL is the server's
    (request,) = endpoint.requests
    assert request.path == "/generic/token"
    assert ("client_secret" in request.form) is (secret is not None)


# --- the token at AUTH ------------------------------------------------------------------------------


def test_a_token_the_server_refuses_fails_at_auth_after_the_error_challenge(endpoint, peer):
    server = peer()
    endpoint.refresh_user = "someone-else@example.net"  # the token is good for another mailbox
    outcome = check(xoauth2(server.port, GOOGLE_REFRESHED), endpoint)
    assert_failed(outcome, "AUTH", 535)
    assert outcome.message.startswith(
        f"The server rejected the access token for {USERNAME} (535; XOAUTH2 status 400)"
    )
    assert server.sink.received == []
    auth_line = next(line for line in server.sink.commands if line.startswith("AUTH XOAUTH2 "))
    assert (auth_line + "\r\n\r\n").encode() in server.sink.wire  # the empty answer to the error challenge


def test_tokens_are_reused_until_a_minute_before_they_expire_and_never_across_secrets(endpoint, peer):
    server = peer()
    assert check(xoauth2(server.port, MICROSOFT), endpoint).ok
    assert check(xoauth2(server.port, MICROSOFT), endpoint).ok
    assert len(endpoint.requests) == 1
    other = OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret="another-secret")
    assert_failed(check(xoauth2(server.port, other), endpoint), "TOKEN")  # not served from the cache
    assert len(endpoint.requests) == 2
    endpoint.expires_in = 60  # no longer than the minute kept in reserve: not kept at all
    oauth.forget()
    for _ in range(2):
        assert check(xoauth2(server.port, MICROSOFT), endpoint).ok
    assert len(endpoint.requests) == 4


def test_the_access_token_never_goes_over_a_clear_connection(endpoint):
    with running_oauth_smtpd(endpoint) as server:
        outcome = check(xoauth2(server.port, MICROSOFT, starttls=False), endpoint)
    assert_failed(outcome, "AUTH")
    assert outcome.message.startswith("Refusing to send the access token over an unencrypted connection")
    assert not any(line.upper().startswith("AUTH") for line in server.sink.commands)


def test_the_token_stage_reaches_no_address_but_the_endpoint_s(endpoint, peer, monkeypatch):
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert check(xoauth2(peer().port, MICROSOFT), endpoint).ok
    assert looked_up == ["127.0.0.1", "127.0.0.1"]  # the endpoint once, then the SMTP host once


def test_a_stored_key_that_would_make_signing_slow_fails_at_token_without_signing(endpoint, peer):
    """Issue 22: a key stored before save refused it (a 2000-bit public exponent) made every check spend
    seconds of CPU signing. Read again at check time, it fails at TOKEN, nothing signed or posted."""
    from tests.support.rsa_keys import key_file, with_public_exponent

    slow = OAuth("google", service_account=key_file(with_public_exponent(2000)))
    outcome = check(xoauth2(peer().port, slow), endpoint)
    assert_failed(outcome, "TOKEN")
    assert outcome.message == (
        "The stored oauthserviceaccount has an RSA key whose public exponent is not 65537 (Google's keys "
        "use 65537): save it again"
    )
    assert endpoint.requests == []
