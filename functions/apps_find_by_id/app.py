"""GET /private/apps/findById: one app."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppById
from smtphub.http.responses import app_json


@api(AppById)
def lambda_handler(request: Request[AppById]) -> dict[str, Any]:
    return app_json(wiring.app_service().find(request.params.command(request.account_id)))
