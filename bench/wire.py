"""Real boto3 clients whose HTTP send is answered in memory: DynamoDB and Secrets Manager at the wire.

The warm-overhead, check and first-request measures call AWS through the very clients the layer builds
(`smtphub.aws.client`): botocore validates the parameters, serializes the request, resolves the
endpoint, signs it (SigV4), runs its retry handlers and parses the response into Python objects, as in
Lambda. Only the HTTP exchange itself is skipped: a handler on botocore's `before-send` event receives
the prepared, signed request and returns an `AWSResponse` built here, from a small in-memory model of
the two services (just the operations smtphub uses). Errors go back as AWS sends them (HTTP 400 and a
JSON `__type`), so botocore raises its own `ClientError`.

The models are deliberately naive: conditions and filters are not evaluated and deletions are not
applied (`keep_deleted`), so that the same request can be replayed thousands of times and take the same
path every time. Puts and updates are applied, and a ProjectionExpression (top-level names) is.

How the handler gets onto the clients: `install()` adds it to botocore's built-in handlers, which
every botocore session registers when it is created, so every client built afterwards (from any boto3
session) is answered here; `attach_existing()` registers it on the clients already built (the cold-start
processes build theirs during the measured init, before the bench's code is loaded). A request for
any other service fails: nothing goes to the network.

Standard library and botocore only: the cold-start child processes import this after their init.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# table name -> {"key": [hash, range?], "indexes": {index name: [hash, range?]}}
Schemas = dict[str, dict[str, Any]]

UNIQUE_ID = "smtp-hub-bench-wire"


class ServiceError(Exception):
    """An AWS error answer: sent back as HTTP 400 with its code, so that botocore raises ClientError."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message or code


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b")
_IF_NOT_EXISTS = re.compile(r"if_not_exists\(\s*([^,\s]+)\s*,\s*(:\w+)\s*\)")


def _value(attribute: dict[str, Any]) -> Any:
    ((_, value),) = attribute.items()
    return value


def _actions(text: str) -> list[str]:
    """An update clause's comma-separated actions (commas inside parentheses are not separators)."""
    actions, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            actions.append(current.strip())
            current = ""
        else:
            current += char
    return [action for action in [*actions, current.strip()] if action]


