"""GET /private/smtps/history: an SMTP server's last check results (at most 50), newest first."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.checks import SmtpHistory
from smtphub.http.responses import history_json


@api(SmtpHistory)
def lambda_handler(request: Request[SmtpHistory]) -> list[dict[str, Any]]:
    ref, limit = request.params.command(request.account_id)
    return history_json(wiring.history_service().latest(ref, limit))
