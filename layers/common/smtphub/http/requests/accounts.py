"""Request models of the /auth routes."""

from __future__ import annotations

from pydantic import Field

from smtphub.http.fields import LoginName, LoginPassword
from smtphub.http.requests import RequestModel


class Login(RequestModel):
    """POST /auth/login. A wrong username is Cognito's to refuse (403), so it is not checked as an e-mail."""

    username: LoginName = Field(description="The account's username (its e-mail address).")
    password: LoginPassword = Field(repr=False, description="The account's password.")
