"""POST /private/smtps/check: send one real test e-mail through an SMTP server. 200 with an empty body.

A failed check is a 406 SMTP_CHECK_FAILED with `stage`, `code` and `message`; see smtphub.check.
"""

from smtphub.check import check_service
from smtphub.http import Request, api
from smtphub.params import SMTP_TARGET, smtp_target


@api(SMTP_TARGET)
def lambda_handler(request: Request) -> None:
    check_service().check(request.account_id, smtp_target(request.params))
