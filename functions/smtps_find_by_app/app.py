"""GET /private/smtps/findByApp: an app's SMTP servers, by priority then creation."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import SMTP_BY_APP
from smtphub.services import smtp_service


@api(SMTP_BY_APP)
def lambda_handler(request: Request) -> list[dict[str, Any]]:
    return smtp_service().find_by_app(request.account_id, request.params["idapp"])
