"""POST /private/smtps/check: check an SMTP server, `mode` send (one real test e-mail, the default) or probe
(up to RCPT, no message); or try a server's settings without saving them. 200 with an empty body.

A failed check is a 406 SMTP_CHECK_FAILED with `stage`, `code` and `message`; see smtphub.check.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.checks import SmtpCheck


@api(SmtpCheck)
def lambda_handler(request: Request[SmtpCheck]) -> None:
    wiring.check_service().check(request.params.command(request.account_id))
