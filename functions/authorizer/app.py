"""TOKEN authorizer of every /private route: is the Bearer token a live ID token of this API's user pool?

API Gateway calls it only when the Authorization header matches template.yaml's validation expression,
`^[Bb][Ee][Aa][Rr][Ee][Rr] +[-0-9a-zA-Z._~+/]+=*$` (the scheme in any case, RFC 7235; anything else, or no
header, is a 401 before any code runs) and caches its answer per token. The token must be an RS256 JWT
signed by one of the pool's keys (its JWKS, fetched once per container), unexpired, issued by the pool
(`iss`), for the API's app client (`aud`) and an ID token (`token_use` = id). Then, and only then, the
account's item in the accounts table is read: a token whose `auth_time` (else `iat`) is earlier than the
account's `revokedBefore` (set by POST /private/auth/logout or an administrator) was revoked. Allow passes
the account id (`sub`) and the username in the context, where every handler reads the account from;
anything else is a Deny, which API Gateway answers with 403. The token itself is never logged. When the
keys or the table cannot be read, the function raises: API Gateway answers 500 and caches nothing, where a
Deny would stick to a valid token for the cache's lifetime (fail closed, not cached).

Deliberately small: PyJWT with `cryptography` for RS256 (this function's own requirements.txt; cryptography's
compiled OpenSSL bindings are most of the package's size) and the standard library, no boto3, no pydantic,
nothing from the shared layer, so that the function on the path of every uncached call starts fast.
The one DynamoDB call (GetItem) is therefore signed here (AWS Signature Version 4, checked against botocore's
signer by the tests) and sent over a kept-alive HTTPS connection: importing boto3 and building a client would
cost every new container ~150 ms on its first request, more than this whole function's cold start.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import math
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

# Where handlers find the caller's account (smtphub.http.ACCOUNT_ID_KEY; not imported, see above).
ACCOUNT_ID_KEY = "accountId"
# The scheme in any case (RFC 7235), one or more spaces, a token68: template.yaml's ValidationExpression.
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([-0-9a-zA-Z._~+/]+=*)")
ALGORITHMS = ["RS256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "token_use"]
LEEWAY_SECONDS = 5  # clock skew tolerated on exp and iat
JWKS_TIMEOUT_SECONDS = 3
# The accounts table (smtphub/accounts/repository.py writes it): key pk = "account#<sub>".
ACCOUNT_KEY_PREFIX = "account#"
REVOKED_BEFORE = "revokedBefore"
DYNAMODB_TIMEOUT_SECONDS = 1.0  # per attempt; DynamoDB answers a GetItem in milliseconds
DYNAMODB_ATTEMPTS = 3  # as botocore's standard retry mode
DYNAMODB_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)

JwksFetch = Callable[[str], Mapping[str, Any]]

logger = logging.getLogger("smtp-hub.authorizer")


class InvalidToken(Exception):
    """The token is not a valid ID token of the pool: a Deny (the reason is logged, never the token)."""


class JwksUnavailable(Exception):
    """The pool's keys could not be fetched: an error (API Gateway's 500), never a cached Deny."""


class RevocationsUnavailable(Exception):
    """The accounts table could not be read: an error (API Gateway's 500), never a cached Deny."""


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
            except Exception as error:  # any failure: an error (a 500), not a cached Deny; its trace logged
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


# --- Revocations: the accounts table, read with a request signed here ----------------------------------


class Revocations(Protocol):
    def revoked_before(self, account_id: str) -> int | None:
        """The account's revokedBefore (epoch seconds), None when its tokens were never revoked."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sigv4_headers(
    *,
    host: str,
    body: bytes,
    headers: Mapping[str, str],
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    now: float,
) -> dict[str, str]:
    """The headers of a signed `POST /` (AWS Signature Version 4): `headers` plus Host, X-Amz-Date, the
    session token and Authorization, every header signed."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    if session_token:
        signed["x-amz-security-token"] = session_token
    names = sorted(signed)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            _sha256(body),
        ]
    )
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, _sha256(canonical.encode("utf-8"))])
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    answer = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if session_token:
        answer["X-Amz-Security-Token"] = session_token
    answer["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return answer


class AccountsTable:
    """GetItem of an account's revokedBefore: one strongly consistent read of one attribute, over a
    connection kept for the container's life, signed with the function's credentials (its environment)."""

    def __init__(
        self,
        table: str,
        region: str,
        endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float = DYNAMODB_TIMEOUT_SECONDS,
    ) -> None:
        self.table = table
        self.region = region
        url = urllib.parse.urlsplit(endpoint or f"https://dynamodb.{region}.amazonaws.com")
        if url.scheme not in ("https", "http") or not url.hostname:
            raise RuntimeError("the DynamoDB endpoint must be an http(s) URL")
        self._secure = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self.host = url.netloc  # what is signed: the Host header the connection sends
        self._environ = environ  # None: the process environment, read at each call (the runtime's keys)
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()  # one request at a time on the connection (the local runtime threads)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AccountsTable:
        table = environ.get("ACCOUNTS_TABLE", "")
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", "")
        missing = [name for name, value in (("ACCOUNTS_TABLE", table), ("AWS_REGION", region)) if not value]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        endpoint = environ.get("AWS_ENDPOINT_URL_DYNAMODB") or environ.get("AWS_ENDPOINT_URL") or None
        return cls(table, region, endpoint)

    def revoked_before(self, account_id: str) -> int | None:
        document = self._get_item(
            {
                "TableName": self.table,
                "Key": {"pk": {"S": ACCOUNT_KEY_PREFIX + account_id}},
                "ProjectionExpression": "#before",
                "ExpressionAttributeNames": {"#before": REVOKED_BEFORE},
                "ConsistentRead": True,
            }
        )
        item = document.get("Item") or {}
        value = item.get(REVOKED_BEFORE) if isinstance(item, Mapping) else None
        if value is None:
            return None  # no item, or an item without the attribute: never revoked
        try:
            return math.ceil(float(value["N"]))
        except (TypeError, KeyError, ValueError, OverflowError):
            raise RevocationsUnavailable(f"{REVOKED_BEFORE} of the account's item is not a number") from None

    def _credentials(self) -> tuple[str, str, str | None]:
        environ = os.environ if self._environ is None else self._environ
        access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            raise RevocationsUnavailable("no AWS credentials in the environment")
        return access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout)
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _get_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(request, separators=(",", ":")).encode("utf-8")
        problem = "no attempt made"
        with self._lock:
            for attempt in range(DYNAMODB_ATTEMPTS):
                if attempt:
                    time.sleep(0.025 * 2**attempt)  # 50 ms, 100 ms
                access_key, secret_key, token = self._credentials()
                headers = sigv4_headers(
                    host=self.host,
                    body=body,
                    headers={
                        "Content-Type": "application/x-amz-json-1.0",
                        "X-Amz-Target": "DynamoDB_20120810.GetItem",
                    },
                    region=self.region,
                    service="dynamodb",
                    access_key=access_key,
                    secret_key=secret_key,
                    session_token=token,
                    now=time.time(),
                )
                try:
                    connection = self._connect()
                    connection.request("POST", "/", body=body, headers=headers)
                    response = connection.getresponse()
                    status, data = response.status, response.read()
                except (OSError, http.client.HTTPException) as error:
                    # A kept-alive connection the other end closed while the container was frozen, a reset,
                    # a timeout: a new connection next time.
                    self._drop()
                    problem = f"{type(error).__name__} talking to DynamoDB"
                    continue
                try:
                    document = json.loads(data) if data else {}
                except ValueError:
                    document = {}
                if not isinstance(document, dict):
                    document = {}
                if status == 200:
                    return document
                code = str(document.get("__type", "")).rpartition("#")[2] or f"HTTP {status}"
                problem = f"DynamoDB answered {code}"
                if status < 500 and code not in DYNAMODB_RETRYABLE:
                    break
        raise RevocationsUnavailable(problem)


