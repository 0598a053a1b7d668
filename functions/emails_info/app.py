"""GET /private/emails/info: one of the account's e-mails, with its log and opens.

The sending result (`status`: `Q` queued, `R` being sent, `F` finished, `E` failed, `C` cancelled) with
`finishtime`, `log` (every attempt's outcome per recipient, as logs/findByEMail) and `opened`. Another
account's e-mail is `Email not found`, as a missing one.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.emails import EmailById
from smtphub.http.responses.emails import EmailInfoJson, email_info_json


@api(EmailById)
def lambda_handler(request: Request[EmailById]) -> EmailInfoJson:
    return email_info_json(wiring.email_service().info(request.params.command(request.account_id)))
