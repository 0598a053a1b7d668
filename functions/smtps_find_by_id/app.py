"""GET /private/smtps/findById: one SMTP server.

Another account's server is answered as a missing one.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpById
from smtphub.http.responses.smtps import SmtpJson, smtp_json


@api(SmtpById)
def lambda_handler(request: Request[SmtpById]) -> SmtpJson:
    return smtp_json(wiring.smtp_service().find(request.params.command(request.account_id)))
