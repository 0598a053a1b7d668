"""Cognito for the auth and tenancy suites, all in moto.

The user pool and app client are created from template.yaml's own properties (intrinsics resolved with the
parameters' defaults), users are created the way the README tells an administrator to, logins go through
the real `auth_login` handler (or the real `AccountService`) and tokens through the real authorizer, which is
handed moto's published keys instead of fetching them (moto signs every token with
`cognitoidp/resources/jwks-private.json`) and a way to read the accounts table (`use_pool`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import jwt
import pytest

from local_runtime import template
from local_runtime.events import build_token_authorizer_event, method_arn
from local_runtime.loader import load_module
from smtphub.accounts.repository import AccountsRepository, CognitoRepository
from smtphub.accounts.service import AccountService, token_claims
from tests.support.accounts import ACCOUNTS_TABLE, BotoRevocations, ensure_accounts_table
from tests.support.lambdas import Reply, call

REGION = "us-east-1"
STACK = "smtp-hub-test"
PASSWORD = "Correct-Horse-9-Battery!"  # meets the template's password policy
MOTO_KID = "dummy"  # the key id of moto's signing key
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


# --- template.yaml -> boto3 requests --------------------------------------------------------------


def resolve(value: Any, document: dict[str, Any], refs: dict[str, Any]) -> Any:  # noqa: PLR0911
    """Resolve the intrinsics the auth resources use: Ref, Fn::If, Fn::Sub, Fn::Equals, Fn::Not."""
    if isinstance(value, list):
        return [resolve(item, document, refs) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
        return {key: resolve(item, document, refs) for key, item in value.items()}
    ((function, argument),) = value.items()
    if function == "Ref":
        if argument in refs:
            return refs[argument]
        return document["Parameters"][argument]["Default"]
    if function == "Fn::If":
        name, when_true, when_false = argument
        chosen = when_true if condition(name, document, refs) else when_false
        return resolve(chosen, document, refs)
    if function == "Fn::Equals":
        left, right = resolve(argument, document, refs)
        return str(left) == str(right)
    if function == "Fn::Not":
        return not resolve(argument[0], document, refs)
    if function == "Fn::Sub":
        text = argument
        for name, replacement in {"AWS::StackName": STACK, "AWS::Region": REGION}.items():
            text = text.replace("${" + name + "}", replacement)
        return text
    raise AssertionError(f"unexpected intrinsic {function}")


def condition(name: str, document: dict[str, Any], refs: dict[str, Any]) -> bool:
    return bool(resolve(document["Conditions"][name], document, refs))


def properties(logical_id: str, refs: dict[str, Any] | None = None) -> dict[str, Any]:
    document = template.default()
    props: dict[str, Any] = resolve(document["Resources"][logical_id]["Properties"], document, refs or {})
    return props


def user_pool_request() -> dict[str, Any]:
    props = properties("UserPool")
    props["PoolName"] = props.pop("UserPoolName")
    return props


def client_request(pool_id: str, **overrides: Any) -> dict[str, Any]:
    return {**properties("UserPoolClient", {"UserPool": pool_id}), **overrides}


# --- moto's keys ---------------------------------------------------------------------------------


def moto_jwks() -> dict[str, Any]:
    """What Cognito (here: moto) publishes at <issuer>/.well-known/jwks.json."""
    from moto.utilities.utils import load_resource

    document: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return document


@cache
def moto_signing_key() -> Any:
    """The private key moto signs its tokens with: for tokens moto would never issue (expired, ...)."""
    from moto.utilities.utils import load_resource

    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def sign(claims: dict[str, Any], key: Any = None, kid: str = MOTO_KID) -> str:
    return jwt.encode(claims, key or moto_signing_key(), algorithm="RS256", headers={"kid": kid})


def claims_of(token: str) -> dict[str, Any]:
    return token_claims(token)


@dataclass
class JwksFetches:
    """The authorizer's key fetch in tests: serves moto's keys and counts the calls."""

    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        return moto_jwks()


# --- the pool, its users, logins and the authorizer ----------------------------------------------


@dataclass
class Cognito:
    client: Any  # boto3 cognito-idp, moto-backed
    pool_id: str
    client_id: str
    fetches: JwksFetches

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def add_user(self, email: str, password: str = PASSWORD, *, permanent: bool = True) -> str:
        """An account as an administrator creates it (README); returns its id, the `sub`."""
        self.client.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
        )
        if permanent:
            self.client.admin_set_user_password(
                UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True
            )
        user = self.client.admin_get_user(UserPoolId=self.pool_id, Username=email)
        return next(str(a["Value"]) for a in user["UserAttributes"] if a["Name"] == "sub")

    def tokens(self, email: str, password: str = PASSWORD, client_id: str | None = None) -> dict[str, Any]:
        """Cognito's AuthenticationResult for a user, straight from the pool (not through the API)."""
        answer = self.client.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=client_id or self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        result: dict[str, Any] = answer["AuthenticationResult"]
        return result

    def id_claims(self, sub: str, email: str, **changes: Any) -> dict[str, Any]:
        """The claims of an ID token of this pool and client, as Cognito issues them."""
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.client_id,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
            "email": email,
            "cognito:username": sub,
            **changes,
        }


