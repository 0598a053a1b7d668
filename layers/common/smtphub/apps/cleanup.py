"""The servers an app's removal missed, its webhook secret and its blacklist, removed from the apps table's
stream (KEYS_ONLY).

apps/remove finds the app's servers through the byApp index, which DynamoDB updates asynchronously (an
index cannot be read consistently): a server whose create committed just before the app was flagged
`deleting` can be missing from the removal's query and outlive the app, its secret with it. Every app item
deleted (only ever the last step of a removal) reaches this code as a REMOVE record. Once the removal is
SETTLE_SECONDS old, the index is asked again for the app's servers, and each one still the app's is
deleted (conditionally: a server moved to another app meanwhile stays), giving its account's quota slot
back in the same transaction (the app's counter went with the app: smtphub.smtps.slots): a GetItem and
a TransactWriteItems each. Their secrets then go the usual way, through the servers' table stream
(smtphub.smtps.cleanup). Nearly always the query finds nothing: one Query per removed app.

Every removed app's webhook secret is scheduled for deletion too (recoverable for SECRET_RECOVERY_DAYS,
then purged by AWS), whether or not the app had one, as the SMTP servers' secrets are (a save that failed
half way can leave a secret its record does not name): one DeleteSecret per removed app. A secret already
gone or scheduled counts as done.

What else belongs to the app goes too, handed in by the composition root: its blacklist's entries
(smtphub.blacklists, a floor above: `also(app_id)`, a Query and a BatchWriteItem per 25 entries).

The name-lock items (`#name#...`) share the apps table; their REMOVE records (renames, removals) are
skipped without a call. Idempotent: a server already gone counts as done. Powertools' BatchProcessor
reports each record that failed in `batchItemFailures` (Lambda retries from the first of them, then sends
the batch's description to the dead-letter queue).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from smtphub.apps.repository import NAME_LOCK_PREFIX
from smtphub.apps.servers import AppServers
from smtphub.apps.webhooks import WebhookSecrets
from smtphub.observability import logger

# How long after a removal the index is asked again. DynamoDB updates an index within a second nearly
# always; the function waits, once per batch, only for what is left of this since the newest removal.
SETTLE_SECONDS = 5.0
COUNTS = ("apps", "deleted", "secrets", "entries", "skipped", "failed")
_CREATED = "ApproximateCreationDateTime"  # epoch seconds


def clean(
    event: dict[str, Any],
    smtps: AppServers,
    hooks: WebhookSecrets,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    also: Callable[[str], int] | None = None,
) -> dict[str, Any]:
    """Delete the servers that outlived the apps removed in a DynamoDB stream event, the apps' webhook
    secrets and (`also`) their blacklist entries; the partial batch response."""
    apps = [r for r in event.get("Records") or [] if _removed_app(r)]
    newest = max((float(r.get("dynamodb", {}).get(_CREATED) or 0) for r in apps), default=0.0)
    wait = min(newest + SETTLE_SECONDS - clock(), SETTLE_SECONDS) if apps else 0.0
    if wait > 0:
        sleep(wait)
    tally: Counter[str] = Counter()

    def handle(record: DynamoDBRecord) -> None:
        removed = _removed_app(record.raw_event)
        if removed is None:
            tally["skipped"] += 1
            return
        account_id, app_id = removed
        tally["apps"] += 1
        try:
            found = smtps.ids_by_app(account_id, app_id)
            left = [i for i in found if smtps.delete(account_id, i, app_id, app_gone=True)]
            entries = also(app_id) if also else 0
        except Exception:  # counted, its trace logged, re-raised: the batch reports the record
            tally["failed"] += 1
            logger.exception("could not remove the servers an app's removal missed", extra={"idapp": app_id})
            raise
        try:
            tally["secrets"] += hooks.delete(app_id)
        except Exception:  # as above (the servers' part is idempotent: a retry finds them gone)
            tally["failed"] += 1
            logger.exception("could not delete the webhook secret of a removed app", extra={"idapp": app_id})
            raise
        if left:
            tally["deleted"] += len(left)
            logger.warning("removed servers that outlived their app", extra={"idapp": app_id, "idsmtp": left})
        if entries:
            tally["entries"] += entries

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=handle, processor=processor)
    logger.info("apps cleaned up", extra={name: tally[name] for name in COUNTS})
    return dict(response)


def _removed_app(record: dict[str, Any]) -> tuple[str, str] | None:
    """(account, app) of a REMOVE record of an app item; None for anything else (a name lock)."""
    keys = record.get("dynamodb", {}).get("Keys") or {}
    account_id, app_id = keys.get("iduser", {}).get("S"), keys.get("_id", {}).get("S")
    if record.get("eventName") != "REMOVE" or not account_id or not app_id:
        return None
    return None if app_id.startswith(NAME_LOCK_PREFIX) else (account_id, app_id)
