"""template.yaml's accounts: the user pool, its app client, the authorizer, the gateway responses, IAM."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_runtime import template
from local_runtime.events import ROOT
from tests.support.auth import authorizer_module, properties

CONTRACT_CODES = {
    400: {"BAD_REQUEST"},
    401: {"UNAUTHORIZED"},
    403: {"FORBIDDEN"},
    404: {"NOT_FOUND"},  # API Gateway's unknown route: outside the contract's endpoints
    413: {"PAYLOAD_TOO_LARGE"},
    415: {"UNSUPPORTED_MEDIA_TYPE"},
    429: {"TOO_MANY_REQUESTS"},
    500: {"INTERNAL_ERROR"},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return template.load()


def resource(document: dict[str, Any], logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = document["Resources"][logical_id]
    return found


def api_props(document: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resource(document, "Api")["Properties"]
    return props


def parameter_default(document: dict[str, Any], name: str) -> Any:
    return document["Parameters"][name]["Default"]


# --- User pool and app client --------------------------------------------------------------------


def test_user_pool_usernames_are_e_mail_addresses_created_by_administrators(document: dict[str, Any]) -> None:
    pool = resource(document, "UserPool")
    props = pool["Properties"]
    assert props["UsernameAttributes"] == ["email"]
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # no self sign-up
    # Accounts are data: kept when the stack goes, like the tables.
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"


def test_user_pool_password_policy_is_strong(document: dict[str, Any]) -> None:
    policy = resource(document, "UserPool")["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    for requirement in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[requirement] is True, requirement
    assert policy["TemporaryPasswordValidityDays"] <= 7


def test_threat_protection_is_enforced_by_default(document: dict[str, Any]) -> None:
    resolved = properties("UserPool")
    assert parameter_default(document, "ThreatProtection") == "ENFORCED"
    assert resolved["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert resolved["UserPoolTier"] == "PLUS"  # threat protection is a Plus feature
    assert resource(document, "UserPoolRiskConfiguration")["Condition"] == "HasThreatProtection"
    risk = resource(document, "UserPoolRiskConfiguration")["Properties"]
    assert risk["CompromisedCredentialsRiskConfiguration"]["Actions"]["EventAction"] == "BLOCK"
    assert "SIGN_IN" in risk["CompromisedCredentialsRiskConfiguration"]["EventFilter"]
    assert risk["AccountTakeoverRiskConfiguration"]["Actions"]["HighAction"]["EventAction"] == "BLOCK"


def test_threat_protection_off_drops_to_the_essentials_plan() -> None:
    import tests.support.auth as support

    document = template.load()
    document["Parameters"]["ThreatProtection"]["Default"] = "OFF"
    props = support.resolve(document["Resources"]["UserPool"]["Properties"], document, {})
    assert props["UserPoolTier"] == "ESSENTIALS"
    assert props["UserPoolAddOns"] == {"AdvancedSecurityMode": "OFF"}


def test_app_client_allows_password_logins_only_through_the_admin_api(document: dict[str, Any]) -> None:
    client = resource(document, "UserPoolClient")["Properties"]
    # Not ALLOW_USER_PASSWORD_AUTH: the public client id alone must not let anyone try passwords.
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["GenerateSecret"] is False
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["UserPoolId"] == {"Ref": "UserPool"}


def test_token_validity_is_a_parameter_defaulting_to_24_hours(document: dict[str, Any]) -> None:
    client = resource(document, "UserPoolClient")["Properties"]
    hours = document["Parameters"]["TokenValidityHours"]
    assert hours["Default"] == 24
    assert hours["MaxValue"] == 24  # Cognito's limit for ID tokens
    assert client["IdTokenValidity"] == {"Ref": "TokenValidityHours"}
    assert client["TokenValidityUnits"]["IdToken"] == "hours"
    # The refresh token is never handed out, but Cognito wants it to outlive the ID token.
    assert client["TokenValidityUnits"]["RefreshToken"] == "days"
    assert client["RefreshTokenValidity"] >= 1


def test_outputs_give_the_pool_and_client_ids(document: dict[str, Any]) -> None:
    outputs = document["Outputs"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UserPoolClient"}


# --- Authorizer --------------------------------------------------------------------------------


def test_every_route_but_login_and_e_mail_links_is_behind_the_authorizer(document: dict[str, Any]) -> None:
    auth = api_props(document)["Auth"]
    assert auth["DefaultAuthorizer"] == "TokenAuthorizer"
    routes = template.routes(document)
    assert routes, "no routes found"
    # Without a token: login, and the links in e-mails (the pixel, a tracked link, unsubscribe), whose
    # signed token is their authorization (README, "Tracking and unsubscribing").
    public = {
        ("POST", "/auth/login"),
        ("GET", "/public/tracking/open"),
        ("GET", "/public/tracking/click"),
        ("GET", "/public/blacklist/unsubscribe"),
        ("POST", "/public/blacklist/unsubscribe"),
    }
    for route in routes:
        if (route.method, route.path) in public:
            assert route.authorizer == "NONE", route.path
        else:
            assert route.path.startswith("/private/"), route.path
            assert route.authorizer is None, f"{route.path} overrides the default authorizer"
    assert any(route.path == "/auth/login" and route.method == "POST" for route in routes)


def test_the_authorizer_is_a_token_authorizer_on_the_authorization_header(document: dict[str, Any]) -> None:
    authorizer = api_props(document)["Auth"]["Authorizers"]["TokenAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "TOKEN"
    assert authorizer["Identity"]["Header"] == "Authorization"
    # Its answer is cached per token for a parameter's worth of seconds.
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtl"}
    ttl = document["Parameters"]["AuthorizerCacheTtl"]
    assert 0 < ttl["Default"] <= ttl["MaxValue"] <= 3600


HEADERS = [
    ("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", True),
    ("Bearer abc+/_~-.def==", True),
    # RFC 7235: the scheme is case-insensitive, and 1*SP separates it from the credentials.
    ("bearer abc.def.ghi", True),
    ("BEARER abc.def.ghi", True),
    ("bEaReR abc.def.ghi", True),
    ("Bearer   abc.def.ghi", True),
    ("", False),
    ("Basic YWxpY2U6c2VjcmV0", False),
    ("Bearer", False),
    ("Bearer ", False),
    ("bearer", False),
    ("Bearerabc.def.ghi", False),
    ("Bearer\tabc.def.ghi", False),
    ("Bearer abc def", False),
    ("Bearer abc\n", False),
    (" Bearer abc", False),
    ("Token abc.def.ghi", False),
    ("Bearers abc.def.ghi", False),
    ("Beare abc.def.ghi", False),
    ("\u0392earer abc.def.ghi", False),  # a Greek capital beta, not a B
]


def validation_expression(document: dict[str, Any]) -> str:
    expression: str = api_props(document)["Auth"]["Authorizers"]["TokenAuthorizer"]["Identity"][
        "ValidationExpression"
    ]
    return expression


@pytest.mark.parametrize(("header", "passes"), HEADERS)
def test_the_validation_expression_turns_away_missing_and_non_bearer_headers(
    document: dict[str, Any], header: str, passes: bool
) -> None:
    """What fails the expression is a 401 from API Gateway without invoking the authorizer."""
    expression = validation_expression(document)
    assert expression == "^[Bb][Ee][Aa][Rr][Ee][Rr] +[-0-9a-zA-Z._~+/]+=*$"
    # API Gateway matches the whole header value with a Java regex. The expression uses nothing whose
    # meaning differs between Java and Python (no flags, no \w, no Unicode classes): fullmatch agrees.
    assert bool(re.fullmatch(expression, header)) is passes


@pytest.mark.parametrize(("header", "passes"), HEADERS)
def test_the_authorizer_parses_exactly_what_the_expression_lets_through(header: str, passes: bool) -> None:
    """The authorizer's own parsing (should API Gateway ever hand it a header) agrees with the gateway."""
    assert bool(authorizer_module().BEARER.fullmatch(header)) is passes


