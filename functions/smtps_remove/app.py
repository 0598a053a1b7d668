"""POST /private/smtps/remove: remove an SMTP server and its password.

Its password's secret is scheduled for deletion right after, through the SMTP table's stream.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpTarget


@api(SmtpTarget)
def lambda_handler(request: Request[SmtpTarget]) -> None:
    wiring.smtp_service().remove(request.params.command(request.account_id))
