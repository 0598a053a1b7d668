"""POST /auth/login through the real handler, against moto's Cognito built from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import jwt
import pytest
from botocore.stub import Stubber

from smtphub import wiring
from smtphub.accounts.repository import AccountsRepository, CognitoRepository
from smtphub.accounts.service import AccountService
from tests.support import auth as auth_support
from tests.support.accounts import ACCOUNTS_TABLE
from tests.support.auth import PASSWORD, Cognito, login

ALICE = "alice@example.com"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cognito]:
    """moto's Cognito alone: login needs no tables."""
    from moto import mock_aws

    with mock_aws():
        yield from auth_support.cognito_setup(monkeypatch)


def test_login_answers_the_contract_with_a_verifiable_id_token(cognito: Cognito) -> None:
    sub = cognito.add_user(ALICE)

    reply = login(ALICE, PASSWORD)

    assert reply.status == 200, reply.text
    body = reply.json
    assert set(body) == {"token", "role", "userId", "username", "clientId"}
    assert body["role"] == "user"
    assert body["userId"] == sub
    assert body["username"] == ALICE
    assert body["clientId"] == cognito.client_id
    assert reply.headers["Cache-Control"] == "no-store"
    # The token is the pool's ID token, signed with the keys Cognito publishes, for this client.
    key = jwt.PyJWKSet.from_dict(auth_support.moto_jwks())["dummy"].key
    claims = jwt.decode(
        body["token"], key, algorithms=["RS256"], audience=cognito.client_id, issuer=cognito.issuer
    )
    assert claims["token_use"] == "id"
    assert claims["sub"] == sub


def test_login_accepts_json_as_well_as_form(cognito: Cognito) -> None:
    sub = cognito.add_user(ALICE)

    reply = auth_support.call(
        "auth_login",
        body=json.dumps({"username": ALICE, "password": PASSWORD}),
        content_type="application/json",
        account=None,
    )

    assert reply.status == 200, reply.text
    assert reply.json["userId"] == sub


def test_wrong_password_is_403_without_a_token(cognito: Cognito) -> None:
    cognito.add_user(ALICE)

    reply = login(ALICE, PASSWORD + "x")

    assert reply.status == 403
    assert reply.json["error"] == "FORBIDDEN"
    assert reply.json["message"] == "Incorrect username or password"
    assert "token" not in reply.json


def test_unknown_user_is_indistinguishable_from_a_wrong_password(cognito: Cognito) -> None:
    cognito.add_user(ALICE)

    unknown = login("nobody@example.com", PASSWORD)
    wrong = login(ALICE, "Not-The-Password-1!")

    assert unknown.status == wrong.status == 403
    assert {**unknown.json, "requestId": ""} == {**wrong.json, "requestId": ""}


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        ({"password": PASSWORD}, {"username"}),
        ({"username": ALICE}, {"password"}),
        ({}, {"username", "password"}),
        ({"username": ALICE, "password": ""}, {"password"}),
        ({"username": "   ", "password": PASSWORD}, {"username"}),
    ],
)
def test_missing_username_or_password_is_400_naming_each(
    cognito: Cognito, params: dict[str, str], missing: set[str]
) -> None:
    cognito.add_user(ALICE)

    reply = auth_support.call("auth_login", params, account=None)

    assert reply.status == 400
    assert reply.json["error"] == "BAD_REQUEST"
    assert reply.json["fields"] == dict.fromkeys(sorted(missing), "is required")


def test_password_with_surrounding_spaces_is_sent_as_typed(cognito: Cognito) -> None:
    spaced = " Spaced-Password-1! "
    cognito.add_user(ALICE, spaced)

    assert login(ALICE, spaced).status == 200
    assert login(ALICE, spaced.strip()).status == 403


def test_temporary_password_is_a_clear_403(cognito: Cognito) -> None:
    cognito.add_user(ALICE, permanent=False)

    reply = login(ALICE, PASSWORD)

    assert reply.status == 403
    assert reply.json["error"] == "FORBIDDEN"
    assert reply.json["challenge"] == "NEW_PASSWORD_REQUIRED"
    assert "temporary password" in reply.json["message"]
    assert "token" not in reply.json


def test_temporary_password_with_a_wrong_password_is_the_usual_403(cognito: Cognito) -> None:
    cognito.add_user(ALICE, permanent=False)

    reply = login(ALICE, "Not-The-Password-1!")

    assert reply.status == 403
    assert "challenge" not in reply.json


