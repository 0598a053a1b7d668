"""POST /auth/login (public): username and password in, a Cognito ID token out. 403 on wrong credentials."""

from typing import Any

from smtphub.accounts import account_service
from smtphub.http import Request, api
from smtphub.params import LOGIN


@api(LOGIN, public=True)
def lambda_handler(request: Request) -> dict[str, Any]:
    params = request.params
    return account_service().login(params["username"], params["password"], request.source_ip)
