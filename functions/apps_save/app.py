"""POST /private/apps/save: create an app (name), or edit one (idapp) keeping what is omitted."""

from typing import Any

from smtphub.http import Request, api
from smtphub.params import APP_SAVE, app_save_rules
from smtphub.services import app_service


@api(APP_SAVE, rules=app_save_rules)
def lambda_handler(request: Request) -> dict[str, Any]:
    return app_service().save(request.account_id, request.params)
