"""POST /auth/login (public): username and password in, a Cognito ID token out. 403 on wrong credentials."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.accounts import Login
from smtphub.http.responses import login_json


@api(Login, public=True)
def lambda_handler(request: Request[Login]) -> dict[str, Any]:
    params = request.params
    return login_json(wiring.account_service().login(params.username, params.password, request.source_ip))
