"""Accounts: logging in against the Cognito user pool (`POST /auth/login`).

The pool's app client allows `ALLOW_ADMIN_USER_PASSWORD_AUTH` (and refresh), not `ALLOW_USER_PASSWORD_AUTH`:
password logins go through `AdminInitiateAuth`, an IAM-authorized call that only the login function's role
may make (`cognito-idp:AdminInitiateAuth` on this one pool). With plain `USER_PASSWORD_AUTH` anyone holding
the (public) client id could try passwords against Cognito directly, around this API's throttling; the
admin flow also lets the function hand Cognito the caller's IP address for threat protection.

The password is passed to Cognito and nowhere else: never logged, never kept. Cognito's own answers
become domain errors here (by error code), the HTTP edge turns them into the contract's 403 and 429.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from smtphub import aws
from smtphub.errors import Forbidden, TooManyRequests

ROLE = "user"
AUTH_FLOW = "ADMIN_USER_PASSWORD_AUTH"
LOGIN_PATH = "/auth/login"

WRONG_CREDENTIALS = "Incorrect username or password"
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 - Cognito's challenge name  # nosec B105

# Cognito error code -> the 403's message. NotAuthorized covers a wrong password, a disabled user, a
# sign-in blocked by threat protection and too many failed attempts: all the same to the caller.
_REFUSED = {
    "NotAuthorizedException": WRONG_CREDENTIALS,
    "UserNotFoundException": WRONG_CREDENTIALS,  # only when the pool does not hide unknown users
    "UserNotConfirmedException": "This account is not confirmed yet",
    "PasswordResetRequiredException": "This account's password was reset: an administrator must set one",
}
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException"})

# botocore logs every request and response body at DEBUG: the password on the way in, the tokens on the way
# out. Those records are dropped at their source so that no log level can bring them back.
_CHATTY_LOGGERS = ("botocore.endpoint", "botocore.parsers")


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _quiet_botocore() -> None:
    for name in _CHATTY_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, _DropDebug) for existing in target.filters):
            target.addFilter(_DropDebug())


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT *without* checking it: only for a token Cognito has just handed us over TLS."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        raise ValueError("Cognito returned a token that is not a JWT") from None
    if not isinstance(claims, dict):
        raise ValueError("Cognito returned a token that is not a JWT")
    return claims


@dataclass(frozen=True, slots=True)
class CognitoSettings:
    """The pool and app client, as template.yaml passes them to the login function."""

    user_pool_id: str
    client_id: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CognitoSettings:
        missing = [name for name in ("USER_POOL_ID", "USER_POOL_CLIENT_ID") if not environ.get(name)]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        return cls(user_pool_id=environ["USER_POOL_ID"], client_id=environ["USER_POOL_CLIENT_ID"])


class CognitoRepository:
    """The user pool. Handed its client (tests pass a moto-backed one); builds the default on first use."""

    def __init__(self, client: Any | None, user_pool_id: str, client_id: str) -> None:
        self._client = client
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("cognito-idp")
        return self._client

    def authenticate(self, username: str, password: str, source_ip: str | None = None) -> str:
        """The ID token of a correct username and password; Forbidden or TooManyRequests otherwise."""
        request: dict[str, Any] = {
            "UserPoolId": self.user_pool_id,
            "ClientId": self.client_id,
            "AuthFlow": AUTH_FLOW,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }
        if source_ip:
            # What threat protection judges the sign-in by (otherwise it would see the function's address).
            request["ContextData"] = {
                "IpAddress": source_ip,
                "ServerName": os.environ.get("POWERTOOLS_SERVICE_NAME", "smtp-hub"),
                "ServerPath": LOGIN_PATH,
                "HttpHeaders": [],
            }
        _quiet_botocore()
        try:
            answer = self.client.admin_initiate_auth(**request)
        except Exception as error:
            code = _code(error)
            if code in _REFUSED:
                raise Forbidden(_REFUSED[code]) from None
            if code in _THROTTLED:
                raise TooManyRequests("Too many login attempts; retry later") from None
            raise
        challenge = answer.get("ChallengeName")
        if challenge == NEW_PASSWORD_REQUIRED:
            raise Forbidden(
                "This account still has its temporary password: an administrator must set a permanent one",
                challenge=NEW_PASSWORD_REQUIRED,
            )
        if challenge:
            raise Forbidden(
                "This account needs a sign-in step this API does not offer", challenge=str(challenge)
            )
        return str(answer["AuthenticationResult"]["IdToken"])


class AccountService:
    def __init__(self, cognito: CognitoRepository) -> None:
        self.cognito = cognito

    def login(self, username: str, password: str, source_ip: str | None = None) -> dict[str, Any]:
        """The contract's login answer: the ID token, the account id (`sub`) and the app client."""
        token = self.cognito.authenticate(username, password, source_ip)
        claims = token_claims(token)
        return {
            "token": token,
            "role": ROLE,
            "userId": str(claims["sub"]),
            "username": str(claims.get("email") or username),
            "clientId": self.cognito.client_id,
        }


# --- Default instance for Lambda: built on first use, once per container -------------------------


@cache
def account_service() -> AccountService:
    settings = CognitoSettings.from_environ(os.environ)
    return AccountService(CognitoRepository(None, settings.user_pool_id, settings.client_id))


def reset() -> None:
    """Forget the cached service and clients (tests call this between cases)."""
    account_service.cache_clear()
    aws.reset()
