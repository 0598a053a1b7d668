"""BlacklistTable: key (idapp, email), the address normalized (smtphub.blacklists.models.normalized).

An entry the account adds is put in one transaction with the app's live condition
(smtphub.apps.repository.live_condition), so none outlives an app being removed; the rest of an app's entries
go with it from the apps table's stream (`delete_app`). An address already listed stays as it is, except
that the recipient's own unsubscribe replaces another kind of entry (it must survive blacklist/remove).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.blacklists.models import BY_RECIPIENT, Entry
from smtphub.codec import Codec
from smtphub.dynamo import condition_failed, delete_keys, query_items, read_item, transact_steps
from smtphub.errors import AppNotFound, Conflict, DomainError, EmailNotFound, ListedByRecipient

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

ENTRY_CODEC = Codec(Entry, {"id": "_id", "app_id": "idapp", "sending_id": "idsending"})
BATCH_GET = 100  # BatchGetItem's keys a call
# Put only when the address is not listed yet; the recipient's put also over another kind of entry.
_NEW = "attribute_not_exists(email)"
_NEW_OR_NOT_RECIPIENT = "attribute_not_exists(email) OR addedby <> :recipient"


class AlreadyListed(DomainError):
    """Internal: the put found the address listed (the caller reads what is there)."""


class BlacklistRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, app_id: str, email: str) -> dict[str, Any]:
        return {"idapp": {"S": app_id}, "email": {"S": email}}

    def get(self, app_id: str, email: str) -> Entry | None:
        return read_item(self.client, self.table, self._key(app_id, email), ENTRY_CODEC.decode)

    def add(self, entry: Entry, condition: TransactWriteItemTypeDef | None = None) -> Entry:
        """Put `entry` unless its address is listed already (then the entry there is returned), in one
        transaction with `condition` when given (its failure raises AppNotFound)."""
        put: dict[str, Any] = {"TableName": self.table, "Item": ENTRY_CODEC.encode(entry)}
        if entry.addedby == BY_RECIPIENT:
            put["ConditionExpression"] = _NEW_OR_NOT_RECIPIENT
            put["ExpressionAttributeValues"] = {":recipient": {"S": BY_RECIPIENT}}
        else:
            put["ConditionExpression"] = _NEW
        try:
            if condition is None:
                self.client.put_item(**put)
            else:
                step: Any = {"Put": put}
                transact_steps(self.client, [(condition, AppNotFound), (step, AlreadyListed)])
        except AlreadyListed:
            return self._listed(entry)
        except ClientError as error:
            if not condition_failed(error):
                raise
            return self._listed(entry)
        return entry

    def _listed(self, entry: Entry) -> Entry:
        listed = self.get(entry.app_id, entry.email)
        if listed is None:  # removed between the put and the read
            raise Conflict()
        return listed

    def listed(self, app_id: str, emails: Iterable[str]) -> set[str]:
        """Which of these (normalized) addresses the app lists: BatchGetItem, 100 keys a call, keys only."""
        wanted = list(dict.fromkeys(emails))
        found: set[str] = set()
        for start in range(0, len(wanted), BATCH_GET):
            keys = [self._key(app_id, email) for email in wanted[start : start + BATCH_GET]]
            request: Any = {self.table: {"Keys": keys, "ProjectionExpression": "email"}}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                found.update(item["email"]["S"] for item in answer["Responses"].get(self.table, []))
                request = answer.get("UnprocessedKeys") or None
                if request:
                    time.sleep(0.05)
        return found

    def entries(self, app_id: str, projection: str | None = None) -> list[dict[str, Any]]:
        """Every entry of the app as stored (undecoded: a page decodes only its own), by address."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "idapp = :app",
            "ExpressionAttributeValues": {":app": {"S": app_id}},
        }
        if projection:
            request["ProjectionExpression"] = projection
        return query_items(self.client, dict, **request)

    def remove(self, app_id: str, email: str) -> None:
        """Delete an entry the account may remove: EmailNotFound when it is not listed, ListedByRecipient
        when the recipient listed it."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=self._key(app_id, email),
                ConditionExpression="attribute_exists(email) AND addedby <> :recipient",
                ExpressionAttributeValues={":recipient": {"S": BY_RECIPIENT}},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            # The one write refused: a read says which of the two (only on this path).
            raise ListedByRecipient() if self.get(app_id, email) else EmailNotFound() from None

    def delete_app(self, app_id: str) -> int:
        """Delete every entry of an app (it was removed); how many."""
        keys = [
            {"idapp": item["idapp"], "email": item["email"]} for item in self.entries(app_id, "idapp, email")
        ]
        delete_keys(self.client, self.table, keys)
        return len(keys)
