"""The SMTP servers table, for the schedule: index `byNextCheck` (status, nextcheck), sparse.

Only servers with a `nextcheck` (epoch seconds) are in the index: every disabled server (re-probed with
backoff) and, while HEALTH_INTERVAL_HOURS is not 0, every active one. Its key is the status, so the sweep's
two Queries (`status = D AND nextcheck <= now`, the same for A) read only what is due, never the table,
and its projection is the keys alone (a page holds thousands of servers).

A probe claims its server first: one UpdateItem moving `nextcheck` from the time the sweep saw (`due`) to
a lease a few minutes ahead, only if it is still `due`. A message delivered twice, or sent by two sweeps,
finds another `nextcheck` and does nothing: one probe, one result. The result is then written only while
`nextcheck` is still that lease (smtphub.smtps.repository.SmtpRepository.record_check): a manual check or
an edit meanwhile wins. A worker that dies holding a lease leaves the server due again when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.dynamo import condition_failed
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.models import Smtp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_NEXT_CHECK_INDEX = "byNextCheck"


class HealthRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table
        self.pages = 0  # index pages read (make bench)

    def due(self, status: str, now: int) -> Iterator[tuple[str, int]]:
        """(server id, its nextcheck) of every server of `status` due by `now`, page by page."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_NEXT_CHECK_INDEX,
            "KeyConditionExpression": "#status = :status AND nextcheck <= :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}, ":now": {"N": str(now)}},
        }
        while True:
            page = self.client.query(**request)
            self.pages += 1
            for item in page.get("Items", []):
                yield item["_id"]["S"], int(item["nextcheck"]["N"])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim(self, smtp_id: str, due: int, lease: int) -> Smtp | None:
        """The server, now held until `lease`, if its nextcheck is still `due`; None otherwise (another
        delivery of the same message, a sweep's duplicate, a check or removal since)."""
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                UpdateExpression="SET nextcheck = :lease",
                ConditionExpression="nextcheck = :due",
                ExpressionAttributeValues={":lease": {"N": str(lease)}, ":due": {"N": str(due)}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return SMTP_CODEC.decode(answer["Attributes"])

    def reschedule(self, smtp_id: str, lease: int, nextcheck: int | None) -> bool:
        """Release a claimed server without a result (nothing could be probed): next time `nextcheck`."""
        values: dict[str, Any] = {":lease": {"N": str(lease)}}
        expression = "REMOVE nextcheck"
        if nextcheck is not None:
            expression, values[":next"] = "SET nextcheck = :next", {"N": str(nextcheck)}
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                UpdateExpression=expression,
                ConditionExpression="nextcheck = :lease",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
