"""POST /private/emails/send: queue an e-mail of one of the account's apps through the app's SMTP servers.

Multipart (the Java client's way: text parts in their own charset, files as parts named `attachments`), a
form or JSON; up to API Gateway's 10 MB of request, of which Lambda takes about 4.5 MB of multipart (README,
"Sending", *Limits*). Answers the sending result with `status` `Q` and `inittime`, when sending is expected to
start: now, `senddate`, or later when the app's `timebetweenemails` makes it wait. Recipients that are not
addresses are skipped and listed in `notvalidrecipients`; every TO invalid is a 406. An `Idempotency-Key`
header makes retries safe: the same key from the same account within 24 hours answers the first result and
sends nothing again; the same key with another request is a 406 `IDEMPOTENCY_KEY_REUSED`. Each recipient
(TO, CC, BCC) counts toward the account's monthly limit (the template's `MonthlyEmailLimit`).
"""

from smtphub import wiring
from smtphub.emails.models import Caller
from smtphub.http import Request, api
from smtphub.http.requests.emails import EmailSend
from smtphub.http.responses.emails import SendingResultJson, sending_result_json


@api(EmailSend)
def lambda_handler(request: Request[EmailSend]) -> SendingResultJson:
    params, caller = request.params, Caller(request.source_ip, request.origin)
    command = params.command(request.account_id)
    result = wiring.send_service().send(command, caller, params.idempotency_key, request.remaining_ms)
    return sending_result_json(result)
