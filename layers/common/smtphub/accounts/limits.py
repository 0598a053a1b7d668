"""Per-account counts in fixed windows, in the accounts table so that every Lambda container shares one:
an account's SMTP checks per minute (`CheckLimiter`), and its scheduled probes per UTC day
(`ProbeBudget`).

One item per account and window of the epoch, `<prefix><account>#<window>`, is counted up by one atomic
`UpdateItem` (`ADD`) whose condition keeps the count at or below the limit: the one that would go beyond
it changes nothing and is refused, until the next window, when a new item (a new count) starts. The item
carries `expires`, the table's TTL attribute, a while after its window, so DynamoDB deletes the counters by
itself. A fixed window: up to twice the limit can pass within a few seconds around a window's turn, never
more than the limit within one window.

One write per count (one write unit, under $1 per million); a refusal costs one failed conditional write
and nothing else.

- Checks (`checks#`, minutes): the check that would go beyond the limit is refused with `RateLimited`,
  `retry_after` being the seconds left to the next minute.
- Scheduled probes (`probes#`, UTC days): the health worker asks before each probe; a refused one is not
  made, and its server waits for the next day (smtphub.health.worker).
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
PROBES_PREFIX = "probes#"
WINDOW_SECONDS = 60
DAY_SECONDS = 86_400
KEPT_SECONDS = 5 * 60  # how long after its window a counter may stay (TTL deletion is not immediate anyway)
_CONDITION_FAILED = "ConditionalCheckFailedException"


class WindowCounter:
    """At most `limit` counts per account and window of `window` seconds."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        prefix: str,
        *,
        window: int,
        limit: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1:
            raise ValueError("the limit must be at least 1")
        self.client = client
        self.table = table
        self.prefix = prefix
        self.window = window
        self.limit = limit
        self.clock = clock

    def key(self, account_id: str, window: int) -> str:
        return f"{self.prefix}{account_id}#{window}"

    def take(self, account_id: str) -> float | None:
        """Count one for the account in the current window: None, or (the window's are used up) the
        seconds left until the next window."""
        now = self.clock()
        window = math.floor(now / self.window)
        next_window = (window + 1) * self.window
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.key(account_id, window)}},
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": "expires"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.limit)},
                    ":expires": {"N": str(next_window + KEPT_SECONDS)},
                },
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            return next_window - now
        return None


class CheckLimiter:
    """An account's SMTP checks per minute (manual checks, tries, save's verify=true)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.counter = WindowCounter(
            client, table, CHECKS_PREFIX, window=WINDOW_SECONDS, limit=per_minute, clock=clock
        )

    @staticmethod
    def key(account_id: str, minute: int) -> str:
        return f"{CHECKS_PREFIX}{account_id}#{minute}"

    def take(self, account_id: str) -> None:
        """Count one check of the account in the current minute; RateLimited when the minute's are used up."""
        left = self.counter.take(account_id)
        if left is None:
            return
        retry_after = min(WINDOW_SECONDS, max(1, math.ceil(left)))
        raise RateLimited(
            f"At most {self.per_minute} checks a minute per account: retry in {retry_after} s",
            retry_after=retry_after,
        )


class ProbeBudget:
    """An account's scheduled probes per UTC day (the template's ScheduledProbesPerAccountDay)."""

    def __init__(
        self, client: DynamoDBClient, table: str, per_day: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.per_day = per_day
        self.counter = WindowCounter(
            client, table, PROBES_PREFIX, window=DAY_SECONDS, limit=per_day, clock=clock
        )

    def take(self, account_id: str) -> bool:
        """Count one scheduled probe of the account today; False (nothing counted) when today's are all
        used."""
        return self.counter.take(account_id) is None
