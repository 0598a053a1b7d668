"""POST /private/emails/cancel: cancel a queued e-mail; it is never sent.

Only while it is queued (`Q`, including one waiting for its `senddate`); one being sent or done is a 406
`EMAIL_NOT_CANCELLABLE`. Answers the sending result with `status` `C`. Its content is deleted at once unless
the app keeps data (`retaindata`).
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.emails import EmailById
from smtphub.http.responses.emails import SendingResultJson, sending_result_json


@api(EmailById)
def lambda_handler(request: Request[EmailById]) -> SendingResultJson:
    return sending_result_json(wiring.email_service().cancel(request.params.command(request.account_id)))
