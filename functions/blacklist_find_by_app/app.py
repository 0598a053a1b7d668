"""GET /private/blacklist/findByApp: the app's blacklist, one page at a time, by address.

A Spring Data page of entries. Upstream documents two pages here (`blacklisted`, `autoblacklisted`); the
contract's one page holds both, each entry saying in `addedby` how it was added (`ACCOUNT`, `RECIPIENT`,
`AUTOMATIC`).
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.blacklists import BlacklistPageRequest
from smtphub.http.responses.blacklists import EntryPageJson, entry_page_json


@api(BlacklistPageRequest)
def lambda_handler(request: Request[BlacklistPageRequest]) -> EntryPageJson:
    return entry_page_json(wiring.blacklist_service().find_by_app(request.params.command(request.account_id)))
