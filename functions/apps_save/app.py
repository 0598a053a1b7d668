"""POST /private/apps/save: create an app (`name`), or edit one (`idapp`) keeping what is omitted.

Without `idapp` this creates an app and `name` is required. With `idapp` it edits that app; omitted
fields keep their value. `name` is unique among the account's apps (case-insensitively). An account has a
number of apps at most (the template's `AppsPerAccount`, 50 by default): a create beyond it is a 406
`QUOTA_EXCEEDED` naming the quota.

Webhooks are signed with the app's webhook secret: `webhooksecret` sets it; without one, the save that
leaves the app with a webhook URL and no secret generates it, and this answer's `webhooksecret` shows it,
the only time it is ever shown (store it in the receiver). Every other answer has `webhooksecret` null.
"""

# A new app's test recipient and sender default to the caller's e-mail (the authorizer's context).
from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.apps import AppSave
from smtphub.http.responses.apps import AppSavedJson, app_saved_json


@api(AppSave)
def lambda_handler(request: Request[AppSave]) -> AppSavedJson:
    command = request.params.command(request.account_id, request.account_email)
    return app_saved_json(wiring.app_service().save(command))
