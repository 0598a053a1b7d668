"""GET /private/smtps/findByApp: an app's SMTP servers, by priority then creation."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpsByApp
from smtphub.http.responses import smtps_json


@api(SmtpsByApp)
def lambda_handler(request: Request[SmtpsByApp]) -> list[dict[str, Any]]:
    return smtps_json(wiring.smtp_service().list_by_app(request.account_id, request.params.app_id))
