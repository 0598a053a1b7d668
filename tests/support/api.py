"""The API as the endpoint suites drive it: replies checked, apps and servers made, and what the tables and
Secrets Manager hold afterwards (the record, its pinned secret version, every version and its labels), once
the SMTP table's stream has been delivered where that matters (`settle`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tests.support.aws import ACCOUNTS_TABLE, APPS_TABLE, SECRET_PREFIX, SMTPS_TABLE, Stream
from tests.support.lambdas import ACCOUNT_A, Reply, call

ID = re.compile(r"[0-9a-f]{24}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PASSWORD = "Sm7p-pa55word-never-shown"
SERVER = {
    "host": "smtp.example.net",
    "port": 587,
    "auth": True,
    "starttls": True,
    "username": "user@example.net",
    "password": PASSWORD,
}
MISSING_SMTP = "6741f0b7d1e2f3a4b5c6d7e8"
MISSING_APP = "6741f0a2c3d4e5f6a7b8c9d0"
# The binding rule's answer (the contract's "A stored secret is bound to where it may go").
PASSWORD_AGAIN = {"password": "must be given again when the server's address, user or encryption changes"}
# Our own staging labels on secret versions (smtphub.smtps.secrets); AWS's are AWSCURRENT, AWSPREVIOUS, ...
OUR_LABEL = re.compile(r"sh-r\d+-[0-9a-f]{12}")


# --- replies ------------------------------------------------------------------------------------------


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply.text
    return reply.json if reply.text else None


def error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    body: dict[str, Any] = reply.json
    assert body["error"] == code
    assert body["status"] == status
    return body


def bad(reply: Reply) -> dict[str, str]:
    fields: dict[str, str] = error(reply, 400, "BAD_REQUEST")["fields"]
    return fields


# --- making things ------------------------------------------------------------------------------------


def new_app(name: str = "Shop", account: str = ACCOUNT_A) -> str:
    app = ok(call("apps_save", {"name": name, "testemail": "ops@example.net"}, account=account))
    return str(app["_id"])


def new_smtp(idapp: str, account: str = ACCOUNT_A, **fields: Any) -> dict[str, Any]:
    """A server like SERVER (auth, username, password) with `fields` changed; None leaves a field out."""
    params = {k: v for k, v in {"idapp": idapp, **SERVER, **fields}.items() if v is not None}
    created: dict[str, Any] = ok(call("smtps_save", params, account=account))
    return created


# --- the SMTP table -----------------------------------------------------------------------------------


def items(aws: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.dynamodb.scan(TableName=SMTPS_TABLE, ConsistentRead=True)["Items"]
    return found


def stored(aws: Any, idsmtp: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = aws.dynamodb.get_item(
        TableName=SMTPS_TABLE, Key={"_id": {"S": idsmtp}}, ConsistentRead=True
    ).get("Item")
    return item


def pinned_version(aws: Any, idsmtp: str) -> str | None:
    """The secret version the server's record names (`secretVersion`); None when it names none."""
    item = stored(aws, idsmtp)
    assert item is not None, f"no record {idsmtp}"
    version = item.get("secretVersion")
    return None if version is None else str(version["S"])


# --- the quota counters (the accounts table) -----------------------------------------------------------


def counts(aws: Any, account: str = ACCOUNT_A) -> dict[str, int]:
    """Every quota count of the account, as stored: "apps" and "smtps" (the account's), "smtps@<app>" (each
    app's), counts of 0 left out (an absent counter counts 0)."""
    found: dict[str, int] = {}
    prefix = f"quota#{account}"
    for item in aws.dynamodb.scan(TableName=ACCOUNTS_TABLE, ConsistentRead=True)["Items"]:
        key = str(item["pk"]["S"])
        if key != prefix and not key.startswith(prefix + "#"):
            continue
        app = key[len(prefix) + 1 :]
        for name in ("apps", "smtps"):
            if name in item and int(item[name]["N"]):
                found[f"{name}@{app}" if app else name] = int(item[name]["N"])
    return found


def app_items_of(aws: Any, account: str = ACCOUNT_A) -> list[dict[str, Any]]:
    """The account's app items, as the apps table holds them (its name locks left out)."""
    found = aws.dynamodb.query(
        TableName=APPS_TABLE,
        KeyConditionExpression="iduser = :owner",
        ExpressionAttributeValues={":owner": {"S": account}},
        ConsistentRead=True,
    )["Items"]
    return [item for item in found if not str(item["_id"]["S"]).startswith("#")]


def counter_keys(aws: Any) -> set[str]:
    """The keys of every quota counter item in the accounts table."""
    items_ = aws.dynamodb.scan(TableName=ACCOUNTS_TABLE, ConsistentRead=True)["Items"]
    return {str(item["pk"]["S"]) for item in items_ if str(item["pk"]["S"]).startswith("quota#")}


# --- Secrets Manager ----------------------------------------------------------------------------------


def _not_found(problem: ClientError) -> bool:
    return str(problem.response["Error"]["Code"]) == "ResourceNotFoundException"


