"""GET /private/blacklist/isBlackListed: whether the app lists an address.

The body is `true` or `false`, as upstream: read as text or as JSON, the same.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.blacklists import BlacklistEntry


@api(BlacklistEntry)
def lambda_handler(request: Request[BlacklistEntry]) -> bool:
    return wiring.blacklist_service().is_listed(request.params.command(request.account_id))
