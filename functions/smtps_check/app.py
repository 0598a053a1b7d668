"""POST /private/smtps/check: send one real test e-mail through an SMTP server. 200 with an empty body.

A failed check is a 406 SMTP_CHECK_FAILED with `stage`, `code` and `message`; see smtphub.check.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpTarget


@api(SmtpTarget)
def lambda_handler(request: Request[SmtpTarget]) -> None:
    wiring.check_service().check(request.params.command(request.account_id))
