"""The JSON of POST /auth/login."""

from typing import TYPE_CHECKING

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from smtphub.accounts.service import LoginResult


class LoginResultJson(TypedDict):
    token: str
    """The Cognito ID token (a JWT): `Authorization: Bearer <token>`."""
    role: str
    userId: str
    """The account id (the token's `sub`)."""
    username: str
    clientId: str
    """The app client the token is for."""


def login_json(result: "LoginResult") -> LoginResultJson:
    return {
        "token": result.token,
        "role": result.role,
        "userId": result.user_id,
        "username": result.username,
        "clientId": result.client_id,
    }