def settle(aws: Any) -> list[Any]:
    """What AWS does within seconds of every write: SmtpsTable's stream so far delivered to
    SecretsCleanupFunction as its event source mapping in template.yaml says (filters, batches, a failed
    record's batch kept for the next round), which deletes removed servers' secrets and tidies the labels of
    newly named versions. One reader per moto session (`aws`), so each record is delivered once (a second
    reader would be a replay). The function's answers so far."""
    stream: Stream | None = vars(aws).get("_settled_by")
    if stream is None:
        stream = vars(aws)["_settled_by"] = Stream(aws)
    stream.drain()
    return stream.answers


def secret(aws: Any, idsmtp: str) -> str | None:
    """The current (AWSCURRENT) password in Secrets Manager once the stream has been delivered (`settle`:
    AWSCURRENT moves there, off the request path); None when the secret does not exist at all.

    The stage is named: moto answers a read without one from the version the secret was last written with.
    """
    settle(aws)
    try:
        value = aws.secrets.get_secret_value(SecretId=SECRET_PREFIX + idsmtp, VersionStage="AWSCURRENT")[
            "SecretString"
        ]
    except ClientError as problem:
        if _not_found(problem):
            return None
        raise
    return str(json.loads(value)["password"])


def version_password(aws: Any, idsmtp: str, version_id: str) -> str:
    name = SECRET_PREFIX + idsmtp
    value = aws.secrets.get_secret_value(SecretId=name, VersionId=version_id)["SecretString"]
    return str(json.loads(value)["password"])


def pinned_password(aws: Any, idsmtp: str) -> str | None:
    """The password a check of the server reads: the version its record names, exactly (None: no password).

    The version must exist and be labelled (Secrets Manager may delete unlabelled versions), and once the
    stream has been delivered (`settle`) it must be AWSCURRENT too, so that a reader of "the current
    password" gets the same one.
    """
    settle(aws)
    version = pinned_version(aws, idsmtp)
    if version is None:
        return None
    stages = labels(aws, idsmtp)
    assert stages.get(version), f"the pinned version {version} carries no label: {stages}"
    password = version_password(aws, idsmtp, version)
    assert secret(aws, idsmtp) == password, "AWSCURRENT is not the version the record names"
    return password


def password_a_check_reads(idsmtp: str) -> str | None:
    """What smtps/check would send as the server's password: its record's pinned version, read through the
    layer's own repositories (smtphub.check.service does exactly this)."""
    from smtphub import wiring
    from smtphub.check.inputs import read_secrets

    record = wiring.smtp_repository().get(idsmtp)
    assert record is not None, f"no record {idsmtp}"
    return read_secrets(wiring.secret_repository(), record, {"password"}).get("password")


def labels(aws: Any, idsmtp: str) -> dict[str, list[str]]:
    """Every labelled version of the server's secret and its labels (DescribeSecret's VersionIdsToStages)."""
    found: dict[str, list[str]] = aws.secrets.describe_secret(SecretId=SECRET_PREFIX + idsmtp).get(
        "VersionIdsToStages", {}
    )
    return found


def our_labels(aws: Any, idsmtp: str, version_id: str) -> list[str]:
    return [label for label in labels(aws, idsmtp).get(version_id, []) if OUR_LABEL.fullmatch(label)]


def versions_by_password(aws: Any, idsmtp: str) -> dict[str, str]:
    """password -> the id of the version holding it, over every version of the secret (labelled or not)."""
    name = SECRET_PREFIX + idsmtp
    listed = aws.secrets.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return {version_password(aws, idsmtp, entry["VersionId"]): entry["VersionId"] for entry in listed}


def scheduled_for_deletion(aws: Any, idsmtp: str) -> bool:
    return "DeletedDate" in aws.secrets.describe_secret(SecretId=SECRET_PREFIX + idsmtp)


def secret_names(aws: Any) -> set[str]:
    """Every secret, including those scheduled for deletion."""
    pages = aws.secrets.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
    return {entry["Name"] for page in pages for entry in page["SecretList"]}


# --- failures on demand -------------------------------------------------------------------------------


class Failing:
    """A boto3 client whose `method` raises `error` after `after` good calls (when `when`); the rest pass."""

    def __init__(self, real: Any, method: str, error: Exception, after: int = 0, when: Any = None) -> None:
        self.real, self.method, self.error, self.after, self.when = real, method, error, after, when
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        def call_or_fail(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls > self.after and (self.when is None or self.when(kwargs)):
                raise self.error
            return attribute(**kwargs)

        return call_or_fail


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


def lost_to_a_concurrent_write(steps: int) -> ClientError:
    """TransactWriteItems of `steps` steps cancelled because another write touched one of its items."""
    reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (steps - 1)
    answer: Any = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}
    return ClientError(answer, "TransactWriteItems")


class NoCalls:
    """A client that fails the test on any call: this path must not reach the service."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call {name}")


def at_once(count: int, request: Callable[[], Reply]) -> list[Reply]:
    """`count` threads making `request()` together; their replies."""
    start, replies = threading.Barrier(count), []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        reply = request()
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replies) == count
    return replies
