"""HealthQueue: probe each SMTP server due (no message sent), record the result, alert on changes.

Answers `batchItemFailures` (ReportBatchItemFailures) with the messages that could not be handled; see
smtphub.health.worker.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wiring.health_worker().handle(event)
