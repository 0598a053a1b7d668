"""SmtpsTable stream: delete the secret of every removed SMTP server (REMOVE records), and tidy the labels
of a secret once its record names a new version (MODIFY records: AWSCURRENT moves to it, stale labels go).

Answers `batchItemFailures` (ReportBatchItemFailures) with the records whose secret could not be
deleted or tidied; see smtphub.smtps.cleanup.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.observability import logger
from smtphub.smtps.cleanup import clean


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return clean(event, wiring.secret_repository())
