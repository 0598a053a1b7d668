"""moto for the suites: the template's tables under test names, the SMTP table's stream delivered to
its consumer as the template says, and a record of every AWS call the functions make."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_runtime import template
from local_runtime.loader import load_handler
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, LambdaContext

__all__ = ["ACCOUNT_A", "ACCOUNT_B"]
APPS_TABLE = "test-AppsTable"
SMTPS_TABLE = "test-SmtpsTable"
ACCOUNTS_TABLE = "test-AccountsTable"
HISTORY_TABLE = "test-HistoryTable"
EMAILS_TABLE = "test-EmailsTable"
EMAIL_LOGS_TABLE = "test-EmailLogsTable"
SEND_STATE_TABLE = "test-SendStateTable"
IDEMPOTENCY_TABLE = "test-IdempotencyTable"
BLACKLIST_TABLE = "test-BlacklistTable"
TRACKING_TABLE = "test-TrackingTable"
SECRET_PREFIX = "smtp-hub-test/api/smtp/"
WEBHOOK_SECRET_PREFIX = "smtp-hub-test/api/webhook/"
TABLES = {
    "AppsTable": APPS_TABLE,
    "SmtpsTable": SMTPS_TABLE,
    "AccountsTable": ACCOUNTS_TABLE,
    "HistoryTable": HISTORY_TABLE,
    "EmailsTable": EMAILS_TABLE,
    "EmailLogsTable": EMAIL_LOGS_TABLE,
    "SendStateTable": SEND_STATE_TABLE,
    "IdempotencyTable": IDEMPOTENCY_TABLE,
    "BlacklistTable": BLACKLIST_TABLE,
    "TrackingTable": TRACKING_TABLE,
}


@dataclass
class Aws:
    dynamodb: Any
    secrets: Any


def create_tables(dynamodb: Any) -> None:
    """The template's tables, same keys and indexes, under the test names."""
    tables = template.resources(template.default(), "AWS::DynamoDB::Table")
    for logical, name in TABLES.items():
        if logical in tables:
            dynamodb.create_table(**template.table_request(tables[logical], name))


@pytest.fixture
def aws() -> Iterator[Aws]:
    from moto import mock_aws

    from local_runtime import moto_transactions

    # As in the local runtime: a failed TransactWriteItems must not put back copies of whole tables
    # (losing other threads' writes and the SMTP table's stream): docs/moto-transact-write-items.md.
    moto_transactions.install()
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(dynamodb)
        yield Aws(dynamodb=dynamodb, secrets=boto3.client("secretsmanager", region_name="us-east-1"))


class Stream:
    """A table's stream on moto (SmtpsTable's unless told), delivered to the function its event source
    mapping in template.yaml names, as the mapping says (filters, batch size, partial failures): `drain()`
    after a removal."""

    def __init__(self, aws: Aws, table: str = "SmtpsTable") -> None:
        import boto3
        from botocore.config import Config

        from local_runtime.streams import StreamPoller

        arn = aws.dynamodb.describe_table(TableName=TABLES[table])["Table"]["LatestStreamArn"]
        (source,) = [s for s in template.stream_sources(template.default()) if s.table == table]
        self.answers: list[Any] = []
        self.poller = StreamPoller(
            source.name,
            # botocore sends stream calls to account endpoints (<account>.streams-ddb...) moto does not serve
            boto3.client(
                "dynamodbstreams",
                region_name="us-east-1",
                config=Config(account_id_endpoint_mode="disabled"),
            ),
            arn,
            self._deliver,
            source.properties,
        )
        self.function = source.function

    def _deliver(self, event: dict[str, Any]) -> Any:
        function = template.resources(template.default(), "AWS::Serverless::Function")[self.function]
        answer = load_handler(function["Properties"]["CodeUri"])(event, LambdaContext())
        self.answers.append(answer)
        return answer

    def drain(self) -> None:
        """Deliver every record the stream has so far (one round: failures stay pending)."""
        self.poller.poll()


@pytest.fixture
def stream(aws: Aws) -> Stream:
    return Stream(aws)


@pytest.fixture
def apps_stream(aws: Aws) -> Stream:
    return Stream(aws, "AppsTable")


@pytest.fixture
def aws_calls(aws: Aws) -> list[str]:
    """The operation of every DynamoDB and Secrets Manager call the functions make from here on, in order."""
    from smtphub import aws as clients

    calls: list[str] = []

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    for service in ("dynamodb", "secretsmanager"):
        clients.client(service).meta.events.register("before-call.*.*", record)
    return calls
