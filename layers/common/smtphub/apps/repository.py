"""The apps table: key (iduser, _id). Beside each app a name-lock item (iduser, "#name#<casefolded name>")
keeps names unique per account inside a transaction. App ids are hex, so the key range "0".."g" holds the
apps and none of the locks.

A new app takes one of its account's app slots in the transaction that puts it (smtphub.accounts.quotas);
its removal gives it back in the last transaction of the cascade (smtphub.smtps.repository.delete_of_app).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.apps.models import App
from smtphub.codec import Codec
from smtphub.dynamo import condition_failed, query_items, read_item, transact, transact_steps
from smtphub.errors import AppNameTaken, AppNotFound, Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from smtphub.accounts.quotas import Quotas

NAME_LOCK_PREFIX = "#name#"  # the name-lock items; app ids are hex
APP_CODEC = Codec(
    App,
    {
        "id": "_id",
        "account_id": "iduser",
        "webhook_secret_version": "webhookSecretVersion",  # nosec B105 - an attribute name, not a secret
    },
)
_NEW = {"ConditionExpression": "attribute_not_exists(#id)", "ExpressionAttributeNames": {"#id": "_id"}}


class AppRepository:
    def __init__(self, client: DynamoDBClient, table: str, quotas: Quotas) -> None:
        self.client = client
        self.table = table
        self.quotas = quotas  # the accounts table's counter steps, handed in by the composition root

    def _key(self, account_id: str, app_id: str) -> dict[str, Any]:
        return {"iduser": {"S": account_id}, "_id": {"S": app_id}}

    def _lock(self, account_id: str, name: str) -> dict[str, Any]:
        return self._key(account_id, NAME_LOCK_PREFIX + name.casefold())

    def _put_lock(self, app: App) -> TransactWriteItemTypeDef:
        lock = {**self._lock(app.account_id, app.name), "app": {"S": app.id}}
        return {"Put": {"TableName": self.table, "Item": lock, **_NEW}}  # type: ignore[typeddict-item]

    def get(self, account_id: str, app_id: str) -> App | None:
        return read_item(self.client, self.table, self._key(account_id, app_id), APP_CODEC.decode)

    def get_owned(self, account_id: str, app_id: str) -> App:
        """The account's app; AppNotFound when it is missing or another account's."""
        app = self.get(account_id, app_id)
        if app is None:
            raise AppNotFound()
        return app

    def get_live(self, account_id: str, app_id: str) -> App:
        """The account's app for SMTP work; AppNotFound also while it is being removed."""
        app = self.get_owned(account_id, app_id)
        if app.deleting:
            raise AppNotFound()
        return app

    def list_owned(self, account_id: str) -> list[App]:
        return query_items(
            self.client,
            APP_CODEC.decode,
            TableName=self.table,
            KeyConditionExpression="iduser = :owner AND #id BETWEEN :low AND :high",
            ExpressionAttributeNames={"#id": "_id"},
            ExpressionAttributeValues={":owner": {"S": account_id}, ":low": {"S": "0"}, ":high": {"S": "g"}},
        )

    def create(self, app: App) -> None:
        """The app, its name lock and its slot in the account's quota together: AppNameTaken when the
        account has the name already, QuotaExceeded when it has all the apps it may."""
        put: Any = {
            "Put": {
                "TableName": self.table,
                "Item": self._item(dataclasses.replace(app, counted=True)),
                **_NEW,
            }
        }
        steps = [(put, Conflict), (self._put_lock(app), AppNameTaken), self.quotas.take_app(app.account_id)]
        transact_steps(self.client, steps)

    def replace(self, app: App, expected_version: int, old_name: str) -> None:
        """Write an edited app if nobody changed it since `expected_version` was read (else Conflict).

        The whole item is written, `counted` as read: the condition holds only while it is still so (the
        backfill may have counted the app meanwhile, without a new version)."""
        counted = "counted = :yes" if app.counted else "attribute_not_exists(counted)"
        values: dict[str, Any] = {":version": {"N": str(expected_version)}}
        if app.counted:
            values[":yes"] = {"BOOL": True}
        put: Any = {
            "Put": {
                "TableName": self.table,
                "Item": self._item(app),
                "ConditionExpression": f"version = :version AND attribute_not_exists(deleting) AND {counted}",
                "ExpressionAttributeValues": values,
            }
        }
        if old_name.casefold() == app.name.casefold():
            transact(self.client, [put], failures=(Conflict,))
            return
        unlock: Any = {"Delete": {"TableName": self.table, "Key": self._lock(app.account_id, old_name)}}
        transact(self.client, [put, unlock, self._put_lock(app)], failures=(Conflict, Conflict, AppNameTaken))

    def name_webhook_secret(self, app: App, version_id: str, modified: str) -> App:
        """A new app's record names its first webhook secret version (one more record version), only while
        it is still as created (else Conflict: edited, being removed or gone)."""
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key=self._key(app.account_id, app.id),
                UpdateExpression="SET webhookSecretVersion = :secret, version = :next, modified = :at",
                ConditionExpression="version = :version AND attribute_not_exists(deleting)",
                ExpressionAttributeValues={
                    ":secret": {"S": version_id},
                    ":version": {"N": str(app.version)},
                    ":next": {"N": str(app.version + 1)},
                    ":at": {"S": modified},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if condition_failed(error):
                raise Conflict() from None
            raise
        return APP_CODEC.decode(item)

    def undo_create(self, app: App) -> None:
        """Delete a new app again (its name lock, its quota slot and counter with it), only while it is still
        as created; Conflict when it is not."""
        delete: Any = {
            "Delete": {
                "TableName": self.table,
                "Key": self._key(app.account_id, app.id),
                "ConditionExpression": "version = :version AND attribute_not_exists(deleting)",
                "ExpressionAttributeValues": {":version": {"N": str(app.version)}},
            }
        }
        unlock: Any = {"Delete": {"TableName": self.table, "Key": self._lock(app.account_id, app.name)}}
        counts = [
            *self.quotas.release(app.account_id, apps=1),
            self.quotas.forget_app(app.account_id, app.id),
        ]
        transact_steps(self.client, [(delete, Conflict), (unlock, Conflict), *counts])

    def mark_deleting(self, account_id: str, app_id: str) -> App:
        """Flag an app as being removed (idempotent), so that no SMTP server can be added to it."""
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key=self._key(account_id, app_id),
                UpdateExpression="SET deleting = :yes",
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={"#id": "_id"},
                ExpressionAttributeValues={":yes": {"BOOL": True}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if condition_failed(error):
                raise AppNotFound() from None
            raise
        return APP_CODEC.decode(item)

    def removal(self, app: App) -> list[TransactWriteItemTypeDef]:
        """The transaction steps that remove an app and its name lock together: handed to the SMTP
        repository, whose last deletes of the app's servers they join."""
        return [
            {"Delete": {"TableName": self.table, "Key": self._key(app.account_id, app.id)}},
            {"Delete": {"TableName": self.table, "Key": self._lock(app.account_id, app.name)}},
        ]

    def live_condition(self, account_id: str, app_id: str) -> TransactWriteItemTypeDef:
        """A transaction step that holds only while the app exists and is not being removed.

        Handed to the SMTP repository, whose writes must not outlive their app: the condition is the apps
        table's knowledge, the transaction the SMTP repository's.
        """
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": self._key(account_id, app_id),
                "ConditionExpression": "attribute_exists(#id) AND attribute_not_exists(deleting)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }

    def _item(self, app: App) -> dict[str, Any]:
        return APP_CODEC.encode(app, deleting=app.deleting or None, counted=app.counted or None)