def test_disabled_account_cannot_log_in(cognito: Cognito) -> None:
    cognito.add_user(ALICE)
    cognito.client.admin_disable_user(UserPoolId=cognito.pool_id, Username=ALICE)

    reply = login(ALICE, PASSWORD)

    assert reply.status == 403
    assert reply.json["message"] == "Incorrect username or password"


# --- Cognito's answers, stubbed: throttling, unexpected failures, what the function sends ----------


@pytest.fixture
def stubbed(cognito: Cognito) -> Iterator[Stubber]:
    """The login handler with a Cognito client whose answers the test scripts."""
    client = boto3.client("cognito-idp", region_name=auth_support.REGION)
    service = AccountService(
        CognitoRepository(lambda: client, cognito.pool_id, cognito.client_id),
        AccountsRepository(lambda: boto3.client("dynamodb", region_name=auth_support.REGION), ACCOUNTS_TABLE),
    )
    wiring.override("account_service", service)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["TooManyRequestsException", "LimitExceededException"])
def test_cognito_throttling_is_429(stubbed: Stubber, code: str) -> None:
    stubbed.add_client_error("admin_initiate_auth", service_error_code=code, http_status_code=429)

    reply = login(ALICE, PASSWORD)

    assert reply.status == 429
    assert reply.json["error"] == "TOO_MANY_REQUESTS"
    assert reply.headers["Retry-After"] == "1"


def test_an_unexpected_cognito_error_is_a_bare_500(stubbed: Stubber) -> None:
    stubbed.add_client_error(
        "admin_initiate_auth",
        service_error_code="ResourceNotFoundException",
        service_message="User pool client abc does not exist.",
        http_status_code=400,
    )

    reply = login(ALICE, PASSWORD)

    assert reply.status == 500
    assert reply.json["error"] == "INTERNAL_ERROR"
    assert "abc" not in reply.text


def test_unsupported_challenge_is_403(stubbed: Stubber) -> None:
    stubbed.add_response(
        "admin_initiate_auth",
        {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s" * 20, "ChallengeParameters": {}},
    )

    reply = login(ALICE, PASSWORD)

    assert reply.status == 403
    assert reply.json["challenge"] == "SOFTWARE_TOKEN_MFA"


def test_login_uses_the_admin_flow_and_hands_cognito_the_callers_ip(
    cognito: Cognito, stubbed: Stubber
) -> None:
    sub = "0f0e0d0c-0000-4000-8000-000000000001"
    token = auth_support.sign(cognito.id_claims(sub, ALICE))
    stubbed.add_response(
        "admin_initiate_auth",
        {"AuthenticationResult": {"IdToken": token, "AccessToken": "a" * 20, "TokenType": "Bearer"}},
        expected_params={
            "UserPoolId": cognito.pool_id,
            "ClientId": cognito.client_id,
            "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": ALICE, "PASSWORD": PASSWORD},
            "ContextData": {
                "IpAddress": "127.0.0.1",  # the event's requestContext.identity.sourceIp
                "ServerName": "smtp-hub",
                "ServerPath": "/auth/login",
                "HttpHeaders": [],
            },
        },
    )

    reply = login(ALICE, PASSWORD)

    assert reply.status == 200, reply.text
    assert reply.json["token"] == token
    assert reply.json["userId"] == sub


# --- Logs ----------------------------------------------------------------------------------------


def test_passwords_and_tokens_never_reach_the_logs(
    cognito: Cognito, captured_logs, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wrong-Guess-5150!"
    cognito.add_user(ALICE)
    cognito.add_user("bob@example.com", permanent=False)
    captured_logs()
    caplog.clear()  # the users' creation above logged its own requests

    token = login(ALICE, PASSWORD).json["token"]
    assert login(ALICE, wrong).status == 403
    assert login("bob@example.com", PASSWORD).status == 403

    # Every record's message and extra fields (Powertools puts `extra` on the record as attributes).
    logs = captured_logs() + "".join(repr(vars(record)) for record in caplog.records)
    assert "AdminInitiateAuth" in logs  # botocore's DEBUG logging was on, and captured
    assert "POST /auth/login" in logs  # so were the handler's own request lines
    assert PASSWORD not in logs
    assert wrong not in logs
    assert token.split(".")[2] not in logs  # the token's signature
