"""TrackingTable: key (idsending, key), TTL `expires` (the e-mail's).

`key` makes each event counted once: `O#<recipient>` for a recipient's first open (mail providers' image
proxies and prefetchers fetch the pixel again and again), `C#<recipient>#<sha256 of the link, 16 hex>` for a
recipient's first click of each link. A conditional put tells whether the event is new.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.codec import Codec
from smtphub.dynamo import condition_failed, delete_keys, query_items
from smtphub.tracking.models import OPENED, TrackEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_CODEC = Codec(TrackEvent, {"id": "_id", "sending_id": "idsending"})


def event_key(event: TrackEvent) -> str:
    if event.type == OPENED:
        return f"O#{event.email}"
    digest = hashlib.sha256((event.url or "").encode("utf-8")).hexdigest()[:16]
    return f"C#{event.email}#{digest}"


class TrackingRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def record(self, event: TrackEvent) -> bool:
        """Store the event unless the same one (recipient, type, link) is stored; whether it was new."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=EVENT_CODEC.encode(event, key=event_key(event)),
                ConditionExpression="attribute_not_exists(idsending)",
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def of_email(self, sending_id: str) -> list[TrackEvent]:
        """The e-mail's events, oldest first."""
        items = self._items(sending_id)
        events = [EVENT_CODEC.decode({k: v for k, v in item.items() if k != "key"}) for item in items]
        return sorted(events, key=lambda event: (event.created, event.id))

    def delete_of_email(self, sending_id: str) -> int:
        """Delete the e-mail's events (emails/remove); how many."""
        keys = [
            {"idsending": item["idsending"], "key": item["key"]} for item in self._items(sending_id, True)
        ]
        delete_keys(self.client, self.table, keys)
        return len(keys)

    def _items(self, sending_id: str, keys_only: bool = False) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "idsending = :e",
            "ExpressionAttributeValues": {":e": {"S": sending_id}},
        }
        if keys_only:
            request["ProjectionExpression"] = "idsending, #k"
            request["ExpressionAttributeNames"] = {"#k": "key"}
        return query_items(self.client, dict, **request)
