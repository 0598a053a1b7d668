"""moto's TransactWriteItems and the workaround in local_runtime/moto_transactions.py (the upstream bug is
written up in docs/moto-transact-write-items.md).

Without the workaround, a failed transaction puts deep copies of every table it names in their place:
concurrent writes are lost and the stream's readers keep an orphaned shard. With it (installed by the
`aws` fixture and by the local runtime), a failed transaction undoes exactly its own writes.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_runtime import moto_transactions
from tests.support.api import MISSING_APP, error, new_app, new_smtp, ok
from tests.support.aws import APPS_TABLE, SMTPS_TABLE, Aws, Stream
from tests.support.lambdas import call

REGION = "us-east-1"
TABLE = "journal-test"


@pytest.fixture
def table(aws: Aws) -> Any:
    """A hash-and-range table with a stream (NEW_AND_OLD_IMAGES), and one item in it."""
    aws.dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    aws.dynamodb.put_item(TableName=TABLE, Item=item("a", "1", n="1"))
    return aws.dynamodb


def item(pk: str, sk: str, **values: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"N": value} for name, value in values.items()}}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def backend() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"][REGION]


class StreamReader:
    """The table's stream read from its start, with one iterator kept across reads (as a consumer does)."""

    def __init__(self, dynamodb: Any) -> None:
        self.client = boto3.client(
            "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
        )
        arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shard = self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[tuple[str, str]]:
        """(event name, sk) of the records added since the last read."""
        page = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = page["NextShardIterator"]
        return [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in page["Records"]]


def failing_transaction(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """A new item, an update of the existing one, then a condition that fails: nothing may be written."""
    return [
        {"Put": {"TableName": TABLE, "Item": item("a", "2", n="2")}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("a", "1"),
                "UpdateExpression": "SET n = :n",
                "ExpressionAttributeValues": {":n": {"N": "99"}},
            }
        },
        *extra,
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": key("nobody", "0"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]


def everything(dynamodb: Any) -> dict[str, str]:
    items = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {f"{i['pk']['S']}/{i['sk']['S']}": i.get("n", {}).get("N", "") for i in items}


# --- the upstream bug, as moto has it ------------------------------------------------------------------


def test_without_the_workaround_a_failed_transaction_orphans_the_stream_and_loses_writes(table: Any) -> None:
    """moto's own transact_write_items (what the workaround wraps): if this test fails, moto has fixed the
    bug, and local_runtime/moto_transactions.py can go."""
    moto_own = backend().transact_write_items.__wrapped__
    reader = StreamReader(table)
    assert reader.read() == [("INSERT", "1")]
    before = backend().tables[TABLE]
    original_get_item = backend().get_item

    def get_item_while_another_request_writes(*args: Any, **kwargs: Any) -> Any:
        # Another request's write lands while the transaction runs (moto's server is threaded).
        backend().get_item = original_get_item
        before.put_item(item("b", "concurrent", n="7"))
        return original_get_item(*args, **kwargs)

    backend().get_item = get_item_while_another_request_writes
    try:
        with pytest.raises(Exception, match="Transaction cancelled"):
            moto_own(backend(), failing_transaction())
    finally:
        backend().get_item = original_get_item
    assert backend().tables[TABLE] is not before  # a deep copy took the table's place
    assert "b/concurrent" not in everything(table)  # the other request's write is gone
    table.put_item(TableName=TABLE, Item=item("a", "3"))
    # The consumer's iterator is on the orphaned shard: it reads the records of the writes the
    # rollback undid, and never the records of any later write.
    assert reader.read() == [("INSERT", "concurrent"), ("INSERT", "2"), ("MODIFY", "1")]
    table.put_item(TableName=TABLE, Item=item("a", "4"))
    assert reader.read() == []


# --- the workaround --------------------------------------------------------------------------------------


def test_the_fixtures_install_the_workaround(aws: Aws) -> None:
    assert moto_transactions.installed()


def test_a_failed_transaction_leaves_no_trace_and_the_stream_goes_on(table: Any) -> None:
    reader = StreamReader(table)
    assert reader.read() == [("INSERT", "1")]
    before = backend().tables[TABLE]
    with pytest.raises(ClientError) as failed:
        table.transact_write_items(TransactItems=failing_transaction())
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in failed.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert backend().tables[TABLE] is before
    assert everything(table) == {"a/1": "1"}  # the new item is not there, the updated one is as it was
    assert reader.read() == []  # no record of the writes that were undone
    table.put_item(TableName=TABLE, Item=item("a", "3"))
    table.delete_item(TableName=TABLE, Key=key("a", "1"))
    assert reader.read() == [("INSERT", "3"), ("REMOVE", "1")]  # the same iterator sees what follows


def test_a_failed_transaction_undoes_only_its_own_writes(table: Any) -> None:
    """A write to another item that lands while the transaction runs stays (here from inside the
    transaction, since the workaround's lock keeps other requests out meanwhile)."""
    original_get_item = backend().get_item

    def get_item_while_another_request_writes(*args: Any, **kwargs: Any) -> Any:
        backend().get_item = original_get_item
        backend().tables[TABLE].put_item(item("b", "concurrent", n="7"))
        return original_get_item(*args, **kwargs)

    backend().get_item = get_item_while_another_request_writes
    try:
        with pytest.raises(ClientError):
            table.transact_write_items(TransactItems=failing_transaction())
    finally:
        backend().get_item = original_get_item
    assert everything(table) == {"a/1": "1", "b/concurrent": "7"}


def test_a_transaction_that_succeeds_is_untouched(table: Any) -> None:
    reader = StreamReader(table)
    reader.read()
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("a", "2", n="2")}},
            {"Delete": {"TableName": TABLE, "Key": key("a", "1")}},
        ]
    )
    assert everything(table) == {"a/2": "2"}
    assert reader.read() == [("INSERT", "2"), ("REMOVE", "1")]


