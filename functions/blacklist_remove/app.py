"""POST /private/blacklist/remove: send to an address from the app again.

An address the recipient listed by unsubscribing cannot be removed (406 `LISTED_BY_RECIPIENT`, upstream's
words): only the recipient's consent could undo it.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.blacklists import BlacklistEntry


@api(BlacklistEntry)
def lambda_handler(request: Request[BlacklistEntry]) -> None:
    wiring.blacklist_service().remove(request.params.command(request.account_id))
