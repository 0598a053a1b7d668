"""POST /private/apps/save: create an app (name), or edit one (idapp) keeping what is omitted.

A new app's test recipient and sender default to the caller's e-mail (the authorizer's context).
"""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppSave
from smtphub.http.responses import app_json


@api(AppSave)
def lambda_handler(request: Request[AppSave]) -> dict[str, Any]:
    command = request.params.command(request.account_id, request.account_email)
    return app_json(wiring.app_service().save(command))
