"""The TOKEN authorizer with real tokens from moto's Cognito, checked against moto's published keys.

The authorizer reads the accounts table (revocations) with its own signed HTTP requests: here against a moto
server on 127.0.0.1, exactly as in Lambda but for the endpoint (tests/integration/test_token_revocation.py
has the revocations themselves).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local_runtime.events import EVENTS_DIR
from local_runtime.loader import load_handler
from tests.support import auth as auth_support
from tests.support.accounts import MotoServer, ensure_accounts_table, moto_server
from tests.support.auth import Cognito, Issued, authorize, authorizer_module, effect
from tests.support.lambdas import LambdaContext, load_event

ALICE = "alice@example.com"
API_STAGE_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/api"


@pytest.fixture(scope="module")
def issued() -> Issued:
    """Alice's real tokens: created in moto's Cognito, logged in through POST /auth/login."""
    return auth_support.issue_tokens(ALICE)


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as running:
        yield running


@pytest.fixture
def cognito(issued: Issued, server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cognito]:
    """The pool the tokens came from; the authorizer configured for it, with a fresh count of key fetches,
    reading the accounts table on the moto server with its own HTTP client."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    ensure_accounts_table(server.client())
    pool = dataclasses.replace(issued.cognito, fetches=auth_support.JwksFetches())
    with auth_support.use_pool(monkeypatch, pool, over_http=True):
        yield pool


@pytest.fixture
def alice(issued: Issued, cognito: Cognito) -> dict[str, Any]:
    return {"sub": issued.sub, "token": issued.id_token}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(token: str) -> list[str]:
    return token.split(".")


def _payload(token: str) -> dict[str, Any]:
    return auth_support.claims_of(token)


def assert_denied(answer: dict[str, Any]) -> None:
    assert effect(answer) == "Deny"
    assert answer["principalId"] == "anonymous"
    assert "context" not in answer  # nothing for a handler to mistake for an account


# --- Allow -----------------------------------------------------------------------------------------


def test_a_token_from_login_is_allowed_with_the_account_in_the_context(
    cognito: Cognito, alice: dict[str, Any]
) -> None:
    answer = authorize(f"Bearer {alice['token']}", "GET", "/private/smtps/findById")

    assert effect(answer) == "Allow"
    assert answer["principalId"] == alice["sub"]
    assert answer["context"] == {"accountId": alice["sub"], "username": ALICE}
    # API Gateway caches the answer per token for every route: it must cover the whole stage.
    assert answer["policyDocument"]["Statement"][0]["Resource"] == f"{API_STAGE_ARN}/*/*"
    assert answer["policyDocument"]["Statement"][0]["Action"] == "execute-api:Invoke"


def test_the_context_reaches_a_handler_as_its_account(
    aws: object, cognito: Cognito, alice: dict[str, Any]
) -> None:
    answer = authorize(f"Bearer {alice['token']}", "POST", "/private/apps/save")
    event = load_event("apps_save")
    event["requestContext"]["authorizer"] = auth_support.gateway_context(answer)

    response = load_handler("functions/apps_save/")(event, LambdaContext())

    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["iduser"] == alice["sub"]


# --- Deny: tokens that are not valid ID tokens of this pool and client ---------------------------


def test_expired_token_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    now = int(time.time())
    expired = auth_support.sign(
        cognito.id_claims(alice["sub"], ALICE, iat=now - 3700, auth_time=now - 3700, exp=now - 100)
    )

    assert_denied(authorize(f"Bearer {expired}"))


def test_a_token_still_inside_its_lifetime_is_allowed(cognito: Cognito, alice: dict[str, Any]) -> None:
    now = int(time.time())
    fresh = auth_support.sign(
        cognito.id_claims(alice["sub"], ALICE, iat=now - 3500, auth_time=now - 3500, exp=now + 100)
    )

    assert effect(authorize(f"Bearer {fresh}")) == "Allow"


