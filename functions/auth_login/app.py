"""POST /auth/login: log in: a token for `Authorization: Bearer` on every /private call.

Public. `token` is the account's Cognito ID token (a JWT); send it as `Authorization: Bearer <token>`. A
wrong username or password is a 403, and so is an account that needs a sign-in step this API does not
offer (`challenge` names it). Too many attempts: 429, from API Gateway's limit on this route or from
Cognito (then with `Retry-After`).
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.accounts import Login
from smtphub.http.responses.accounts import LoginResultJson, login_json


@api(Login, public=True)
def lambda_handler(request: Request[Login]) -> LoginResultJson:
    params = request.params
    return login_json(wiring.account_service().login(params.username, params.password, request.source_ip))
