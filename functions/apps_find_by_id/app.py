"""GET /private/apps/findById: one app."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import APP_BY_ID
from smtphub.services import app_service


@api(APP_BY_ID)
def lambda_handler(request: Request) -> dict[str, Any]:
    return app_service().find_by_id(request.account_id, request.params["idapp"])
