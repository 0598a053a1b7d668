"""EventBridge Scheduler: the e-mails held in the table whose time has come, to the send queue
(smtphub.sending.sweep). The schedule's event carries nothing the sweep needs."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return wiring.send_sweep().run()
