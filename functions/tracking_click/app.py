"""GET /public/tracking/click: a tracked link of an e-mail (public: no Authorization).

A valid token redirects (302) to the link it names, the one that was in the message, and records the
recipient's first click of that link (`tracking_clicked`). A bad, altered or expired token redirects
nowhere: 404 and a plain page.
"""

from smtphub import wiring
from smtphub.http.public import Event, Response, page, public, redirect
from smtphub.tracking.models import Visit


def not_found() -> Response:
    return page(404, "Link not found", "This link is not valid, or it has expired.")


@public(not_found)
def lambda_handler(visit: Visit, event: Event) -> Response:
    url = wiring.tracking_service().clicked(visit) if visit.token else None
    return redirect(url) if url else not_found()
