"""A tiny in-memory DynamoDB and Secrets Manager: just the operations smtphub's repositories use.

The warm-overhead measure answers every AWS call from here so that what is timed is the handler's own
work (parsing, domain logic, item mapping, logging), not a network or moto. It is deliberately naive:
conditions are not evaluated and deletions are not applied (`keep_deleted`), so that the same request
can be replayed thousands of times and take the same path every time. Puts and updates are applied.

Pure standard library: the cold-start child processes import it after their measured init.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from typing import Any

# table name -> {"key": [hash, range?], "indexes": {index name: [hash, range?]}}
Schemas = dict[str, dict[str, Any]]


class StubError(Exception):
    """Shaped like botocore's ClientError where the repositories look (error.response)."""

    def __init__(self, code: str, operation: str) -> None:
        super().__init__(f"{code} in {operation}")
        self.response = {"Error": {"Code": code, "Message": code}}


_SET_PART = re.compile(r"\s*(\S+)\s*=\s*(\S+)\s*")


def _value(attribute: dict[str, Any]) -> Any:
    ((_, value),) = attribute.items()
    return value


class FakeDynamoDB:
    def __init__(self, schemas: Schemas, *, keep_deleted: bool = True) -> None:
        self.schemas = schemas
        self.keep_deleted = keep_deleted
        self.items: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {name: {} for name in schemas}
        self.calls: Counter[str] = Counter()

    # -- helpers -------------------------------------------------------------------------------
    def _key(self, table: str, item: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_value(item[name]) for name in self.schemas[table]["key"])

    def put(self, table: str, item: dict[str, Any]) -> None:
        self.items[table][self._key(table, item)] = dict(item)

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        table = request["TableName"]
        key = self._key(table, request["Key"])
        current = self.items[table].get(key) or dict(request["Key"])
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        expression = request["UpdateExpression"]
        set_part, _, remove_part = expression.partition(" REMOVE ")
        if set_part.startswith("SET "):
            for assignment in set_part[4:].split(","):
                match = _SET_PART.fullmatch(assignment)
                if match:
                    name, placeholder = match.groups()
                    current[names.get(name, name)] = values[placeholder]
        for name in filter(None, (part.strip() for part in remove_part.split(","))):
            current.pop(names.get(name, name), None)
        self.items[table][key] = current
        return current

    # -- the API ---------------------------------------------------------------------------------
    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        item = self.items[TableName].get(self._key(TableName, Key))
        return {"Item": dict(item)} if item else {}

    def put_item(self, *, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls["PutItem"] += 1
        self.put(TableName, Item)
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls["UpdateItem"] += 1
        item = self._update(request)
        return {"Attributes": dict(item)} if request.get("ReturnValues") == "ALL_NEW" else {}

    def delete_item(self, *, TableName: str, Key: dict[str, Any], **request: Any) -> dict[str, Any]:
        self.calls["DeleteItem"] += 1
        key = self._key(TableName, Key)
        item = self.items[TableName].get(key)
        if item and not self.keep_deleted:
            del self.items[TableName][key]
        return {"Attributes": dict(item)} if item and request.get("ReturnValues") == "ALL_OLD" else {}

    def query(self, *, TableName: str, KeyConditionExpression: str, **request: Any) -> dict[str, Any]:
        self.calls["Query"] += 1
        schema = self.schemas[TableName]
        index = request.get("IndexName")
        hash_name, *range_names = schema["indexes"][index] if index else schema["key"]
        names = request.get("ExpressionAttributeNames") or {}
        values = {k: _value(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        placeholders = re.findall(r":\w+", KeyConditionExpression)
        wanted = values[placeholders[0]]
        low = high = None
        if "BETWEEN" in KeyConditionExpression and len(placeholders) >= 3:
            low, high = values[placeholders[1]], values[placeholders[2]]
        del names
        found = []
        for item in self.items[TableName].values():
            if hash_name not in item or _value(item[hash_name]) != wanted:
                continue
            if range_names and low is not None:
                sort = _value(item.get(range_names[0], {"S": ""}))
                if not low <= sort <= high:  # type: ignore[operator]
                    continue
            found.append(item)
        if range_names:
            found.sort(key=lambda item: _value(item.get(range_names[0], {"S": ""})))
        return {"Items": [dict(item) for item in found], "Count": len(found)}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls["TransactWriteItems"] += 1
        for step in TransactItems:
            if "Put" in step:
                self.put(step["Put"]["TableName"], step["Put"]["Item"])
            elif "Update" in step:
                self._update(step["Update"])
            elif "Delete" in step and not self.keep_deleted:
                delete = step["Delete"]
                self.items[delete["TableName"]].pop(self._key(delete["TableName"], delete["Key"]), None)
        return {}

    def batch_write_item(self, *, RequestItems: dict[str, list[dict[str, Any]]], **_: Any) -> dict[str, Any]:
        self.calls["BatchWriteItem"] += 1
        for table, requests in RequestItems.items():
            for request in requests:
                if "PutRequest" in request:
                    self.put(table, request["PutRequest"]["Item"])
                elif not self.keep_deleted:
                    self.items[table].pop(self._key(table, request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {}}


class FakeSecretsManager:
    def __init__(self, *, keep_deleted: bool = True) -> None:
        self.keep_deleted = keep_deleted
        self.secrets: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self._versions = itertools.count(1)

    def _version(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._versions):012d}"

    def create_secret(self, *, Name: str, SecretString: str, **_: Any) -> dict[str, Any]:
        self.calls["CreateSecret"] += 1
        self.secrets[Name] = SecretString
        return {
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{Name}",
            "Name": Name,
            "VersionId": self._version(),
        }

    def put_secret_value(self, *, SecretId: str, SecretString: str, **_: Any) -> dict[str, Any]:
        self.calls["PutSecretValue"] += 1
        self.secrets[SecretId] = SecretString
        return {"Name": SecretId, "VersionId": self._version()}

    def get_secret_value(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls["GetSecretValue"] += 1
        if SecretId not in self.secrets:
            raise StubError("ResourceNotFoundException", "GetSecretValue")
        return {"Name": SecretId, "SecretString": self.secrets[SecretId], "VersionId": "current"}

    def describe_secret(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls["DescribeSecret"] += 1
        return {
            "Name": SecretId,
            "VersionIdsToStages": {"previous": ["AWSPREVIOUS"], "current": ["AWSCURRENT"]},
        }

    def update_secret_version_stage(self, **_: Any) -> dict[str, Any]:
        self.calls["UpdateSecretVersionStage"] += 1
        return {}

    def delete_secret(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls["DeleteSecret"] += 1
        if not self.keep_deleted:
            self.secrets.pop(SecretId, None)
        return {"Name": SecretId}


class Stubs:
    """The fake clients by boto3 service name, installable in place of smtphub.aws.client."""

    def __init__(self, schemas: Schemas) -> None:
        self.clients: dict[str, Any] = {
            "dynamodb": FakeDynamoDB(schemas),
            "secretsmanager": FakeSecretsManager(),
        }

    def covers(self, services: set[str] | list[str]) -> bool:
        return all(service in self.clients for service in services)

    def calls(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for service, client in self.clients.items():
            for operation, count in client.calls.items():
                total[f"{service}:{operation}"] += count
        return total

    def reset_calls(self) -> None:
        for client in self.clients.values():
            client.calls.clear()

    def install(self) -> None:
        """Answer smtphub.aws.client(service) from here; the services' caches are dropped first."""
        from smtphub import aws, services

        services.reset()
        clients = self.clients

        def client(service: str) -> Any:
            return clients[service]

        client.cache_clear = lambda: None  # type: ignore[attr-defined]
        aws.client = client  # type: ignore[assignment]


def seed(
    stubs: Stubs,
    *,
    account: str,
    app_id: str,
    smtp_id: str,
    apps_table: str,
    smtps_table: str,
    servers: int = 3,
    apps: int = 5,
    host: str = "127.0.0.1",
    port: int = 2525,
    username: str = "user@example.net",
    password: str = "smtp-password-1234",
) -> None:
    """An account with `apps` apps; the first (app_id) has `servers` SMTP servers, the first smtp_id."""
    from smtphub.models import App, Smtp

    dynamodb = stubs.clients["dynamodb"]
    secrets = stubs.clients["secretsmanager"]
    now = "2026-11-24T10:00:00.000Z"
    for number in range(apps):
        ident = app_id if number == 0 else f"{app_id[:-4]}{number:04x}"
        app = App(
            id=ident,
            owner=account,
            name=f"App {number}",
            created=now,
            modified=now,
            testemail="ops@example.net",
            defaultfromemail="noreply@example.net",
        )
        dynamodb.put(apps_table, app.to_item())
        dynamodb.put(
            apps_table, {"iduser": {"S": account}, "_id": {"S": f"#name#app {number}"}, "app": {"S": ident}}
        )
    for number in range(servers):
        ident = smtp_id if number == 0 else f"{smtp_id[:-4]}{number:04x}"
        smtp = Smtp(
            id=ident,
            app_id=app_id,
            owner=account,
            host=host,
            port=port,
            created=now,
            modified=now,
            priority=10 + number,
            username=username,
            auth=True,
            has_password=True,
            defaultfromemail="info@example.net",
        )
        dynamodb.put(smtps_table, smtp.to_item())
        secrets.secrets[f"{_prefix()}{ident}"] = json.dumps({"password": password})


def _prefix() -> str:
    import os

    return os.environ.get("SECRET_PREFIX", "")
