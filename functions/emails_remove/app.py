"""POST /private/emails/remove: delete a finished, failed or cancelled e-mail, its log and its content.

Only once it is `F`, `E` or `C` (406 `EMAIL_NOT_REMOVABLE` before). Without it, the e-mail and its log are
deleted 30 days after it finished.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.emails import EmailById


@api(EmailById)
def lambda_handler(request: Request[EmailById]) -> None:
    wiring.email_service().remove(request.params.command(request.account_id))
