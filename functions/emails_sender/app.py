"""SendQueue: send each e-mail named by a message through its app's servers (smtphub.sending.sender).

Answers `batchItemFailures` (ReportBatchItemFailures) with the messages whose handling raised.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wiring.sender().handle(event)
