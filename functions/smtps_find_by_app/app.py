"""GET /private/smtps/findByApp: an app's SMTP servers, by `priority` (lower first) then creation.

Another account's app, and an app being removed, are answered as a missing one.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpsByApp
from smtphub.http.responses.smtps import SmtpJson, smtps_json


@api(SmtpsByApp)
def lambda_handler(request: Request[SmtpsByApp]) -> list[SmtpJson]:
    return smtps_json(wiring.smtp_service().list_by_app(request.account_id, request.params.app_id))
