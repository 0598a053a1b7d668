"""POST /private/apps/remove: delete an app with its SMTP servers and their passwords. Empty 200."""

from smtphub.http import Request, api
from smtphub.params import APP_BY_ID
from smtphub.services import app_service


@api(APP_BY_ID)
def lambda_handler(request: Request) -> None:
    app_service().remove(request.account_id, request.params["idapp"])
