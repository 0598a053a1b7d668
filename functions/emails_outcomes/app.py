"""EmailsTable stream: announce each e-mail that reached F or E, once (the `sending_finished` or
`sending_error` webhook, and the `Email sent` or `Email failed` event).

Answers `batchItemFailures` (ReportBatchItemFailures) with the records whose outcome could not be
announced; see smtphub.webhooks.outcomes.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger
from smtphub.webhooks.outcomes import announce


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return announce(event, wiring.app_repository(), wiring.notified(), wiring.outbox())
