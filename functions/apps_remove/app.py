"""POST /private/apps/remove: remove an app, its SMTP servers and their passwords.

The servers' passwords are deleted from Secrets Manager right after, through the SMTP table's stream. A
server moved to another app while the removal runs stays, with that app. A removal that fails half way,
or keeps losing to concurrent writes to the app's servers (`CONFLICT`), leaves the app flagged, so that
no server can be added to it: a retry finishes it.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppById


@api(AppById)
def lambda_handler(request: Request[AppById]) -> None:
    wiring.app_service().remove(request.params.command(request.account_id))
