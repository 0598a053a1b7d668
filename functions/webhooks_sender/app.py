"""WebhookQueue: POST each webhook delivery due, signed, to its app's URL; retry what failed later, for a
day, then the dead-letter queue.

Answers `batchItemFailures` (ReportBatchItemFailures) with the messages that could not be handled; see
smtphub.webhooks.sender.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wiring.webhook_sender().handle(event)
