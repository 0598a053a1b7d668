"""GET /public/tracking/open: the open pixel of a tracked e-mail (public: no Authorization).

Answers a 1x1 transparent GIF that no cache keeps, whatever the token: a valid one records the recipient's
first open of the e-mail and fires `tracking_opened`; a bad, altered or expired one records nothing.
"""

from smtphub import wiring
from smtphub.http.public import Event, Response, pixel, public
from smtphub.tracking.models import Visit


@public(pixel)
def lambda_handler(visit: Visit, event: Event) -> Response:
    if visit.token:
        wiring.tracking_service().opened(visit)
    return pixel()
