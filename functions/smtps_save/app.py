"""POST /private/smtps/save: create an SMTP server, or edit one (idsmtp) keeping what is omitted."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import SMTP_SAVE, smtp_save_rules
from smtphub.services import smtp_service


@api(SMTP_SAVE, rules=smtp_save_rules)
def lambda_handler(request: Request) -> dict[str, Any]:
    return smtp_service().save(request.account_id, request.params)
