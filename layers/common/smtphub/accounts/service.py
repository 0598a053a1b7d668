"""Accounts: `POST /auth/login` (a Cognito ID token for a username and password) and
`POST /private/auth/logout` (every token of the caller's account issued before now stops working).

**Revocation.** An ID token is checked offline by the authorizer (signature, expiry, ...), so Cognito cannot
take one back. Logout stores instead, per account, `revokedBefore`: the authorizer refuses a token whose
`auth_time` (the second of the login it came from) is earlier. Token times are whole seconds, so the
boundary is the *next* second: a logout at 1000.4 stores 1001, which refuses every token of second 1000,
including one issued at 1000.2, before the logout. A login at 1000.7 would also get `auth_time` 1000 and be
refused; so logout answers only once the clock has reached the boundary (at most a second later), and any
login made after its answer gets an `auth_time` of 1001 or more, which works.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smtphub.accounts.repository import AccountsRepository, CognitoRepository

ROLE = "user"


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
class LoginResult:
    """What a login hands back (the contract's `token`, `role`, `userId`, `username`, `clientId`)."""

    token: str  # the pool's ID token
    role: str
    user_id: str  # the account id: the token's `sub`
    username: str
    client_id: str  # the app client the token is for


def revocation_boundary(now: float) -> int:
    """`revokedBefore` for a logout at `now`: the next whole second (see the module's docstring)."""
    return math.floor(now) + 1


class AccountService:
    def __init__(
        self,
        cognito: CognitoRepository,
        accounts: AccountsRepository,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cognito = cognito
        self.accounts = accounts
        self.clock = clock
        self.sleep = sleep

    def login(self, username: str, password: str, source_ip: str | None = None) -> LoginResult:
        """The ID token of a correct username and password, with the account id (`sub`) and the client."""
        token = self.cognito.authenticate(username, password, source_ip)
        claims = token_claims(token)
        return LoginResult(
            token=token,
            role=ROLE,
            user_id=str(claims["sub"]),
            username=str(claims.get("email") or username),
            client_id=self.cognito.client_id,
        )

    def logout(self, account_id: str) -> None:
        """Every token of the account issued before now is refused by the authorizer (once API Gateway's
        cache of its earlier answers has expired). Returns once a new login would not be refused too."""
        boundary = revocation_boundary(self.clock())
        self.accounts.revoke_tokens_before(account_id, boundary)
        wait = boundary - self.clock()
        if wait > 0:
            self.sleep(wait)