ACCOUNT_ITEMS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["account#*"]}}


def test_the_authorizer_may_only_read_account_items_of_the_accounts_table(document: dict[str, Any]) -> None:
    function = resource(document, "AuthorizerFunction")["Properties"]
    assert function["CodeUri"] == "functions/authorizer/"
    assert "Events" not in function
    statements = [statement for policy in function["Policies"] for statement in policy["Statement"]]
    # The pool's keys are public; its one AWS call is the GetItem of the caller's account item.
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": {"Fn::GetAtt": ["AccountsTable", "Arn"]},
            "Condition": ACCOUNT_ITEMS_ONLY,
        }
    ]
    assert function["Environment"]["Variables"] == {
        "USER_POOL_ID": {"Ref": "UserPool"},
        "USER_POOL_CLIENT_ID": {"Ref": "UserPoolClient"},
        "USER_POOL_REGION": {"Ref": "AWS::Region"},
        "JWKS_URL": "",  # empty when deployed: the pool's published keys (sam local points it at moto)
    }
    # ACCOUNTS_TABLE comes with every function's variables.
    environment = template.functions(document)["AuthorizerFunction"].environment
    assert environment["ACCOUNTS_TABLE"] == {"Ref": "AccountsTable"}


def test_logout_is_private_and_may_only_write_account_items(document: dict[str, Any]) -> None:
    function = resource(document, "AuthLogoutFunction")["Properties"]
    assert function["CodeUri"] == "functions/auth_logout/"
    event = function["Events"]["Api"]["Properties"]
    assert (event["Method"], event["Path"]) == ("POST", "/private/auth/logout")
    assert "Auth" not in event  # the default authorizer: the account is the token's
    statements = [statement for policy in function["Policies"] for statement in policy["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": {"Fn::GetAtt": ["AccountsTable", "Arn"]},
            "Condition": ACCOUNT_ITEMS_ONLY,
        }
    ]


