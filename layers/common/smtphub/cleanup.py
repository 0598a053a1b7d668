"""Password secrets of removed SMTP servers, deleted from the servers' table stream.

The API only ever deletes records (smtps/remove, apps/remove); every deletion reaches this code as a
REMOVE record of the SmtpsTable stream (KEYS_ONLY: the key `_id` is all it needs), and the secret of that
name is scheduled for deletion (recoverable for SECRET_RECOVERY_DAYS, then purged by AWS). Every removed
record's secret is deleted, whether or not the record said it had one: a create or edit that failed half
way can leave a secret behind a record that says `hasPassword: false`.

Idempotent: a secret that is gone or already scheduled counts as done, so a retried batch is harmless. A
record whose secret could not be deleted is reported in `batchItemFailures` (Lambda retries from it, and
after the retries sends the batch's description to the dead-letter queue); the others still count.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from smtphub.observability import logger
from smtphub.repositories import SecretRepository

DELETE_CONCURRENCY = 8  # Secrets Manager's DeleteSecret quota is 50 per second per account and region


@dataclass
class Outcome:
    deleted: list[str] = field(default_factory=list)  # scheduled for deletion now
    done_already: list[str] = field(default_factory=list)  # gone, or scheduled before
    failed: list[str] = field(default_factory=list)  # SequenceNumber of each record to retry
    skipped: int = 0  # not a removal, or no key: nothing to do

    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in self.failed]}


def _removed_id(record: dict[str, Any]) -> str | None:
    if record.get("eventName") != "REMOVE":
        return None
    key = ((record.get("dynamodb") or {}).get("Keys") or {}).get("_id") or {}
    value = key.get("S")
    return value if isinstance(value, str) and value else None


def clean(event: dict[str, Any], secrets: SecretRepository) -> Outcome:
    """Delete the secret of every removed server in a DynamoDB stream event."""
    outcome = Outcome()
    work: list[tuple[str, str]] = []  # (smtp id, sequence number)
    for record in event.get("Records") or []:
        smtp_id = _removed_id(record)
        if smtp_id is None:
            outcome.skipped += 1
            continue
        work.append((smtp_id, str(record["dynamodb"]["SequenceNumber"])))

    def delete(item: tuple[str, str]) -> tuple[str, str, bool | Exception]:
        smtp_id, sequence = item
        try:
            return smtp_id, sequence, secrets.delete(smtp_id)
        except Exception as error:
            return smtp_id, sequence, error

    if work:
        with ThreadPoolExecutor(max_workers=min(DELETE_CONCURRENCY, len(work))) as pool:
            results = list(pool.map(delete, work))
        for smtp_id, sequence, result in results:
            if isinstance(result, Exception):
                logger.error(
                    "could not delete the secret of a removed SMTP server",
                    extra={"idsmtp": smtp_id, "sequenceNumber": sequence, "error": type(result).__name__},
                    exc_info=result,
                )
                outcome.failed.append(sequence)
            elif result:
                outcome.deleted.append(smtp_id)
            else:
                outcome.done_already.append(smtp_id)
    logger.info(
        "secrets cleaned up",
        extra={
            "deleted": len(outcome.deleted),
            "doneAlready": len(outcome.done_already),
            "failed": len(outcome.failed),
            "skipped": outcome.skipped,
        },
    )
    return outcome
