"""An account's SMTP checks per minute, counted in the accounts table so that every Lambda container of
the check function shares one count.

One item per account and minute of the epoch, `checks#<account>#<minute>`, is counted up by one atomic
`UpdateItem` (`ADD`) whose condition keeps the count at or below the limit: the check that would go beyond
it changes nothing and is refused with `RateLimited`, `retry_after` being the seconds left to the next
minute, when a new item (a new count) starts. The item carries `expires`, the table's TTL attribute, a few
minutes after its minute, so DynamoDB deletes the counters by itself. A fixed window: up to twice the limit
can pass within a few seconds around a minute's turn, never more than the limit within one minute.

One write per check (one write unit, under $1 per million checks); a refused check costs one failed
conditional write and nothing else.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from smtphub.aws import error_code
from smtphub.errors import RateLimited

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKS_PREFIX = "checks#"
WINDOW_SECONDS = 60
KEPT_SECONDS = 5 * 60  # how long after its minute a counter may stay (TTL deletion is not immediate anyway)
_CONDITION_FAILED = "ConditionalCheckFailedException"


class CheckLimiter:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.client = client
        self.table = table
        self.per_minute = per_minute
        self.clock = clock

    @staticmethod
    def key(account_id: str, minute: int) -> str:
        return f"{CHECKS_PREFIX}{account_id}#{minute}"

    def take(self, account_id: str) -> None:
        """Count one check of the account in the current minute; RateLimited when the minute's are used up."""
        now = self.clock()
        minute = math.floor(now / WINDOW_SECONDS)
        next_minute = (minute + 1) * WINDOW_SECONDS
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.key(account_id, minute)}},
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": "expires"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.per_minute)},
                    ":expires": {"N": str(next_minute + KEPT_SECONDS)},
                },
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            retry_after = min(WINDOW_SECONDS, max(1, math.ceil(next_minute - now)))
            raise RateLimited(
                f"At most {self.per_minute} checks a minute per account: retry in {retry_after} s",
                retry_after=retry_after,
            ) from None
