"""POST /private/auth/logout: log out everywhere: every token of the account issued before now stops working.

Takes no parameters. Every token of the caller's account issued before this call, the one it was made
with included, is refused (403) from then on, once API Gateway's cache of the authorizer's earlier
answers has expired (the template's `AuthorizerCacheTtl`). A login after it gets a token that works.
"""

# When exactly: smtphub.accounts.service, and README, "Accounts and tokens".
from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests import NoParams


@api(NoParams)
def lambda_handler(request: Request[NoParams]) -> None:
    wiring.account_service().logout(request.account_id)
