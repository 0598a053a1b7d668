"""TOKEN authorizer of every /private route: is the Bearer token an ID token of this API's user pool?

API Gateway calls it only when the Authorization header matches `^Bearer [-0-9a-zA-Z._~+/]+=*$` (anything
else, or no header, is a 401 before any code runs) and caches its answer per token. The token must be an
RS256 JWT signed by one of the pool's keys (its JWKS, fetched once per container), unexpired, issued by the
pool (`iss`), for the API's app client (`aud`) and an ID token (`token_use` = id). Allow passes the account
id (`sub`) and the username in the context, where every handler reads the account from; anything else is a
Deny, which API Gateway answers with 403. The token itself is never logged.

Deliberately small: PyJWT (this function's own requirements.txt) and the standard library, no boto3, no
pydantic, nothing from the shared layer, so that the function on the path of every uncached call starts fast.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

# Where handlers find the caller's account (smtphub.http.ACCOUNT_ID_KEY; not imported, see above).
ACCOUNT_ID_KEY = "accountId"
BEARER = re.compile(r"Bearer ([-0-9a-zA-Z._~+/]+=*)")
ALGORITHMS = ["RS256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "token_use"]
LEEWAY_SECONDS = 5  # clock skew tolerated on exp and iat
JWKS_TIMEOUT_SECONDS = 3

JwksFetch = Callable[[str], Mapping[str, Any]]

logger = logging.getLogger("smtp-hub.authorizer")


class InvalidToken(Exception):
    """The token is not a valid ID token of the pool: a Deny (the reason is logged, never the token)."""


class JwksUnavailable(Exception):
    """The pool's keys could not be fetched: an error (API Gateway's 500), never a cached Deny."""


class Unauthorized(Exception):
    """Raised with the message "Unauthorized", which API Gateway turns into its 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def fetch_jwks(url: str) -> Mapping[str, Any]:
    """The JWKS document at `url` (the default fetch; tests and the local runtime hand in their own)."""
    if not url.startswith(("https://", "http://")):
        raise JwksUnavailable("the JWKS URL must be http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked
    # http(s) only, checked above: no file:// or custom scheme reaches urlopen.
    with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
        document: Mapping[str, Any] = json.load(response)
    return document


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The user pool and app client whose ID tokens are accepted (environment set by template.yaml)."""

    region: str
    user_pool_id: str
    client_id: str
    jwks_url_override: str | None = None  # the local runtime points this at moto's server

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return self.jwks_url_override or f"{self.issuer}/.well-known/jwks.json"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PoolSettings:
        values = {
            "USER_POOL_REGION": environ.get("USER_POOL_REGION") or environ.get("AWS_REGION", ""),
            "USER_POOL_ID": environ.get("USER_POOL_ID", ""),
            "USER_POOL_CLIENT_ID": environ.get("USER_POOL_CLIENT_ID", ""),
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            region=values["USER_POOL_REGION"],
            user_pool_id=values["USER_POOL_ID"],
            client_id=values["USER_POOL_CLIENT_ID"],
            jwks_url_override=environ.get("JWKS_URL") or None,
        )


class TokenVerifier:
    """Checks Cognito ID tokens against one pool's keys, fetched on first use and kept."""

    def __init__(self, settings: PoolSettings, fetch: JwksFetch = fetch_jwks) -> None:
        self.settings = settings
        self._fetch = fetch
        self._keys: dict[str, Any] | None = None

    def keys(self) -> dict[str, Any]:
        """Key id -> public key. A failed fetch is not remembered: the next call tries again."""
        if self._keys is None:
            try:
                document = self._fetch(self.settings.jwks_url)
                jwks = jwt.PyJWKSet.from_dict(dict(document))
            except Exception as error:
                raise JwksUnavailable(f"cannot load the pool's keys: {type(error).__name__}") from error
            self._keys = {
                key.key_id: key.key for key in jwks.keys if key.key_id and key.public_key_use in (None, "sig")
            }
        return self._keys

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or InvalidToken saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("malformed") from None
        key = self.keys().get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(type(error).__name__) from None
        if claims["token_use"] != "id":  # noqa: S105 - a claim value, not a password
            raise InvalidToken("not an ID token")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidToken("no subject")
        return claims


def api_resource(method_arn: str) -> str:
    """Every method of the called stage: API Gateway reuses a cached answer for all routes of a token."""
    arn, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    if not arn.startswith("arn:") or not stage:
        raise ValueError("methodArn is not an execute-api method ARN")
    return f"{arn}/{stage}/*/*"


def policy(
    principal: str, effect: str, resource: str, context: Mapping[str, str] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        answer["context"] = dict(context)
    return answer


# --- The verifier of this container: built on first use, or by `configure` -----------------------

_current: dict[str, TokenVerifier] = {}


def configure(fetch: JwksFetch = fetch_jwks, environ: Mapping[str, str] | None = None) -> TokenVerifier:
    """Build the verifier now, e.g. with a fetch that serves moto's keys (tests, the local runtime)."""
    verifier = TokenVerifier(PoolSettings.from_environ(os.environ if environ is None else environ), fetch)
    _current["verifier"] = verifier
    return verifier


def verifier() -> TokenVerifier:
    return _current.get("verifier") or configure()


def reset() -> None:
    _current.clear()


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    match = BEARER.fullmatch(str(event.get("authorizationToken") or ""))
    if match is None:
        # API Gateway's identity validation expression normally stops these before this function runs.
        raise Unauthorized()
    resource = api_resource(str(event.get("methodArn") or ""))
    try:
        claims = verifier().verify(match.group(1))
    except InvalidToken as refused:
        logger.info("token refused", extra={"reason": str(refused)})
        return policy("anonymous", "Deny", resource)
    except JwksUnavailable:
        logger.exception("cannot check tokens")
        raise
    account = str(claims["sub"])
    username = str(claims.get("email") or claims.get("cognito:username") or "")
    return policy(account, "Allow", resource, {ACCOUNT_ID_KEY: account, "username": username})