def test_tampered_payload_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    header, _, signature = _segments(alice["token"])
    claims = _payload(alice["token"])
    claims["sub"] = "bbbbbbbb-0000-4000-8000-00000000000b"  # somebody else's account
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])

    assert_denied(authorize(f"Bearer {forged}"))


def test_token_signed_with_another_key_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = auth_support.sign(_payload(alice["token"]), key=other_key)  # same kid, same claims

    assert_denied(authorize(f"Bearer {forged}"))


def test_token_with_an_unknown_key_id_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    forged = auth_support.sign(_payload(alice["token"]), kid="not-a-pool-key")

    assert_denied(authorize(f"Bearer {forged}"))


def test_unsigned_token_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    header = _b64(json.dumps({"alg": "none", "kid": "dummy"}).encode())
    payload = _segments(alice["token"])[1]

    assert_denied(authorize(f"Bearer {header}.{payload}."))


def test_hs256_signed_with_the_public_key_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    """The classic algorithm confusion: HMAC keyed with the published RSA key."""
    header = _b64(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode())
    payload = _segments(alice["token"])[1]
    public = json.dumps(auth_support.moto_jwks()["keys"][0]).encode()
    signature = _b64(hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest())

    assert_denied(authorize(f"Bearer {header}.{payload}.{signature}"))


def test_token_for_another_app_client_is_denied(cognito: Cognito, issued: Issued) -> None:
    token = issued.other_client_id_token
    assert _payload(token)["aud"] != cognito.client_id
    assert _payload(token)["iss"] == cognito.issuer

    assert_denied(authorize(f"Bearer {token}"))


def test_token_from_another_pool_is_denied(cognito: Cognito, alice: dict[str, Any]) -> None:
    other_issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{cognito.pool_id}x"
    forged = auth_support.sign(cognito.id_claims(alice["sub"], ALICE, iss=other_issuer))

    assert_denied(authorize(f"Bearer {forged}"))


def test_access_token_is_denied(cognito: Cognito, issued: Issued) -> None:
    access = issued.access_token
    assert _payload(access)["token_use"] == "access"

    assert_denied(authorize(f"Bearer {access}"))


def test_access_token_is_denied_even_with_the_right_audience(cognito: Cognito, alice: dict[str, Any]) -> None:
    forged = auth_support.sign(cognito.id_claims(alice["sub"], ALICE, token_use="access"))

    assert_denied(authorize(f"Bearer {forged}"))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "token_use"])
def test_token_without_a_required_claim_is_denied(
    cognito: Cognito, alice: dict[str, Any], claim: str
) -> None:
    claims = cognito.id_claims(alice["sub"], ALICE)
    del claims[claim]

    assert_denied(authorize(f"Bearer {auth_support.sign(claims)}"))


def test_garbage_after_bearer_is_denied(cognito: Cognito) -> None:
    assert_denied(authorize("Bearer not-a-jwt"))


# --- The scheme in any case (RFC 7235) -----------------------------------------------------------


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR", "Bearer "])
def test_the_scheme_is_case_insensitive(cognito: Cognito, alice: dict[str, Any], scheme: str) -> None:
    """RFC 7235: the auth-scheme is case-insensitive, and one or more spaces separate it from the token."""
    answer = authorize(f"{scheme} {alice['token']}")

    assert effect(answer) == "Allow"
    assert answer["context"]["accountId"] == alice["sub"]


def test_a_scheme_in_another_case_is_still_checked(cognito: Cognito) -> None:
    assert_denied(authorize("bearer not-a-jwt"))


# --- No Bearer token: 401 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "Bearerabc.def.ghi", "Bearer a b", "Bearer\tabc"],
    ids=["missing", "basic", "bare-scheme", "empty-token", "no-space", "two-tokens", "tab"],
)
def test_no_bearer_token_is_unauthorized(cognito: Cognito, authorization: str) -> None:
    """API Gateway answers these with 401 before the function (tests/test_template_auth.py checks the
    validation expression); should one get through, raising "Unauthorized" is API Gateway's 401 too."""
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorization)
    assert cognito.fetches.urls == []  # not even the keys were needed


