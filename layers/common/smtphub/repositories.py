"""DynamoDB and Secrets Manager: the only code that talks to AWS.

Each repository is handed its client (tests pass moto-backed ones; Lambda gets the cached default
from `smtphub.aws`). boto errors become domain errors here, by error code, never by message.

Tables (schemas in template.yaml):
- apps:  key (iduser, _id). Beside each app, a name-lock item (iduser, "#name#<casefolded name>")
         makes names unique per account inside a transaction. App ids are hex, so the key range
         "0".."g" holds the apps and none of the locks.
- smtps: key _id; index byApp (idapp, rank) where rank orders by priority, then creation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from smtphub import aws
from smtphub.errors import AppNameTaken, AppNotFound, Conflict, SmtpNotFound
from smtphub.models import STATUS_ACTIVE, STATUS_DISABLED, App, Smtp, to_attribute

# botocore logs whole request and response bodies at DEBUG, passwords included (CreateSecret,
# PutSecretValue, GetSecretValue). These two loggers stay at INFO whatever the root logger's level, so that
# turning on debug logging never writes a password out.
for _wire_logger in ("botocore.endpoint", "botocore.parsers"):
    logging.getLogger(_wire_logger).setLevel(logging.INFO)

BY_APP_INDEX = "byApp"
_NAME_LOCK = "#name#"
_BATCH = 25  # BatchWriteItem's limit


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _cancellation_codes(error: Exception) -> list[str]:
    response = getattr(error, "response", None) or {}
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def _pages(call: Any, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, following LastEvaluatedKey."""
    while True:
        page = call(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class AppRepository:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _lock(self, owner: str, name: str) -> dict[str, Any]:
        return {"iduser": {"S": owner}, "_id": {"S": _NAME_LOCK + name.casefold()}}

    def get(self, owner: str, app_id: str) -> App | None:
        key = {"iduser": {"S": owner}, "_id": {"S": app_id}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return App.from_item(item) if item else None

    def get_live(self, owner: str, app_id: str) -> App:
        """The owner's app for SMTP work; AppNotFound when it is missing, someone else's or being removed."""
        app = self.get(owner, app_id)
        if app is None or app.deleting:
            raise AppNotFound()
        return app

    def list_owned(self, owner: str) -> list[App]:
        items = _pages(
            self.client.query,
            TableName=self.table,
            KeyConditionExpression="iduser = :owner AND #id BETWEEN :low AND :high",
            ExpressionAttributeNames={"#id": "_id"},
            ExpressionAttributeValues={":owner": {"S": owner}, ":low": {"S": "0"}, ":high": {"S": "g"}},
        )
        return [App.from_item(item) for item in items]

    def create(self, app: App) -> None:
        lock = {**self._lock(app.owner, app.name), "app": {"S": app.id}}
        self._transact(
            [
                {"Put": {"TableName": self.table, "Item": app.to_item(),
                         "ConditionExpression": "attribute_not_exists(#id)",
                         "ExpressionAttributeNames": {"#id": "_id"}}},
                {"Put": {"TableName": self.table, "Item": lock,
                         "ConditionExpression": "attribute_not_exists(#id)",
                         "ExpressionAttributeNames": {"#id": "_id"}}},
            ],
            failures=(Conflict, AppNameTaken),
        )  # fmt: skip

    def replace(self, app: App, expected_version: int, old_name: str) -> None:
        """Write an edited app if nobody else changed it since `expected_version` was read."""
        put = {
            "Put": {
                "TableName": self.table,
                "Item": app.to_item(),
                "ConditionExpression": "version = :version AND attribute_not_exists(deleting)",
                "ExpressionAttributeValues": {":version": {"N": str(expected_version)}},
            }
        }
        if old_name.casefold() == app.name.casefold():
            self._transact([put], failures=(Conflict,))
            return
        lock = {**self._lock(app.owner, app.name), "app": {"S": app.id}}
        self._transact(
            [
                put,
                {"Delete": {"TableName": self.table, "Key": self._lock(app.owner, old_name)}},
                {"Put": {"TableName": self.table, "Item": lock,
                         "ConditionExpression": "attribute_not_exists(#id)",
                         "ExpressionAttributeNames": {"#id": "_id"}}},
            ],
            failures=(Conflict, Conflict, AppNameTaken),
        )  # fmt: skip

    def mark_deleting(self, owner: str, app_id: str) -> App:
        """Flag an app as being removed (idempotent), so that no SMTP server can be added to it."""
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key={"iduser": {"S": owner}, "_id": {"S": app_id}},
                UpdateExpression="SET deleting = :yes",
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={"#id": "_id"},
                ExpressionAttributeValues={":yes": {"BOOL": True}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except Exception as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise AppNotFound() from None
            raise
        return App.from_item(item)

    def delete(self, app: App) -> None:
        """Remove an app and its name lock together."""
        self._transact(
            [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"iduser": {"S": app.owner}, "_id": {"S": app.id}},
                    }
                },
                {"Delete": {"TableName": self.table, "Key": self._lock(app.owner, app.name)}},
            ],
            failures=(AppNotFound, AppNotFound),
        )

    def condition_exists(self, owner: str, app_id: str) -> dict[str, Any]:
        """A transaction step that holds only while the app exists and is not being removed."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"iduser": {"S": owner}, "_id": {"S": app_id}},
                "ConditionExpression": "attribute_exists(#id) AND attribute_not_exists(deleting)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }

    def _transact(self, items: list[dict[str, Any]], failures: tuple[type[Exception], ...]) -> None:
        transact(self.client, items, failures)


def transact(client: Any, items: list[dict[str, Any]], failures: tuple[type[Exception], ...]) -> None:
    """TransactWriteItems; a failed condition raises the domain error given for its step."""
    try:
        client.transact_write_items(TransactItems=items)
    except Exception as error:
        codes = _cancellation_codes(error)
        for code, failure in zip(codes, failures, strict=False):
            if code == "ConditionalCheckFailed":
                raise failure() from None
        if "TransactionConflict" in codes:
            raise Conflict() from None
        raise


class SmtpRepository:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, smtp_id: str) -> Smtp | None:
        key = {"_id": {"S": smtp_id}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return Smtp.from_item(item) if item else None

    def get_owned(self, owner: str, smtp_id: str) -> Smtp:
        """The owner's server; SmtpNotFound when there is none, and when it is another account's (the
        contract: someone else's resource is indistinguishable from a missing one)."""
        smtp = self.get(smtp_id)
        if smtp is None or smtp.owner != owner:
            raise SmtpNotFound()
        return smtp

    def list_by_app(self, app_id: str) -> list[Smtp]:
        items = _pages(
            self.client.query,
            TableName=self.table,
            IndexName=BY_APP_INDEX,
            KeyConditionExpression="idapp = :app",
            ExpressionAttributeValues={":app": {"S": app_id}},
        )
        return [Smtp.from_item(item) for item in items]

    def create(self, smtp: Smtp, app_exists: dict[str, Any]) -> None:
        """Store a new server, in one transaction with the check that its app still exists."""
        put = {
            "Put": {
                "TableName": self.table,
                "Item": smtp.to_item(),
                "ConditionExpression": "attribute_not_exists(#id)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }
        transact(self.client, [app_exists, put], failures=(AppNotFound, Conflict))

    def update(
        self,
        smtp: Smtp,
        changed: Iterable[str],
        expected_version: int,
        app_exists: dict[str, Any] | None = None,
    ) -> None:
        """Write the changed attributes (item names) if the server is still at `expected_version`.

        Only what the edit changed is written, so a concurrent check's status and counters survive.
        """
        values = smtp.item_values()
        names = {"#version": "version", "#modified": "modified", "#rank": "rank", "#owner": "iduser"}
        attributes: dict[str, Any] = {
            ":expected": {"N": str(expected_version)},
            ":version": {"N": str(smtp.version)},
            ":modified": {"S": smtp.modified},
            ":rank": {"S": smtp.rank},
            ":owner": {"S": smtp.owner},
        }
        sets = ["#version = :version", "#modified = :modified", "#rank = :rank"]
        removes = []
        for position, name in enumerate(sorted(set(changed))):
            names[f"#f{position}"] = name
            if values.get(name) is None:
                removes.append(f"#f{position}")
            else:
                attributes[f":f{position}"] = to_attribute(values[name])
                sets.append(f"#f{position} = :f{position}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "TableName": self.table,
            "Key": {"_id": {"S": smtp.id}},
            "UpdateExpression": expression,
            "ConditionExpression": "#version = :expected AND #owner = :owner",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attributes,
        }
        if app_exists is None:
            try:
                self.client.update_item(**update)
            except Exception as error:
                if _code(error) == "ConditionalCheckFailedException":
                    raise Conflict() from None
                raise
        else:
            transact(self.client, [app_exists, {"Update": update}], failures=(AppNotFound, Conflict))

    def mark_has_password(self, smtp_id: str) -> None:
        """Record that the server's secret now exists (create's last step); SmtpNotFound if it is gone.

        `version` stays as it is: this completes the create, it is not an edit that a concurrent one
        should lose to.
        """
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                UpdateExpression="SET hasPassword = :yes",
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={"#id": "_id"},
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
        except Exception as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise SmtpNotFound() from None
            raise

    def delete_new(self, smtp_id: str) -> None:
        """Undo a create whose secret could not be written: delete the record while nobody edited it."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                ConditionExpression="version = :first",
                ExpressionAttributeValues={":first": {"N": "1"}},
            )
        except Exception as error:
            if _code(error) != "ConditionalCheckFailedException":  # gone, or edited since: theirs now
                raise

    def delete(self, owner: str, smtp_id: str) -> Smtp | None:
        """Delete a server the owner has; None when there is none (or it is someone else's)."""
        try:
            old = self.client.delete_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                ConditionExpression="iduser = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
                ReturnValues="ALL_OLD",
            )
        except Exception as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return Smtp.from_item(old["Attributes"]) if old.get("Attributes") else None

    def delete_many(self, smtp_ids: list[str]) -> None:
        """BatchWriteItem in chunks of 25, retrying unprocessed items with backoff."""
        for start in range(0, len(smtp_ids), _BATCH):
            requests = [
                {"DeleteRequest": {"Key": {"_id": {"S": i}}}} for i in smtp_ids[start : start + _BATCH]
            ]
            pending: dict[str, Any] = {self.table: requests}
            for attempt in range(8):
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            if pending:
                raise RuntimeError("DynamoDB left deletions unprocessed after retries")

    def record_check(
        self, smtp_id: str, owner: str, expected_version: int, *, ok: bool, lastcheck: dict[str, Any]
    ) -> None:
        """Store a check's outcome in one conditional UpdateItem.

        Success: status A, numerrors 0; failure: status D, numerrors + 1 (atomic ADD, so concurrent
        checks all count). `version` and `modified` stay as they are: a check is not an edit and never
        makes a concurrent edit fail. The write holds only while the server exists, is `owner`'s and
        is still at `expected_version` (the settings the check used): otherwise SmtpNotFound when it
        is gone, Conflict when it was edited meanwhile, and nothing is written.
        """
        names = {
            "#id": "_id",
            "#owner": "iduser",
            "#version": "version",
            "#status": "status",
            "#numerrors": "numerrors",
            "#lastcheck": "lastcheck",
        }
        values: dict[str, Any] = {
            ":expected": {"N": str(expected_version)},
            ":owner": {"S": owner},
            ":status": {"S": STATUS_ACTIVE if ok else STATUS_DISABLED},
            ":lastcheck": to_attribute(lastcheck),
        }
        if ok:
            expression = "SET #status = :status, #lastcheck = :lastcheck, #numerrors = :zero"
            values[":zero"] = {"N": "0"}
        else:
            expression = "SET #status = :status, #lastcheck = :lastcheck ADD #numerrors :one"
            values[":one"] = {"N": "1"}
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#id) AND #owner = :owner AND #version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            old = (getattr(error, "response", None) or {}).get("Item") or {}
            if old.get("iduser") != {"S": owner}:
                raise SmtpNotFound() from None
            raise Conflict() from None


class SecretRepository:
    """One secret per SMTP server, named prefix + SMTP id, holding {"password": ...}."""

    def __init__(self, client: Any | None, prefix: str, recovery_days: int = 7) -> None:
        self._client = client
        self.prefix = prefix
        self.recovery_days = recovery_days

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("secretsmanager")
        return self._client

    def name(self, smtp_id: str) -> str:
        return self.prefix + smtp_id

    def create(self, smtp: Smtp, password: str) -> None:
        self.client.create_secret(
            Name=self.name(smtp.id),
            Description=f"smtp-hub: password of SMTP server {smtp.id}",
            SecretString=json.dumps({"password": password}),
            Tags=[
                {"Key": "smtp-hub:smtp", "Value": smtp.id},
                {"Key": "smtp-hub:app", "Value": smtp.app_id},
                {"Key": "smtp-hub:owner", "Value": smtp.owner},
            ],
        )

    def create_or_put(self, smtp: Smtp, password: str) -> str | None:
        """Create the secret; when it exists already (left by an earlier failure half way, and named after
        this very server), store a new version instead and return its id, for `restore_previous`."""
        try:
            self.create(smtp, password)
        except Exception as error:
            if _code(error) != "ResourceExistsException":
                raise
            return self.put(smtp.id, password)
        return None

    def put(self, smtp_id: str, password: str) -> str:
        """Store a new current password; returns the version id, for `restore_previous`."""
        response = self.client.put_secret_value(
            SecretId=self.name(smtp_id), SecretString=json.dumps({"password": password})
        )
        return str(response["VersionId"])

    def restore_previous(self, smtp_id: str, failed_version: str) -> None:
        """Undo `put`: make the version before `failed_version` current again.

        Only while `failed_version` is still the current one: if a concurrent edit has put its own
        password since, that one stays (and if it moves between this read and the update, the update is
        refused, since `RemoveFromVersionId` must hold AWSCURRENT).
        """
        versions = self.client.describe_secret(SecretId=self.name(smtp_id)).get("VersionIdsToStages", {})
        if "AWSCURRENT" not in versions.get(failed_version, ()):
            return
        previous = next((v for v, stages in versions.items() if "AWSPREVIOUS" in stages), None)
        if previous:
            self.client.update_secret_version_stage(
                SecretId=self.name(smtp_id),
                VersionStage="AWSCURRENT",
                MoveToVersionId=previous,
                RemoveFromVersionId=failed_version,
            )

    def get(self, smtp_id: str) -> str | None:
        try:
            # The stage named: moto (the local runtime) otherwise ignores a restore_previous.
            value = self.client.get_secret_value(SecretId=self.name(smtp_id), VersionStage="AWSCURRENT")[
                "SecretString"
            ]
        except Exception as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        return str(json.loads(value)["password"])

    def delete(self, smtp_id: str, *, recoverable: bool = True) -> bool:
        """Schedule deletion (recoverable for some days) or delete at once; False when nothing was to do.

        Idempotent: a secret that is gone, or already scheduled for deletion, is done with. (Secrets Manager
        answers InvalidRequestException for the latter; with the parameters used here, and secrets that
        have no replicas, that is its only cause.)
        """
        options: dict[str, Any] = (
            {"RecoveryWindowInDays": self.recovery_days}
            if recoverable
            else {"ForceDeleteWithoutRecovery": True}
        )
        try:
            self.client.delete_secret(SecretId=self.name(smtp_id), **options)
        except Exception as error:
            code = _code(error)
            if code == "ResourceNotFoundException" or (recoverable and code == "InvalidRequestException"):
                return False
            raise
        return True
