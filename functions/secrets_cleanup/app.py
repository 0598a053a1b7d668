"""SmtpsTable stream (REMOVE records): delete the password secret of every removed SMTP server.

Answers `batchItemFailures` (ReportBatchItemFailures) with the records whose secret could not be
deleted; see smtphub.smtps.cleanup.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger
from smtphub.smtps.cleanup import clean


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return clean(event, wiring.secret_repository())
