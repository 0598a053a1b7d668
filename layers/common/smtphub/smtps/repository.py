"""The SMTP servers table: key _id; index byApp (idapp, rank), rank ordering by priority, then creation.
The one repository that writes it: what checks and the schedule write is one other part (smtps/state.py),
what senders write of a server's faults another (smtps/faults.py).

Every write here is conditional: on the record's `version` for edits (a concurrent edit loses with
Conflict), on its owner for deletes, on its app for writes that must not outlive the app (the apps table's
condition, handed in by the composition root, runs in the same transaction).

Quotas (smtphub.accounts.quotas, handed in likewise): a create takes a slot of its app and of its account
in its transaction, a move takes one of the new app and gives the old one's back, every delete gives its
slots back in the transaction that deletes; each on condition that the record is still counted as read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.dynamo import condition_failed, query_items, read_item, to_attribute, transact_steps
from smtphub.errors import AppNotFound, Conflict, SmtpNotFound
from smtphub.smtps import slots
from smtphub.smtps.faults import FaultWrites
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.models import STATUS_ACTIVE, Smtp
from smtphub.smtps.state import HealthWrites

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from smtphub.accounts.quotas import Quotas

BY_APP_INDEX = "byApp"
AppCondition = Callable[[str, str], "TransactWriteItemTypeDef"]


class SmtpRepository(HealthWrites, FaultWrites):
    def __init__(
        self, client: DynamoDBClient, table: str, app_condition: AppCondition, quotas: Quotas
    ) -> None:
        self.client = client
        self.table = table
        self.app_condition = app_condition  # (account, app id) -> a step that holds while the app is live
        self.quotas = quotas  # the accounts table's counter steps

    def get(self, smtp_id: str) -> Smtp | None:
        return read_item(self.client, self.table, self._key(smtp_id), SMTP_CODEC.decode)

    def get_owned(self, account_id: str, smtp_id: str) -> Smtp:
        """The account's server; SmtpNotFound when there is none, and when it is another account's."""
        smtp = self.get(smtp_id)
        if smtp is None or smtp.account_id != account_id:
            raise SmtpNotFound()
        return smtp

    def list_by_app(self, account_id: str, app_id: str) -> list[Smtp]:
        """The account's servers of an app, in the index's order (priority, creation time, id). DynamoDB
        leaves out another account's (an app has one account's servers only: belt and braces)."""
        return query_items(self.client, SMTP_CODEC.decode, **self._by_app(account_id, app_id))

    def ids_by_app(self, account_id: str, app_id: str) -> dict[str, bool]:
        """Only the ids of those servers, each with whether it is counted in the quotas (apps/remove):
        DynamoDB sends back nothing but the key and that flag."""
        request = self._by_app(account_id, app_id, ProjectionExpression="#id, #counted")
        request["ExpressionAttributeNames"].update({"#id": "_id", "#counted": "counted"})
        found = query_items(self.client, lambda item: (str(item["_id"]["S"]), "counted" in item), **request)
        return dict(found)

    def has_active(self, account_id: str, app_id: str) -> bool:
        """Whether the app has a server with status A (emails/send): one Query, only ids sent back."""
        request = self._by_app(account_id, app_id, ProjectionExpression="#id")
        request["FilterExpression"] += " AND #status = :active"
        request["ExpressionAttributeNames"].update({"#id": "_id", "#status": "status"})
        request["ExpressionAttributeValues"][":active"] = {"S": STATUS_ACTIVE}
        return bool(query_items(self.client, lambda item: item, **request))

    def _by_app(self, account_id: str, app_id: str, **more: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "IndexName": BY_APP_INDEX,
            "KeyConditionExpression": "idapp = :app",
            "FilterExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": SMTP_CODEC.stored("account_id")},
            "ExpressionAttributeValues": {":app": {"S": app_id}, ":owner": {"S": account_id}},
            **more,
        }

    def create(self, smtp: Smtp) -> None:
        """Store a new server (counted), in one transaction with the condition that its app is live and its
        slots in the app's and the account's quotas: AppNotFound, or QuotaExceeded naming the quota."""
        put: Any = {
            "Put": {
                "TableName": self.table,
                "Item": SMTP_CODEC.encode(smtp, rank=smtp.rank, counted=True),
                "ConditionExpression": "attribute_not_exists(#id)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }
        app_live = self.app_condition(smtp.account_id, smtp.app_id)
        taken = self.quotas.take_smtp(smtp.account_id, smtp.app_id)
        transact_steps(self.client, [(app_live, AppNotFound), *taken, (put, Conflict)])

    def update(
        self, smtp: Smtp, changed: Iterable[str], expected_version: int, *, moved_from: str | None = None
    ) -> None:
        """Write the changed fields if the server is still at `expected_version` (else Conflict).

        Only what the edit changed is written, so a concurrent check's status and counters survive. A server
        moving from app `moved_from` to another: smtphub.smtps.slots.move.
        """
        update = self._update_request(smtp, changed, expected_version)
        if moved_from is not None:
            slots.move(self, smtp, update, moved_from)  # with the apps' slots
            return
        try:
            self.client.update_item(**update)
        except ClientError as error:
            if condition_failed(error):
                raise Conflict() from None
            raise

    def _update_request(self, smtp: Smtp, changed: Iterable[str], expected_version: int) -> dict[str, Any]:
        values = SMTP_CODEC.values(smtp)
        names = {"#version": "version", "#modified": "modified", "#rank": "rank", "#owner": "iduser"}
        attributes: dict[str, Any] = {
            ":expected": {"N": str(expected_version)},
            ":version": {"N": str(smtp.version)},
            ":modified": {"S": smtp.modified},
            ":rank": {"S": smtp.rank},
            ":owner": {"S": smtp.account_id},
        }
        sets = ["#version = :version", "#modified = :modified", "#rank = :rank"]
        removes = []
        for position, name in enumerate(sorted({SMTP_CODEC.stored(field) for field in changed})):
            names[f"#f{position}"] = name
            if values.get(name) is None:
                removes.append(f"#f{position}")
            else:
                attributes[f":f{position}"] = to_attribute(values[name])
                sets.append(f"#f{position} = :f{position}")
        return {
            "TableName": self.table,
            "Key": self._key(smtp.id),
            "UpdateExpression": "SET "
            + ", ".join(sets)
            + (" REMOVE " + ", ".join(removes) if removes else ""),
            "ConditionExpression": "#version = :expected AND #owner = :owner",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attributes,
        }

    def attach_secret(self, smtp_id: str, secret_version: str) -> bool:
        """Create's last step: the record now names its secret's version. SmtpNotFound if it is gone;
        False (nothing written) when an edit attached a version of its own meanwhile.

        `version` stays as it is: this completes the create, not an edit a concurrent one should lose to.
        """
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(smtp_id),
                UpdateExpression="SET secretVersion = :version",
                ConditionExpression="attribute_exists(#id) AND attribute_not_exists(secretVersion)",
                ExpressionAttributeNames={"#id": "_id"},
                ExpressionAttributeValues={":version": {"S": secret_version}},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            if self.get(smtp_id) is None:
                raise SmtpNotFound() from None
            return False
        return True

    # Deletes, each giving its quota slots back in its transaction: smtphub.smtps.slots.
    delete = slots.delete
    delete_new = slots.delete_new
    delete_of_app = slots.delete_of_app
