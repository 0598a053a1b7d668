"""The accounts table (template.yaml's AccountsTable) in moto: in-process under `mock_aws`, or behind a real
moto server on 127.0.0.1 for code that speaks HTTP itself (the authorizer signs its own GetItem)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_runtime import template
from tests.support.aws import ACCOUNTS_TABLE

__all__ = ["ACCOUNTS_TABLE"]
REGION = "us-east-1"


def accounts_table_request(name: str = ACCOUNTS_TABLE) -> dict[str, Any]:
    tables = template.resources(template.default(), "AWS::DynamoDB::Table")
    return template.table_request(tables["AccountsTable"], name)


def ensure_accounts_table(dynamodb: Any, name: str = ACCOUNTS_TABLE) -> str:
    """The template's accounts table under `name` (created unless it exists), its TTL on, as deployed."""
    if name not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(**accounts_table_request(name))
        ttl = template.resources(template.default(), "AWS::DynamoDB::Table")["AccountsTable"]["Properties"]
        spec = ttl["TimeToLiveSpecification"]
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec["AttributeName"]},
        )
    return name


def revoked_before(dynamodb: Any, account_id: str, table: str = ACCOUNTS_TABLE) -> int | None:
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"account#{account_id}"}}, ConsistentRead=True)
    value = item.get("Item", {}).get("revokedBefore", {}).get("N")
    return int(value) if value is not None else None


@dataclass
class BotoRevocations:
    """The authorizer's revocation lookup through a boto3 client, for suites running under `mock_aws`
    (whose interception the authorizer's own HTTP client does not go through). Same item, same rule."""

    dynamodb: Any
    table: str = ACCOUNTS_TABLE

    def revoked_before(self, account_id: str) -> int | None:
        return revoked_before(self.dynamodb, account_id, self.table)


@dataclass
class MotoServer:
    endpoint: str
    server: Any

    def client(self, service: str = "dynamodb") -> Any:
        import boto3

        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's
        )


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A moto server on a free loopback port (shares moto's in-process state: create tables per test)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoServer(f"http://{host}:{port}", server)
    finally:
        server.stop()
