"""GET /private/logs/findByEMail: the log of one of the account's e-mails, oldest first.

One row per attempt per recipient (upstream's LogDTO), with the SMTP reply code and text that decided it. An
empty array while nothing was attempted. Another account's e-mail is `Email not found`.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.emails import EmailById
from smtphub.http.responses.emails import LogJson, logs_json


@api(EmailById)
def lambda_handler(request: Request[EmailById]) -> list[LogJson]:
    return logs_json(wiring.email_service().logs_of(request.params.command(request.account_id)))
