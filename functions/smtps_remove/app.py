"""POST /private/smtps/remove: delete an SMTP server and its password. 200 with an empty body."""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpTarget


@api(SmtpTarget)
def lambda_handler(request: Request[SmtpTarget]) -> None:
    wiring.smtp_service().remove(request.params.command(request.account_id))