def issued_at(claims: Mapping[str, Any]) -> int:
    """When the token's sign-in happened: `auth_time`, else `iat` (whole seconds, never after `iat`)."""
    iat = claims["iat"]
    value = claims.get("auth_time", iat)
    if not isinstance(value, int) or isinstance(value, bool) or not isinstance(iat, int | float):
        raise InvalidToken("malformed auth_time")
    if value > iat:
        raise InvalidToken("auth_time after iat")
    return value


def check_not_revoked(claims: Mapping[str, Any], revocations: Revocations) -> None:
    """InvalidToken when the token was issued before its account's revokedBefore (revoked with the rest)."""
    issued = issued_at(claims)
    revoked_before = revocations.revoked_before(str(claims["sub"]))
    if revoked_before is not None and issued < revoked_before:
        raise InvalidToken("revoked")


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


# --- The verifier and the revocations of this container: built on first use, or by `configure` --------

_current: dict[str, Any] = {}


def configure(
    fetch: JwksFetch = fetch_jwks,
    environ: Mapping[str, str] | None = None,
    revocations: Revocations | None = None,
) -> TokenVerifier:
    """Build the verifier and the revocation lookup now, e.g. with a fetch that serves moto's keys (tests,
    the local runtime) or another lookup of revocations (tests under moto's in-process mock)."""
    environ = os.environ if environ is None else environ
    verifier = TokenVerifier(PoolSettings.from_environ(environ), fetch)
    _current["verifier"] = verifier
    _current["revocations"] = revocations if revocations is not None else AccountsTable.from_environ(environ)
    return verifier


def verifier() -> TokenVerifier:
    if "verifier" not in _current:
        configure()
    found: TokenVerifier = _current["verifier"]
    return found


def revocations() -> Revocations:
    if "revocations" not in _current:
        configure()
    found: Revocations = _current["revocations"]
    return found


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
        check_not_revoked(claims, revocations())
    except InvalidToken as refused:
        logger.info("token refused", extra={"reason": str(refused)})
        return policy("anonymous", "Deny", resource)
    except (JwksUnavailable, RevocationsUnavailable):
        logger.exception("cannot check tokens")
        raise
    account = str(claims["sub"])
    username = str(claims.get("email") or claims.get("cognito:username") or "")
    return policy(account, "Allow", resource, {ACCOUNT_ID_KEY: account, "username": username})
