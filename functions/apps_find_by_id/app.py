"""GET /private/apps/findById: one app.

Another account's app is answered as a missing one.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppById
from smtphub.http.responses.apps import AppJson, app_json


@api(AppById)
def lambda_handler(request: Request[AppById]) -> AppJson:
    return app_json(wiring.app_service().find(request.params.command(request.account_id)))
