"""Which e-mails' outcomes were announced, and how far: items `notified#<idemail>` in SendStateTable.

The EmailsTable stream hands a record to its consumer again after a failure in its batch (Lambda retries
from the first failed record, the ones after it that went well included). Each outcome announced leaves
an item naming what was done (`webhook`: its delivery queued, `event`: its event put), read before the
next batch announces anything, so a record handed again does only what is left. Read consistently in one
BatchGetItem per 100 e-mails, written in one BatchWriteItem per 25; kept `KEPT_SECONDS` (longer than a
stream keeps a record: 24 hours), then DynamoDB's TTL deletes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from smtphub.dynamo import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PREFIX = "notified#"
KEPT_SECONDS = 3 * 86_400
_READ, _WRITE, _TRIES = 100, 25, 5


class Notified:
    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def done(self, email_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        """What was done already for each e-mail that has an item."""
        keys = [{"pk": {"S": PREFIX + email_id}} for email_id in dict.fromkeys(email_ids)]
        found: dict[str, frozenset[str]] = {}
        for start in range(0, len(keys), _READ):
            request: Any = {self.table: {"Keys": keys[start : start + _READ], "ConsistentRead": True}}
            for _ in range(_TRIES):
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    values = from_item(item)
                    found[str(values["pk"])[len(PREFIX) :]] = frozenset(values.get("done") or ())
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05)
            if request:
                raise RuntimeError("DynamoDB left notified items unread")
        return found

    def mark(self, done: Mapping[str, frozenset[str]]) -> None:
        """Record what was done for each e-mail (everything done so far: an item is written whole)."""
        expires = str(int(self.clock()) + KEPT_SECONDS)
        puts = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": PREFIX + email_id},
                        "done": {"SS": sorted(channels)},
                        "expires": {"N": expires},
                    }
                }
            }
            for email_id, channels in done.items()
            if channels
        ]
        for start in range(0, len(puts), _WRITE):
            request: Any = {self.table: puts[start : start + _WRITE]}
            for _ in range(_TRIES):
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
                time.sleep(0.05)
            if request:
                raise RuntimeError("DynamoDB left notified items unwritten")
