"""GET /private/apps/findAll: the account's apps, one page at a time, oldest first.

A Spring Data page, as upstream's clients parse it.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppPageRequest
from smtphub.http.responses.apps import AppPageJson, app_page_json


@api(AppPageRequest)
def lambda_handler(request: Request[AppPageRequest]) -> AppPageJson:
    return app_page_json(wiring.app_service().list(request.params.command(request.account_id)))
