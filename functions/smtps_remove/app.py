"""POST /private/smtps/remove: delete an SMTP server and its password. 200 with an empty body."""

from smtphub.http import Request, api
from smtphub.params import SMTP_TARGET, smtp_target
from smtphub.services import smtp_service


@api(SMTP_TARGET)
def lambda_handler(request: Request) -> None:
    smtp_service().remove(request.account_id, smtp_target(request.params))
