"""GET /private/smtps/findById: one SMTP server."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import SMTP_BY_ID
from smtphub.services import smtp_service


@api(SMTP_BY_ID)
def lambda_handler(request: Request) -> dict[str, Any]:
    return smtp_service().find_by_id(request.account_id, request.params["idsmtp"])
