"""AppsTable stream: remove the SMTP servers an app's removal missed (REMOVE records of apps), once the
byApp index has caught up, and delete the removed apps' webhook secrets and blacklist entries; see
smtphub.apps.cleanup."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from smtphub import wiring
from smtphub.apps.cleanup import clean
from smtphub.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    entries = wiring.blacklist_repository()
    return clean(event, wiring.smtp_repository(), wiring.webhook_secrets(), also=entries.delete_app)
