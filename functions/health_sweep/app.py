"""EventBridge Scheduler: send every SMTP server due for a probe to the health queue (smtphub.health.sweep).

The schedule's event carries nothing the sweep needs: what is due is read from the index byNextCheck.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return wiring.health_sweep().run()