def _number(attribute: dict[str, Any]) -> Any:
    text = attribute["N"]
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _projected(item: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The item with only the top-level attributes a ProjectionExpression names, as DynamoDB answers (the
    whole item without one). What is parsed must be what AWS sends: a Query for the keys alone is answered
    with the keys alone, not with whole items for botocore to parse."""
    projection = request.get("ProjectionExpression")
    if not projection:
        return dict(item)
    names = request.get("ExpressionAttributeNames") or {}
    wanted = {names.get(part.strip(), part.strip()) for part in projection.split(",")}
    return {name: value for name, value in item.items() if name in wanted}


class FakeDynamoDB:
    """DynamoDB's JSON API for the operations smtphub uses, on items in DynamoDB's wire shape."""

    def __init__(self, schemas: Schemas, *, keep_deleted: bool = True) -> None:
        self.schemas = schemas
        self.keep_deleted = keep_deleted
        self.items: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {name: {} for name in schemas}
        self.calls: Counter[str] = Counter()

    # -- helpers -------------------------------------------------------------------------------
    def _table(self, name: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        if name not in self.items:
            raise ServiceError("ResourceNotFoundException", "Requested resource not found")
        return self.items[name]

    def _key(self, table: str, item: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_value(item[name]) for name in self.schemas[table]["key"])

    def put(self, table: str, item: dict[str, Any]) -> None:
        self._table(table)[self._key(table, item)] = dict(item)

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        """SET (a value, or if_not_exists), REMOVE, ADD (numbers) and DELETE of top-level attributes."""
        table = request["TableName"]
        key = self._key(table, request["Key"])
        current = dict(self._table(table).get(key) or request["Key"])
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        parts = _CLAUSE.split(request["UpdateExpression"])
        for keyword, clause in zip(parts[1::2], parts[2::2], strict=True):
            for action in _actions(clause):
                if keyword == "SET":
                    target, _, expression = (part.strip() for part in action.partition("="))
                    name = names.get(target, target)
                    fallback = _IF_NOT_EXISTS.fullmatch(expression)
                    if fallback:
                        current.setdefault(name, values[fallback.group(2)])
                    else:
                        current[name] = values[expression]
                elif keyword == "ADD":
                    target, placeholder = action.split()
                    name = names.get(target, target)
                    if name in current:
                        total = _number(current[name]) + _number(values[placeholder])
                        current[name] = {"N": str(total)}
                    else:
                        current[name] = values[placeholder]
                else:  # REMOVE, and DELETE (from a set: the bench's data has none)
                    target = action.split()[0]
                    current.pop(names.get(target, target), None)
        self.items[table][key] = current
        return current

    # -- the API ---------------------------------------------------------------------------------
    def get_item(self, *, TableName: str, Key: dict[str, Any], **request: Any) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        item = self._table(TableName).get(self._key(TableName, Key))
        return {"Item": _projected(item, request)} if item else {}

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
        item = self._table(TableName).get(key)
        if item and not self.keep_deleted:
            del self.items[TableName][key]
        return {"Attributes": dict(item)} if item and request.get("ReturnValues") == "ALL_OLD" else {}

    def query(self, *, TableName: str, KeyConditionExpression: str, **request: Any) -> dict[str, Any]:
        self.calls["Query"] += 1
        schema = self.schemas[TableName]
        index = request.get("IndexName")
        hash_name, *range_names = schema["indexes"][index] if index else schema["key"]
        values = {k: _value(v) for k, v in (request.get("ExpressionAttributeValues") or {}).items()}
        placeholders = re.findall(r":\w+", KeyConditionExpression)
        wanted = values[placeholders[0]]
        low = high = None
        if "BETWEEN" in KeyConditionExpression and len(placeholders) >= 3:
            low, high = values[placeholders[1]], values[placeholders[2]]
        found = []
        for item in self._table(TableName).values():
            if hash_name not in item or _value(item[hash_name]) != wanted:
                continue
            if range_names and low is not None:
                sort = _value(item.get(range_names[0], {"S": ""}))
                if not low <= sort <= high:  # type: ignore[operator]
                    continue
            found.append(item)
        if range_names:
            found.sort(key=lambda item: _value(item.get(range_names[0], {"S": ""})))
        items = [_projected(item, request) for item in found]
        return {"Items": items, "Count": len(found), "ScannedCount": len(found)}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls["TransactWriteItems"] += 1
        for step in TransactItems:
            if "Put" in step:
                self.put(step["Put"]["TableName"], step["Put"]["Item"])
            elif "Update" in step:
                self._update(step["Update"])
            elif "Delete" in step and not self.keep_deleted:
                delete = step["Delete"]
                self._table(delete["TableName"]).pop(self._key(delete["TableName"], delete["Key"]), None)
        return {}

    def batch_write_item(self, *, RequestItems: dict[str, list[dict[str, Any]]], **_: Any) -> dict[str, Any]:
        self.calls["BatchWriteItem"] += 1
        for table, requests in RequestItems.items():
            for request in requests:
                if "PutRequest" in request:
                    self.put(table, request["PutRequest"]["Item"])
                elif not self.keep_deleted:
                    self._table(table).pop(self._key(table, request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {}}


CURRENT = "AWSCURRENT"


class FakeSecretsManager:
    """Secrets Manager's JSON API for the operations smtphub uses, with versions and staging labels.

    A secret is its versions (VersionId -> value and labels); a label is on at most one version of a
    secret; a version without any label is purged (as AWS does, later). `secrets` maps each name to
    the value its AWSCURRENT version holds (what the seed writes and a test reads).

    Which version holds a label is kept in an index (`_holders`), so that moving a label costs the same
    however many versions a secret has. The warm overhead replays one edit with a new password a
    thousand times, each version under a label of its own, with no stream to tidy the labels behind it
    (as smtphub.smtps.cleanup does in AWS, where a secret holds at most 20 labels): a fake that scanned
    every version per label counted a cost that grew with the bench's own iterations as if the handler
    spent it (its answer averaged 0.32 ms a request over 1,000 edits, 0.16 with the index).
    """

    def __init__(self, *, keep_deleted: bool = True) -> None:
        self.keep_deleted = keep_deleted
        self.versions: dict[str, dict[str, dict[str, Any]]] = {}  # name -> version id -> value, labels
        self._holders: dict[str, dict[str, str]] = {}  # name -> label -> the version id holding it
        self.calls: Counter[str] = Counter()
        self._tokens = itertools.count(1)

    @property
    def secrets(self) -> _CurrentValues:
        return _CurrentValues(self)

    def _token(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._tokens):012d}"

    @staticmethod
    def _arn(name: str) -> str:
        return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"

    def _secret(self, name: str) -> dict[str, dict[str, Any]]:
        if name not in self.versions:
            raise ServiceError(
                "ResourceNotFoundException", "Secrets Manager can't find the specified secret."
            )
        return self.versions[name]

    def holder(self, name: str, label: str) -> str | None:
        """The version of secret `name` that holds `label` (None: no version does). The index of a secret
        is built from its versions the first time it is asked for (after `InMemoryAws.load`), then kept."""
        holders = self._holders.get(name)
        if holders is None:
            secret = self.versions.get(name, {})
            holders = {held: v for v, version in secret.items() for held in version["labels"]}
            self._holders[name] = holders
        return holders.get(label)

    def forget_labels(self, name: str) -> None:
        """Versions of `name` were written around the index: it is built again when next needed."""
        self._holders.pop(name, None)

    def _label(self, name: str, label: str, version_id: str | None, *, away_from: str | None = None) -> None:
        """Move `label` to `version_id` (None: only remove it from `away_from`); purge the version that lost
        it when it has no label left."""
        secret = self._secret(name)
        if away_from is not None and label not in secret.get(away_from, {}).get("labels", set()):
            raise ServiceError("InvalidParameterException", f"{label} is not on version {away_from}")
        if version_id is not None and version_id not in secret:
            raise ServiceError("ResourceNotFoundException", f"no version {version_id}")
        before = self.holder(name, label)
        holders = self._holders[name]
        if before is not None:
            secret[before]["labels"].discard(label)
            del holders[label]
        if version_id is not None:
            secret[version_id]["labels"].add(label)
            holders[label] = version_id
        if before is not None and not secret[before]["labels"]:
            del secret[before]

    def _store(self, name: str, value: str, token: str | None, labels: list[str]) -> str:
        version_id = token or self._token()
        secret = self.versions.setdefault(name, {})
        secret.setdefault(version_id, {"value": value, "labels": set()})
        for label in labels:
            self._label(name, label, version_id)
        return version_id

    def create_secret(
        self, *, Name: str, SecretString: str, ClientRequestToken: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self.calls["CreateSecret"] += 1
        if Name in self.versions:
            raise ServiceError("ResourceExistsException", f"The secret {Name} already exists.")
        version_id = self._store(Name, SecretString, ClientRequestToken, [CURRENT])
        return {"ARN": self._arn(Name), "Name": Name, "VersionId": version_id}

    def put_secret_value(
        self,
        *,
        SecretId: str,
        SecretString: str,
        ClientRequestToken: str | None = None,
        VersionStages: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self.calls["PutSecretValue"] += 1
        self._secret(SecretId)
        labels = VersionStages or [CURRENT]
        version_id = self._store(SecretId, SecretString, ClientRequestToken, labels)
        return {
            "ARN": self._arn(SecretId),
            "Name": SecretId,
            "VersionId": version_id,
            "VersionStages": labels,
        }

    def get_secret_value(
        self, *, SecretId: str, VersionId: str | None = None, VersionStage: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self.calls["GetSecretValue"] += 1
        secret = self._secret(SecretId)
        if VersionId is None:
            label = VersionStage or CURRENT
            VersionId = self.holder(SecretId, label)
        if VersionId not in secret:
            raise ServiceError(
                "ResourceNotFoundException", "Secrets Manager can't find the specified version."
            )
        version = secret[VersionId]
        return {
            "ARN": self._arn(SecretId),
            "Name": SecretId,
            "SecretString": version["value"],
            "VersionId": VersionId,
            "VersionStages": sorted(version["labels"]),
            "CreatedDate": 1795946400.0,
        }

    def describe_secret(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls["DescribeSecret"] += 1
        secret = self._secret(SecretId)
        return {
            "ARN": self._arn(SecretId),
            "Name": SecretId,
            "VersionIdsToStages": {v: sorted(version["labels"]) for v, version in secret.items()},
        }

    def update_secret_version_stage(
        self,
        *,
        SecretId: str,
        VersionStage: str,
        MoveToVersionId: str | None = None,
        RemoveFromVersionId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self.calls["UpdateSecretVersionStage"] += 1
        self._label(SecretId, VersionStage, MoveToVersionId, away_from=RemoveFromVersionId)
        return {"ARN": self._arn(SecretId), "Name": SecretId}

    def delete_secret(self, *, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls["DeleteSecret"] += 1
        self._secret(SecretId)
        if not self.keep_deleted:
            del self.versions[SecretId]
            self.forget_labels(SecretId)
        return {"ARN": self._arn(SecretId), "Name": SecretId, "DeletionDate": 1795946400.0}


class _CurrentValues:
    """name -> the value of its AWSCURRENT version; setting one writes a new current version."""

    def __init__(self, fake: FakeSecretsManager) -> None:
        self.fake = fake

    def _current(self, name: str) -> str | None:
        version_id = self.fake.holder(name, CURRENT)
        return None if version_id is None else str(self.fake.versions[name][version_id]["value"])

    def __getitem__(self, name: str) -> str:
        value = self._current(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.fake.versions.setdefault(name, {})
        self.fake._store(name, value, None, [CURRENT])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._current(name) is not None

    def keys(self) -> list[str]:
        return [name for name in self.fake.versions if name in self]

    def items(self) -> list[tuple[str, str]]:
        return [(name, self[name]) for name in self.keys()]


_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")

# X-Amz-Target prefix -> (service, its JSON content type, the __type namespace of its errors)
_TARGETS = {
    "DynamoDB_20120810": ("dynamodb", "application/x-amz-json-1.0", "com.amazonaws.dynamodb.v20120810#"),
    "secretsmanager": ("secretsmanager", "application/x-amz-json-1.1", ""),
    "AmazonSQS": ("sqs", "application/x-amz-json-1.0", "com.amazonaws.sqs#"),
}


class _Raw:
    """What AWSResponse reads a body from (`raw.stream()`)."""

    __slots__ = ("at", "body")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at = 0

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, amt: int | None = None) -> bytes:
        """For a streaming body (S3's GetObject): botocore's StreamingBody reads the raw response."""
        end = len(self.body) if amt is None else self.at + amt
        chunk, self.at = self.body[self.at : end], min(end, len(self.body))
        return chunk

    def close(self) -> None:
        """StreamingBody closes its raw stream when used as a context manager (`with answer["Body"]`)."""
        self.at = len(self.body)


class InMemoryAws:
    """The in-memory services, by boto3 service name, and the `before-send` answer built from them."""

    def __init__(self, schemas: Schemas) -> None:
        from bench.wire_storage import FakeS3, FakeSQS

        self.services: dict[str, Any] = {
            "dynamodb": FakeDynamoDB(schemas),
            "secretsmanager": FakeSecretsManager(),
            "sqs": FakeSQS(),
            "s3": FakeS3(),
        }
        self.answer_ns = 0  # CPU time spent building answers here (the stand-in for the network exchange)
        self.sends = 0
        self.signed = 0  # requests that arrived signed (an Authorization header with SigV4)
        self._requests = itertools.count(1)

    def contents(self) -> dict[str, Any]:
        """The stored items and secrets (every version, with its labels), as JSON for `load`."""
        tables = self.services["dynamodb"].items
        versions = self.services["secretsmanager"].versions
        return {
            "items": {table: list(items.values()) for table, items in tables.items()},
            "secrets": {
                name: {v: {"value": x["value"], "labels": sorted(x["labels"])} for v, x in secret.items()}
                for name, secret in versions.items()
            },
        }

    def load(self, contents: dict[str, Any]) -> InMemoryAws:
        for table, items in contents["items"].items():
            for item in items:
                self.services["dynamodb"].put(table, item)
        secrets = self.services["secretsmanager"]
        for name, secret in contents["secrets"].items():
            secrets.versions[name] = {
                v: {"value": x["value"], "labels": set(x["labels"])} for v, x in secret.items()
            }
            secrets.forget_labels(name)
        return self

    def covers(self, services: set[str] | list[str]) -> bool:
        return all(service in self.services for service in services)

    def calls(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for service, model in self.services.items():
            for operation, count in model.calls.items():
                total[f"{service}:{operation}"] += count
        return total

    def reset_calls(self) -> None:
        for model in self.services.values():
            model.calls.clear()
        self.answer_ns = self.sends = self.signed = 0

    def answer(self, request: Any) -> Any:
        """The AWSResponse to one prepared request (botocore's `before-send`)."""
        from botocore.awsrequest import AWSResponse

        started = time.thread_time_ns()
        target = request.headers.get("X-Amz-Target") or ""
        if isinstance(target, bytes):
            target = target.decode()
        prefix, _, operation = target.partition(".")
        if not target and ".amazonaws.com" in request.url and "s3" in request.url.split("/")[2]:
            return self._answer_s3(request, started)
        if prefix not in _TARGETS:
            raise RuntimeError(
                f"bench.wire answers DynamoDB, Secrets Manager, SQS and S3 only, not {request.url}"
            )
        service, content_type, namespace = _TARGETS[prefix]
        authorization = request.headers.get("Authorization") or b""
        if (authorization.decode() if isinstance(authorization, bytes) else authorization).startswith(
            "AWS4-HMAC-SHA256 "
        ):
            self.signed += 1
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        params = json.loads(body or b"{}")
        method = getattr(self.services[service], _SNAKE.sub("_", operation).lower(), None)
        try:
            if method is None:
                raise ServiceError("UnknownOperationException", f"{operation} is not modelled by bench.wire")
            status, document = 200, method(**params)
        except ServiceError as error:
            status = 400
            document = {"__type": namespace + error.code, "message": error.message}
        payload = json.dumps(document, separators=(",", ":")).encode()
        headers = {
            "x-amzn-RequestId": f"00000000-0000-4000-8000-{next(self._requests):012d}",
            "Content-Type": content_type,
            "Content-Length": str(len(payload)),
        }
        if service == "dynamodb":
            headers["x-amz-crc32"] = str(zlib.crc32(payload) & 0xFFFFFFFF)
        response = AWSResponse(request.url, status, headers, _Raw(payload))
        self.sends += 1
        self.answer_ns += time.thread_time_ns() - started
        return response

    def _answer_s3(self, request: Any, started: int) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        authorization = request.headers.get("Authorization") or b""
        if (authorization.decode() if isinstance(authorization, bytes) else authorization).startswith(
            "AWS4-"
        ):
            self.signed += 1
        status, headers, payload = self.services["s3"].answer(
            request.method, request.url, request.headers, body or b""
        )
        headers = {
            "x-amz-request-id": f"{next(self._requests):016d}",
            "Content-Length": str(len(payload)),
            **headers,
        }
        self.sends += 1
        self.answer_ns += time.thread_time_ns() - started
        return AWSResponse(request.url, status, headers, _Raw(payload))


# -- wiring the answer into botocore --------------------------------------------------------------
class _State:
    current: InMemoryAws | None = None
    installed = False
    lock = threading.Lock()


def _before_send(request: Any, **_: Any) -> Any:
    aws = _State.current
    if aws is None:
        raise RuntimeError("bench.wire is installed but has no in-memory AWS: nothing goes to the network")
    return aws.answer(request)


def install(aws: InMemoryAws) -> InMemoryAws:
    """Answer every botocore client built from now on (and `attach_existing()` ones) from `aws`."""
    from botocore import handlers

    with _State.lock:
        _State.current = aws
        if not _State.installed:
            # First: its answer wins over any other registered the same way (see `installed` for moto's).
            handlers.BUILTIN_HANDLERS.insert(0, ("before-send", _before_send))
            _State.installed = True
    return aws


def uninstall() -> None:
    """Stop answering: new sessions no longer get the handler (attached clients fail closed)."""
    from botocore import handlers

    with _State.lock:
        _State.current = None
        if _State.installed:
            handlers.BUILTIN_HANDLERS[:] = [
                spec for spec in handlers.BUILTIN_HANDLERS if spec[1:] != (_before_send,)
            ]
            _State.installed = False


@contextmanager
def installed(aws: InMemoryAws) -> Iterator[InMemoryAws]:
    """`install(aws)` for the time of a block; then whatever was installed before, or nothing."""
    import sys

    previous = _State.current if _State.installed else None
    # botocore calls every `before-send` handler (the first answer wins, but all run): moto's, when this
    # process has one active, would apply the same request to its own backend too. Paused meanwhile.
    moto = sys.modules.get("moto.core.models")
    stubber = getattr(moto, "botocore_stubber", None)
    was_enabled = getattr(stubber, "enabled", False)
    if stubber is not None:
        stubber.enabled = False
    install(aws)
    try:
        yield aws
    finally:
        if stubber is not None:
            stubber.enabled = was_enabled
        if previous is None:
            uninstall()
        else:
            install(previous)


def attach(client: Any) -> None:
    """Answer an already built client too (registered once per client)."""
    client.meta.events.register("before-send", _before_send, unique_id=UNIQUE_ID)


def attach_existing() -> int:
    """Attach to every botocore client alive in this process (those built before `install`)."""
    import gc

    from botocore.client import BaseClient

    found = [obj for obj in gc.get_objects() if isinstance(obj, BaseClient)]
    for client in found:
        attach(client)
    return len(found)


def use_in_layer(aws: InMemoryAws) -> InMemoryAws:
    """Install `aws`, then drop the layer's clients and services so that they are built anew with it
    (every client the layer builds from then on is answered by `aws`)."""
    install(aws)
    from bench import layer

    layer.reset()
    return aws
