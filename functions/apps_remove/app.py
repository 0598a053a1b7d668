"""POST /private/apps/remove: delete an app with its SMTP servers and their passwords. Empty 200."""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppById


@api(AppById)
def lambda_handler(request: Request[AppById]) -> None:
    wiring.app_service().remove(request.params.command(request.account_id))
