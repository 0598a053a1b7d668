"""POST /private/blacklist/add: stop sending to an address from the app.

The app's e-mails skip a listed recipient when the app has `useblacklist` (emails/send lists it in
`blacklisted`). The address is compared without regard to case. Adding an address already listed changes
nothing and answers the entry there. A new entry fires `blacklisted_added` (the app's webhook and
EventBridge).
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.blacklists import BlacklistEntry
from smtphub.http.responses.blacklists import EntryJson, entry_json


@api(BlacklistEntry)
def lambda_handler(request: Request[BlacklistEntry]) -> EntryJson:
    command = request.params.addition(request.account_id, request.source_ip)
    return entry_json(wiring.blacklist_service().add(command))