def test_event_without_an_authorization_token_is_unauthorized(cognito: Cognito) -> None:
    event = {"type": "TOKEN", "methodArn": f"{API_STAGE_ARN}/GET/private/apps/findAll"}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_module().lambda_handler(event, None)


# --- Keys, settings, logs ----------------------------------------------------------------------


def test_the_pool_keys_are_fetched_once_per_container(cognito: Cognito, alice: dict[str, Any]) -> None:
    for _ in range(3):
        assert effect(authorize(f"Bearer {alice['token']}")) == "Allow"
    assert_denied(authorize("Bearer not-a-jwt"))
    assert_denied(authorize(f"Bearer {auth_support.sign({'sub': 'x'}, kid='other')}"))

    assert cognito.fetches.urls == [f"{cognito.issuer}/.well-known/jwks.json"]


def test_a_failed_key_fetch_is_an_error_not_a_cached_deny(cognito: Cognito, alice: dict[str, Any]) -> None:
    app = authorizer_module()
    attempts: list[str] = []

    def flaky(url: str) -> dict[str, Any]:
        attempts.append(url)
        if len(attempts) == 1:
            raise OSError("connection reset")
        return auth_support.moto_jwks()

    app.configure(fetch=flaky)

    # An exception (API Gateway's 500, never cached) rather than a Deny that would stick to the token.
    with pytest.raises(app.JwksUnavailable):
        authorize(f"Bearer {alice['token']}")
    assert effect(authorize(f"Bearer {alice['token']}")) == "Allow"
    assert len(attempts) == 2


def test_jwks_url_can_be_pointed_elsewhere(cognito: Cognito, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local runtime serves the keys from moto's server instead of cognito-idp.amazonaws.com."""
    monkeypatch.setenv("JWKS_URL", "http://127.0.0.1:5000/pool/.well-known/jwks.json")
    verifier = authorizer_module().configure(fetch=cognito.fetches)

    verifier.keys()

    assert cognito.fetches.urls == ["http://127.0.0.1:5000/pool/.well-known/jwks.json"]


def test_the_default_fetch_refuses_non_http_urls() -> None:
    app = authorizer_module()
    with pytest.raises(app.JwksUnavailable):
        app.fetch_jwks("file:///etc/passwd")


def test_settings_come_from_the_environment_the_template_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    app = authorizer_module()
    settings = app.PoolSettings.from_environ(
        {"USER_POOL_ID": "eu-west-1_AbC", "USER_POOL_CLIENT_ID": "client", "USER_POOL_REGION": "eu-west-1"}
    )
    assert settings.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    assert (
        settings.jwks_url == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
    )
    with pytest.raises(RuntimeError, match="USER_POOL_CLIENT_ID"):
        app.PoolSettings.from_environ({"USER_POOL_ID": "eu-west-1_AbC", "AWS_REGION": "eu-west-1"})


def test_the_token_is_never_logged(
    cognito: Cognito, alice: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    expired = auth_support.sign(cognito.id_claims(alice["sub"], ALICE, exp=int(time.time()) - 100))

    authorize(f"Bearer {alice['token']}")
    authorize(f"Bearer {expired}")

    records = "".join(repr(vars(record)) for record in caplog.records)
    assert "'reason': 'expired'" in records  # why a token was refused is logged...
    for token in (alice["token"], expired):
        assert token.split(".")[2] not in records  # ...the token is not


def test_the_sample_event_is_a_token_event_and_its_placeholder_is_denied(cognito: Cognito) -> None:
    event = json.loads((EVENTS_DIR / "authorizer.json").read_text())
    assert event["type"] == "TOKEN"
    assert event["authorizationToken"].startswith("Bearer ")

    answer = authorizer_module().lambda_handler(copy.deepcopy(event), None)

    assert_denied(answer)
    assert answer["policyDocument"]["Statement"][0]["Resource"].endswith("/api/*/*")
