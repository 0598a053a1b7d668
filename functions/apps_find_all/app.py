"""GET /private/apps/findAll: the caller's apps, one page at a time."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import APP_PAGE
from smtphub.services import app_service


@api(APP_PAGE)
def lambda_handler(request: Request) -> dict[str, Any]:
    params = request.params
    return app_service().find_all(request.account_id, params.get("page", 0), params.get("size", 20))