def test_concurrent_writes_survive_failing_transactions(table: Any) -> None:
    """Puts from several threads while other threads' transactions fail: every put is there."""
    writers, transactions, rounds = 4, 2, 40
    failures: list[BaseException] = []
    start = threading.Barrier(writers + transactions)

    def write(thread: int) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        start.wait()
        for number in range(rounds):
            client.put_item(TableName=TABLE, Item=item(f"w{thread}", f"{number:03d}", n=str(number)))

    def fail() -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        start.wait()
        for _ in range(rounds):
            try:
                client.transact_write_items(TransactItems=failing_transaction())
            except ClientError as refused:
                if refused.response["Error"]["Code"] != "TransactionCanceledException":
                    failures.append(refused)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads += [threading.Thread(target=fail) for _ in range(transactions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    found = everything(table)
    assert len(found) == 1 + writers * rounds
    assert found["a/1"] == "1"


# --- the case, through the handlers and the stream fixture ----------------------------------------


def test_after_a_refused_save_removed_servers_still_have_their_secrets_deleted(
    aws: Aws, stream: Stream
) -> None:
    """smtps/save for an unknown app is a TransactWriteItems that fails (the app's condition): afterwards
    the SMTP table's stream must still reach the cleanup function."""
    idapp = new_app()
    stream.drain()  # the consumer has its iterator before the failed transaction
    error(
        call("smtps_save", {"idapp": MISSING_APP, "host": "smtp.example.net", "port": 25}),
        406,
        "APP_NOT_FOUND",
    )
    idsmtp = new_smtp(idapp)["_id"]
    ok(call("smtps_remove", {"idsmtp": idsmtp}))
    stream.drain()
    described = aws.secrets.describe_secret(SecretId=f"smtp-hub-test/api/smtp/{idsmtp}")
    assert "DeletedDate" in described
    assert aws.dynamodb.scan(TableName=SMTPS_TABLE)["Items"] == []
    assert len(aws.dynamodb.scan(TableName=APPS_TABLE)["Items"]) == 2  # the app and its name lock
