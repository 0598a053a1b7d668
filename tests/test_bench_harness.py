"""The bench's call counter counts exactly the AWS calls made, from any thread, and only inside its block."""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor

from bench.counting import counting
from bench.stub import FakeDynamoDB
from tests.conftest import APPS_TABLE, SMTPS_TABLE, Aws, call


def test_counts_exactly_the_calls_of_a_known_sequence(aws: Aws) -> None:
    for number in range(3):
        aws.dynamodb.put_item(
            TableName=APPS_TABLE, Item={"iduser": {"S": "owner"}, "_id": {"S": f"{number:024x}"}}
        )
    key = {"iduser": {"S": "owner"}, "_id": {"S": f"{0:024x}"}}

    with counting() as calls:
        aws.dynamodb.get_item(TableName=APPS_TABLE, Key=key)
        aws.dynamodb.get_item(TableName=APPS_TABLE, Key=key)
        pages = aws.dynamodb.get_paginator("query").paginate(
            TableName=APPS_TABLE,
            KeyConditionExpression="iduser = :o",
            ExpressionAttributeValues={":o": {"S": "owner"}},
            Limit=2,
        )
        items = [item for page in pages for item in page["Items"]]
        aws.secrets.create_secret(Name="bench/one", SecretString=json.dumps({"password": "x"}))

    assert len(items) == 3
    # Limit=2 over 3 items: two pages, each one request.
    assert calls.counts() == {
        "dynamodb:GetItem": 2,
        "dynamodb:Query": 2,
        "secretsmanager:CreateSecret": 1,
    }
    assert calls.total() == 5
    assert calls.total("secretsmanager") == 1
    assert calls.services() == {"dynamodb", "secretsmanager"}
    assert sum(call.items for call in calls.calls if call.operation == "Query") == 3


def test_calls_outside_the_block_are_not_counted_and_failures_are(aws: Aws) -> None:
    aws.dynamodb.list_tables()
    with counting() as calls, contextlib.suppress(aws.secrets.exceptions.ResourceNotFoundException):
        aws.secrets.get_secret_value(SecretId="bench/missing")
    aws.dynamodb.list_tables()

    assert calls.counts() == {"secretsmanager:GetSecretValue": 1}
    assert calls.calls[0].error == "ResourceNotFoundException"


def test_calls_from_worker_threads_are_counted(aws: Aws) -> None:
    with counting() as calls, ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: aws.secrets.create_secret(Name=f"bench/{n}", SecretString="{}"), range(8)))

    assert calls.counts() == {"secretsmanager:CreateSecret": 8}


def test_counts_what_a_handler_does(aws: Aws) -> None:
    app = call("apps_save", {"name": "Shop", "testemail": "ops@example.net"})
    smtp = call("smtps_save", {"idapp": app.json["_id"], "host": "smtp.example.net", "port": 25})

    with counting() as calls:
        found = call("smtps_find_by_id", {"idsmtp": smtp.json["_id"]})

    assert found.status == 200
    assert calls.counts() == {"dynamodb:GetItem": 1}


def test_the_stub_answers_the_repositories_as_dynamodb_would() -> None:
    fake = FakeDynamoDB({SMTPS_TABLE: {"key": ["_id"], "indexes": {"byApp": ["idapp", "rank"]}}})
    for rank in ("b", "a"):
        fake.put_item(
            TableName=SMTPS_TABLE, Item={"_id": {"S": rank}, "idapp": {"S": "x"}, "rank": {"S": rank}}
        )

    found = fake.query(
        TableName=SMTPS_TABLE,
        IndexName="byApp",
        KeyConditionExpression="idapp = :app",
        ExpressionAttributeValues={":app": {"S": "x"}},
    )

    assert [item["_id"]["S"] for item in found["Items"]] == ["a", "b"]
    assert fake.calls == {"PutItem": 2, "Query": 1}
