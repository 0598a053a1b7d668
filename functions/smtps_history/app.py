"""GET /private/smtps/history: the SMTP server's last check results, newest first.

Manual checks and scheduled probes alike, at most the last 50, each kept 30 days. Another account's
server is answered as a missing one.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.checks import SmtpHistory
from smtphub.http.responses.checks import CheckResultJson, history_json


@api(SmtpHistory)
def lambda_handler(request: Request[SmtpHistory]) -> list[CheckResultJson]:
    ref, limit = request.params.command(request.account_id)
    return history_json(wiring.history_service().latest(ref, limit))
