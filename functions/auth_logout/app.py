"""POST /private/auth/logout: every token of the caller's account issued before now stops working.

200 with an empty body. See smtphub.accounts.service for when exactly, and README, "Accounts and tokens".
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests import NoParams


@api(NoParams)
def lambda_handler(request: Request[NoParams]) -> None:
    wiring.account_service().logout(request.account_id)
