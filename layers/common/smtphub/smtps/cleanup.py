"""The SMTP servers' secrets, kept in order from the servers' table stream (NEW_AND_OLD_IMAGES: a record
holds no secret, only the ids of the versions that do, so neither do its images).

REMOVE: the API only ever deletes records (smtps/remove, apps/remove); every deletion reaches this code as a
REMOVE record, and the secret named after its key `_id` is scheduled for deletion (recoverable for
SECRET_RECOVERY_DAYS, then purged by AWS). Every removed record's secret is deleted, whether or not the
record named a version: a create or edit that failed half way can leave a secret behind a record without
one. Idempotent: a secret that is gone or already scheduled counts as done.

MODIFY whose NewImage names a `secretVersion` its OldImage did not (an edit that wrote a write-only value,
or a create's last step): the secret's labels are tidied off the request path (SecretRepository.adopt:
AWSCURRENT moves to that version, the older versions the record still names keep a label, the labels of lost
or superseded edits go). The stream hands one item's changes over in the order they were made, so adopts
apply in record version order and AWSCURRENT ends on the newest record's version. Nothing depends on it for
correctness (every version carries its own label from birth, and checks read the version the record
names), but a failure is still reported for a retry rather than only logged: Secrets Manager throttling or
a brief outage would otherwise leave labels piling up (a secret holds 20) and AWSCURRENT behind, and a retry
is harmless (adopt is idempotent and safe to replay, and so is every other record's handling). A MODIFY that
leaves `secretVersion` as it was (health probes, edits without a write-only value) makes no call. Images
that are not an SMTP server's record are logged and skipped: no retry would change them.

Powertools' BatchProcessor reports each record that failed in `batchItemFailures` (Lambda retries from the
first of them, and after the retries sends the batch's description to the dead-letter queue); the others
still count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from smtphub.observability import logger
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.secrets import SecretRepository

COUNTS = ("deleted", "doneAlready", "adopted", "unchanged", "failed", "skipped")


class _Adoption(NamedTuple):
    """What a MODIFY asks of the secret: the record now names `version_id` (and `named`, older ones)."""

    smtp_id: str
    version_id: str
    # The record version the write that named it was based on: the OldImage's for an edit; one less than
    # the record's for a create's last step, which names the first version without changing `version`
    # (an edit of that same record version may be racing it: the version it wrote must keep its label).
    base_version: int
    named: frozenset[str]


def clean(event: dict[str, Any], secrets: SecretRepository) -> dict[str, Any]:
    """Delete the secret of every removed server and tidy the labels of every newly named version in a
    DynamoDB stream event; the partial batch response."""
    tally: Counter[str] = Counter()

    def handle(record: DynamoDBRecord) -> None:
        name = record.raw_event.get("eventName")
        if name == "REMOVE":
            _remove(record, secrets, tally)
        elif name == "MODIFY":
            _modify(record, secrets, tally)
        else:
            tally["skipped"] += 1

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=handle, processor=processor)
    logger.info("secrets cleaned up", extra={name: tally[name] for name in COUNTS})
    return dict(response)


def _remove(record: DynamoDBRecord, secrets: SecretRepository, tally: Counter[str]) -> None:
    smtp_id = _removed_id(record)
    if smtp_id is None:
        tally["skipped"] += 1
        return
    try:
        deleted = secrets.delete(smtp_id)
    except Exception:  # counted, its trace logged, re-raised: the batch reports the record
        tally["failed"] += 1
        logger.exception(
            "could not delete the secret of a removed SMTP server",
            extra={"idsmtp": smtp_id, "sequenceNumber": _sequence(record)},
        )
        raise
    tally["deleted" if deleted else "doneAlready"] += 1


def _modify(record: DynamoDBRecord, secrets: SecretRepository, tally: Counter[str]) -> None:
    dynamodb = record.raw_event.get("dynamodb") or {}
    try:
        adoption = _adoption(dynamodb.get("OldImage"), dynamodb.get("NewImage"))
    except (TypeError, ValueError, KeyError):
        tally["skipped"] += 1
        logger.warning(
            "a stream record without an SMTP server's images", extra={"sequenceNumber": _sequence(record)}
        )
        return
    if adoption is None:
        tally["unchanged"] += 1
        return
    try:
        secrets.adopt(adoption.smtp_id, adoption.version_id, adoption.base_version, adoption.named)
    except Exception:  # counted, its trace logged, re-raised: the batch reports the record
        tally["failed"] += 1
        logger.exception(
            "could not tidy the labels of a secret",
            extra={"idsmtp": adoption.smtp_id, "sequenceNumber": _sequence(record)},
        )
        raise
    tally["adopted"] += 1


def _adoption(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> _Adoption | None:
    """None when the record names no new version (its `secretVersion` is absent, or as it was)."""
    if not new:
        return None
    after = SMTP_CODEC.decode(new)
    version = after.secret_version
    if version is None:
        return None
    before = SMTP_CODEC.decode(old) if old else None
    if before is not None and before.secret_version == version:
        return None
    named = frozenset(after.secret_versions.values()) - {version}
    return _Adoption(after.id, version, after.version - 1, named)


def _sequence(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb else None


def _removed_id(record: DynamoDBRecord) -> str | None:
    key = ((record.raw_event.get("dynamodb") or {}).get("Keys") or {}).get("_id") or {}
    value = key.get("S")
    return value if isinstance(value, str) and value else None
