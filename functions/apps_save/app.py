"""POST /private/apps/save: create an app (`name`), or edit one (`idapp`) keeping what is omitted.

Without `idapp` this creates an app and `name` is required. With `idapp` it edits that app; omitted
fields keep their value. `name` is unique among the account's apps (case-insensitively). An account has a
number of apps at most (the template's `AppsPerAccount`, 50 by default): a create beyond it is a 406
`QUOTA_EXCEEDED` naming the quota.
"""

# A new app's test recipient and sender default to the caller's e-mail (the authorizer's context).
from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppSave
from smtphub.http.responses.apps import AppJson, app_json


@api(AppSave)
def lambda_handler(request: Request[AppSave]) -> AppJson:
    command = request.params.command(request.account_id, request.account_email)
    return app_json(wiring.app_service().save(command))
