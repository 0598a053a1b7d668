"""GET /private/apps/findAll: the caller's apps, one page at a time (a Spring Data page)."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppPageRequest
from smtphub.http.responses import app_page_json


@api(AppPageRequest)
def lambda_handler(request: Request[AppPageRequest]) -> dict[str, Any]:
    return app_page_json(wiring.app_service().list(request.params.command(request.account_id)))
