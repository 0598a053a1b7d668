"""The e-mails' log: EmailLogsTable, key (idsending, _id), one row per outcome per recipient per attempt.

Rows are written in batches (BatchWriteItem, 25 a call, what DynamoDB leaves unprocessed tried again) by
the sender, read in one Query per e-mail (its rows in order: `_id` is time-ordered), and deleted with the
e-mail (emails/remove) or by their TTL (`expires`, the e-mail's: upstream's 30 days).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from smtphub.aws import LazyClient
from smtphub.codec import Codec
from smtphub.dynamo import query_items
from smtphub.emails.models import LogEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's limit
TRIES = 5
LOG_CODEC = Codec(LogEntry, {"id": "_id", "email_id": "idsending", "smtp_id": "idsmtp", "app_id": "idapp"})


class LogRepository(LazyClient["DynamoDBClient"]):
    def __init__(self, client: Callable[[], DynamoDBClient], table: str) -> None:
        super().__init__(client)
        self.table = table

    def add(self, entries: Sequence[LogEntry], expires: dict[str, int]) -> None:
        """Store `entries`, each expiring at its e-mail's `expires[email_id]`."""
        requests: list[Any] = [
            {"PutRequest": {"Item": LOG_CODEC.encode(entry, expires=expires[entry.email_id])}}
            for entry in entries
        ]
        self._write(requests)

    def of_email(self, email_id: str) -> list[LogEntry]:
        """The e-mail's rows, oldest first (one Query, and its further pages if any)."""
        return query_items(
            self.client,
            LOG_CODEC.decode,
            TableName=self.table,
            KeyConditionExpression="idsending = :id",
            ExpressionAttributeValues={":id": {"S": email_id}},
        )

    def delete_of_email(self, email_id: str) -> int:
        """Delete the e-mail's rows (emails/remove); how many there were."""
        keys = query_items(
            self.client,
            lambda item: {"idsending": item["idsending"], "_id": item["_id"]},
            TableName=self.table,
            KeyConditionExpression="idsending = :id",
            ProjectionExpression="idsending, #id",
            ExpressionAttributeNames={"#id": "_id"},
            ExpressionAttributeValues={":id": {"S": email_id}},
        )
        self._write([{"DeleteRequest": {"Key": key}} for key in keys])
        return len(keys)

    def _write(self, requests: list[Any]) -> None:
        for start in range(0, len(requests), BATCH):
            pending: Any = {self.table: requests[start : start + BATCH]}
            for attempt in range(TRIES):
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise RuntimeError("DynamoDB left log rows unprocessed after retries")
