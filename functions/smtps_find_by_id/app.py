"""GET /private/smtps/findById: one SMTP server."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpById
from smtphub.http.responses import smtp_json


@api(SmtpById)
def lambda_handler(request: Request[SmtpById]) -> dict[str, Any]:
    return smtp_json(wiring.smtp_service().find(request.params.command(request.account_id)))
