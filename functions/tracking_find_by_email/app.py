"""GET /private/tracking/findByEMail: the opens and clicks of an e-mail.

Upstream's TrackingDTO list, oldest first: each recipient's first open (`OPEN`), and each recipient's first
click of each link (`CLICK`, with `url`). Kept as long as the e-mail (30 days after it finished), removed
with it by emails/remove.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.tracking import EmailById
from smtphub.http.responses.tracking import TrackingJson, tracking_json


@api(EmailById)
def lambda_handler(request: Request[EmailById]) -> list[TrackingJson]:
    events = wiring.tracking_service().find(request.params.command(request.account_id))
    return [tracking_json(event) for event in events]