def create_cognito() -> Cognito:
    """Inside mock_aws: the template's user pool and app client."""
    import boto3

    client = boto3.client("cognito-idp", region_name=REGION)
    pool_id = client.create_user_pool(**user_pool_request())["UserPool"]["Id"]
    client_id = client.create_user_pool_client(**client_request(pool_id))["UserPoolClient"]["ClientId"]
    return Cognito(client, pool_id, client_id, JwksFetches())


def cognito_setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cognito]:
    """Inside mock_aws: the template's pool and client, the functions' environment, a keyed authorizer."""
    cognito = create_cognito()
    with use_pool(monkeypatch, cognito):
        yield cognito


@contextmanager
def use_pool(
    monkeypatch: pytest.MonkeyPatch, cognito: Cognito, revocations: Any = None, *, over_http: bool = False
) -> Iterator[None]:
    """The login function's and the authorizer's environment for this pool; the authorizer keyed by moto.

    The authorizer reads revocations from the accounts table: `over_http`, with its own signed HTTP client,
    as in Lambda (AWS_ENDPOINT_URL must point at a moto server); else through `revocations` when given, else
    through a boto3 client of the moto mock in force (`mock_aws` does not see the authorizer's own HTTP),
    whose accounts table is created when missing.
    """
    import boto3

    monkeypatch.setenv("USER_POOL_ID", cognito.pool_id)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", cognito.client_id)
    monkeypatch.setenv("USER_POOL_REGION", REGION)
    monkeypatch.setenv("ACCOUNTS_TABLE", ACCOUNTS_TABLE)
    monkeypatch.delenv("JWKS_URL", raising=False)
    if over_http:
        authorizer_module().configure(fetch=cognito.fetches)
    else:
        if revocations is None:
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            ensure_accounts_table(dynamodb)
            revocations = BotoRevocations(dynamodb)
        authorizer_module().configure(fetch=cognito.fetches, revocations=revocations)
    try:
        yield
    finally:
        authorizer_module().reset()


def account_service(cognito: Cognito, *, clock: Any = time.time, sleep: Any = time.sleep) -> AccountService:
    """The real service on the pool's (moto-backed) client and the accounts table of the mock in force."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    ensure_accounts_table(dynamodb)
    return AccountService(
        CognitoRepository(lambda: cognito.client, cognito.pool_id, cognito.client_id),
        AccountsRepository(lambda: dynamodb, ACCOUNTS_TABLE),
        clock=clock,
        sleep=sleep,
    )


@dataclass(frozen=True)
class Issued:
    """Real tokens of one user from moto's Cognito; the mock is gone, the tokens stay valid for an hour."""

    cognito: Cognito  # pool and client ids; its boto3 client no longer has a mock behind it
    email: str
    sub: str
    id_token: str  # from AccountService.login, what POST /auth/login answers
    access_token: str
    other_client_id_token: str  # an ID token of the same pool for another app client


def issue_tokens(email: str) -> Issued:
    """Once per module: the authorizer needs tokens (and the accounts table), not the pool itself."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        cognito = create_cognito()
        sub = cognito.add_user(email)
        result = account_service(cognito).login(email, PASSWORD)
        other = cognito.client.create_user_pool_client(
            **client_request(cognito.pool_id, ClientName="another-app")
        )["UserPoolClient"]["ClientId"]
        return Issued(
            cognito=cognito,
            email=email,
            sub=sub,
            id_token=result.token,
            access_token=cognito.tokens(email)["AccessToken"],
            other_client_id_token=cognito.tokens(email, client_id=other)["IdToken"],
        )


def authorizer_module() -> ModuleType:
    return load_module("functions/authorizer/")


def login(username: str | None, password: str | None, **options: Any) -> Reply:
    params = {
        name: value for name, value in (("username", username), ("password", password)) if value is not None
    }
    return call("auth_login", params, account=None, **options)


def authorize(
    authorization: str, method: str = "GET", resource: str = "/private/apps/findAll"
) -> dict[str, Any]:
    """The real authorizer's answer for an Authorization header value, as API Gateway would ask."""
    event = build_token_authorizer_event(authorization, method_arn(method, resource, api_id="a1b2c3d4e5"))
    answer: dict[str, Any] = authorizer_module().lambda_handler(event, None)
    return answer


def gateway_context(answer: dict[str, Any]) -> dict[str, Any]:
    """requestContext.authorizer as API Gateway builds it from an Allow: the context plus principalId."""
    return {**answer.get("context", {}), "principalId": answer["principalId"], "integrationLatency": 0}


def effect(answer: dict[str, Any]) -> str:
    statements = answer["policyDocument"]["Statement"]
    assert len(statements) == 1
    return str(statements[0]["Effect"])