def test_pyjwt_belongs_to_the_authorizer_alone() -> None:
    requirements = (ROOT / "functions/authorizer/requirements.txt").read_text().splitlines()
    assert "PyJWT[crypto]==2.15.1" in requirements
    # The versions the tests ran with are the ones that ship.
    lock = set((ROOT / "requirements-dev.lock").read_text().splitlines())
    pins = [line.replace("[crypto]", "") for line in requirements if line and not line.startswith("#")]
    assert set(pins) <= lock, set(pins) - lock
    layer = (ROOT / "layers/common/requirements.txt").read_text().lower()
    assert "pyjwt" not in layer


def test_the_authorizer_imports_neither_boto3_nor_pydantic_nor_the_layer() -> None:
    """It sits on the path of every uncached call: its cold start stays small. Its one DynamoDB call is
    signed by itself (tests/unit/test_authorizer_dynamodb.py), not made with boto3."""
    source = (ROOT / "functions/authorizer/app.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"boto3", "botocore", "pydantic", "smtphub", "aws_lambda_powertools"}), (
        imported
    )
    # And at run time, in a fresh interpreter, nothing pulls them in indirectly.
    probe = (
        "import importlib.util, sys;"
        "spec = importlib.util.spec_from_file_location('app', 'functions/authorizer/app.py');"
        "module = importlib.util.module_from_spec(spec); sys.modules['app'] = module;"
        "spec.loader.exec_module(module);"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "'jwt'" in loaded  # the probe did load the module
    for heavy in ("boto3", "botocore", "pydantic", "smtphub", "aws_lambda_powertools"):
        assert f"'{heavy}'" not in loaded, heavy


# --- The login function --------------------------------------------------------------------------


def test_login_is_public_and_may_only_call_admin_initiate_auth_on_the_pool(document: dict[str, Any]) -> None:
    function = resource(document, "AuthLoginFunction")["Properties"]
    assert function["CodeUri"] == "functions/auth_login/"
    event = function["Events"]["Api"]["Properties"]
    assert (event["Method"], event["Path"], event["Auth"]) == ("POST", "/auth/login", {"Authorizer": "NONE"})
    statements = [statement for policy in function["Policies"] for statement in policy["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "cognito-idp:AdminInitiateAuth",
            "Resource": {"Fn::GetAtt": ["UserPool", "Arn"]},
        }
    ]
    assert function["Environment"]["Variables"] == {
        "USER_POOL_ID": {"Ref": "UserPool"},
        "USER_POOL_CLIENT_ID": {"Ref": "UserPoolClient"},
    }


def test_login_has_its_own_lower_throttle(document: dict[str, Any]) -> None:
    settings = api_props(document)["MethodSettings"]
    login = [s for s in settings if s["ResourcePath"] == "/~1auth~1login" and s["HttpMethod"] == "POST"]
    assert len(login) == 1
    assert login[0]["ThrottlingRateLimit"] == {"Ref": "LoginThrottlingRateLimit"}
    assert login[0]["ThrottlingBurstLimit"] == {"Ref": "LoginThrottlingBurstLimit"}
    assert parameter_default(document, "LoginThrottlingRateLimit") < parameter_default(
        document, "ThrottlingRateLimit"
    )


# --- Gateway responses ---------------------------------------------------------------------------


EXPECTED_RESPONSES = {
    "UNAUTHORIZED": (401, "UNAUTHORIZED"),
    "ACCESS_DENIED": (403, "FORBIDDEN"),
    "EXPIRED_TOKEN": (403, "FORBIDDEN"),
    "INVALID_SIGNATURE": (403, "FORBIDDEN"),
    "REQUEST_TOO_LARGE": (413, "PAYLOAD_TOO_LARGE"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "UNSUPPORTED_MEDIA_TYPE"),
    "THROTTLED": (429, "TOO_MANY_REQUESTS"),
    "QUOTA_EXCEEDED": (429, "TOO_MANY_REQUESTS"),
    "DEFAULT_4XX": (400, "BAD_REQUEST"),
    "DEFAULT_5XX": (500, "INTERNAL_ERROR"),
}


@pytest.mark.parametrize(("kind", "expected"), EXPECTED_RESPONSES.items(), ids=list(EXPECTED_RESPONSES))
def test_gateway_responses_have_the_contracts_error_body(
    document: dict[str, Any], kind: str, expected: tuple[int, str]
) -> None:
    response = api_props(document)["GatewayResponses"][kind]
    status, code = expected
    assert response["StatusCode"] == str(status)
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert body["status"] == status
    assert body["error"] == code
    assert body["requestId"] == "$context.requestId"
    assert body["message"]


def test_every_gateway_response_is_consistent(document: dict[str, Any]) -> None:
    """Whatever API Gateway answers by itself: JSON, the status in the body equal to the real one."""
    responses = api_props(document)["GatewayResponses"]
    for kind, response in responses.items():
        status = int(response["StatusCode"])
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert list(body)[:4] == ["status", "error", "message", "requestId"], kind
        assert body["status"] == status, kind
        assert body["error"] in CONTRACT_CODES[status], kind
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/json'", kind
        assert headers["Cache-Control"] == "'no-store'", kind
        # VTL: nothing but $context.requestId may be interpreted.
        template_text = response["ResponseTemplates"]["application/json"]
        assert template_text.count("$") == 1, kind
        assert "#" not in template_text, kind


def test_the_events_exist_for_both_functions() -> None:
    login = json.loads(Path(ROOT / "events/auth_login.json").read_text())
    assert login["resource"] == "/auth/login"
    assert login["httpMethod"] == "POST"
    assert "authorizer" not in login["requestContext"]  # a public route gets no authorizer context
    assert not any(name.lower() == "authorization" for name in login["headers"])
    authorizer = json.loads(Path(ROOT / "events/authorizer.json").read_text())
    assert set(authorizer) == {"type", "authorizationToken", "methodArn"}
    assert authorizer["methodArn"].startswith("arn:aws:execute-api:")
