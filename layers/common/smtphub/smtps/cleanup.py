"""Password secrets of removed SMTP servers, deleted from the servers' table stream.

The API only ever deletes records (smtps/remove, apps/remove); every deletion reaches this code as a REMOVE
record of the SmtpsTable stream (KEYS_ONLY: the key `_id` is all it needs), and the secret of that name is
scheduled for deletion (recoverable for SECRET_RECOVERY_DAYS, then purged by AWS). Every removed record's
secret is deleted, whether or not the record named a version: a create or edit that failed half way can
leave a secret behind a record without one.

Powertools' BatchProcessor reports each record whose secret could not be deleted in `batchItemFailures`
(Lambda retries from it, and after the retries sends the batch's description to the dead-letter queue);
the others still count. Idempotent: a secret that is gone or already scheduled counts as done.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from smtphub.observability import logger
from smtphub.smtps.secrets import SecretRepository


def clean(event: dict[str, Any], secrets: SecretRepository) -> dict[str, Any]:
    """Delete the secret of every removed server in a DynamoDB stream event; the partial batch response."""
    tally: Counter[str] = Counter()

    def handle(record: DynamoDBRecord) -> None:
        smtp_id = _removed_id(record)
        if smtp_id is None:
            tally["skipped"] += 1
            return
        try:
            deleted = secrets.delete(smtp_id)
        except Exception:
            tally["failed"] += 1
            logger.exception(
                "could not delete the secret of a removed SMTP server",
                extra={
                    "idsmtp": smtp_id,
                    "sequenceNumber": record.dynamodb and record.dynamodb.sequence_number,
                },
            )
            raise
        tally["deleted" if deleted else "doneAlready"] += 1

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=handle, processor=processor)
    logger.info(
        "secrets cleaned up",
        extra={name: tally[name] for name in ("deleted", "doneAlready", "failed", "skipped")},
    )
    return dict(response)


def _removed_id(record: DynamoDBRecord) -> str | None:
    if record.raw_event.get("eventName") != "REMOVE":
        return None
    key = ((record.raw_event.get("dynamodb") or {}).get("Keys") or {}).get("_id") or {}
    value = key.get("S")
    return value if isinstance(value, str) and value else None
