"""GET, POST /public/blacklist/unsubscribe: a recipient stops an app's e-mails (public: no Authorization).

The link of an e-mail sent with `includeunregisterlink`, also in its `List-Unsubscribe` header (RFC 8058).
GET shows a confirmation page whose button POSTs; a POST (the button, or a mail client's one-click
`List-Unsubscribe=One-Click`) lists the recipient in the app's blacklist as added by the recipient, which
the account cannot remove, and fires `blacklisted_added`. GET never unsubscribes (link scanners fetch
it). A bad, altered or expired token: 404 and a plain page.
"""

from smtphub import wiring
from smtphub.http.public import Event, Response, page, public
from smtphub.tracking.models import Visit

TITLE = "Unsubscribe"


def not_found() -> Response:
    return page(404, "Link not found", "This unsubscribe link is not valid, or it has expired.")


def failed() -> Response:
    return page(500, TITLE, "Something went wrong. Please try again in a few minutes.")


@public(failed)
def lambda_handler(visit: Visit, event: Event) -> Response:
    service = wiring.tracking_service()
    if str(event.get("httpMethod")).upper() == "POST":
        if visit.token and service.unsubscribe(visit):
            return page(200, "Unsubscribed", "You will not receive these e-mails any more.")
        return not_found()
    if visit.token and service.may_unsubscribe(visit):
        text = "Stop receiving these e-mails at this address?"
        return page(200, TITLE, text, button=TITLE)
    return not_found()
