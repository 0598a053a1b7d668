"""Fixtures shared by every suite: fake AWS credentials, moto, tables from template.yaml, handlers."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_runtime import template
from local_runtime.events import EVENTS_DIR, demo_authorizer
from local_runtime.loader import load_handler
from smtphub import services

ACCOUNT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
ACCOUNT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
APPS_TABLE = "test-AppsTable"
SMTPS_TABLE = "test-SmtpsTable"
SECRET_PREFIX = "smtp-hub-test/api/smtp/"
# The contract's JSON fields, exactly (no password, nothing internal).
SMTP_KEYS = frozenset(
    {"_id", "idapp", "priority", "host", "port", "username", "auth", "starttls", "sslTls", "debug",
     "defaultfromemail", "defaultfromname", "numerrors", "created", "modified", "status", "lastcheck"}
)  # fmt: skip
APP_KEYS = frozenset(
    {"_id", "iduser", "name", "strategy", "testemail", "defaultfromemail", "defaultfromname",
     "created", "modified", "status"}
)  # fmt: skip


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test can reach real AWS: fake credentials, a fixed region, the template's variables."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "APPS_TABLE": APPS_TABLE,
        "SMTPS_TABLE": SMTPS_TABLE,
        "SECRET_PREFIX": SECRET_PREFIX,
        "POWERTOOLS_SERVICE_NAME": "smtp-hub",
        "POWERTOOLS_METRICS_NAMESPACE": "smtp-hub",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    services.reset()
    yield
    services.reset()


@pytest.fixture(autouse=True, scope="session")
def shared_botocore_loader() -> Iterator[None]:
    """One botocore data loader for the whole run: each test's fresh boto3 sessions (services.reset() drops
    them) would otherwise parse the same JSON service models again, most of a moto test's time."""
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", lambda *_args, **_kwargs: loader)
        yield


@dataclass
class Aws:
    dynamodb: Any
    secrets: Any


def create_tables(dynamodb: Any) -> None:
    """The template's tables, same keys and indexes, under the test names."""
    tables = template.resources(template.default(), "AWS::DynamoDB::Table")
    for logical, name in (("AppsTable", APPS_TABLE), ("SmtpsTable", SMTPS_TABLE)):
        dynamodb.create_table(**template.table_request(tables[logical], name))


@pytest.fixture
def aws() -> Iterator[Aws]:
    from moto import mock_aws

    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(dynamodb)
        yield Aws(dynamodb=dynamodb, secrets=boto3.client("secretsmanager", region_name="us-east-1"))


class Stream:
    """SmtpsTable's stream on moto, delivered to SecretsCleanupFunction's handler as its event source
    mapping in template.yaml says (filters, batch size, partial failures): `drain()` after a removal."""

    def __init__(self, aws: Aws) -> None:
        import boto3
        from botocore.config import Config

        from local_runtime.streams import StreamPoller

        arn = aws.dynamodb.describe_table(TableName=SMTPS_TABLE)["Table"]["LatestStreamArn"]
        (source,) = [s for s in template.stream_sources(template.default()) if s.table == "SmtpsTable"]
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
def aws_calls(aws: Aws) -> list[str]:
    """The operation of every DynamoDB and Secrets Manager call the functions make from here on, in order."""
    from smtphub import aws as clients

    calls: list[str] = []

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    for service in ("dynamodb", "secretsmanager"):
        clients.client(service).meta.events.register("before-call.*.*", record)
    return calls


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(_events()[name])


_EVENT_CACHE: dict[str, dict[str, Any]] = {}


def _events() -> dict[str, dict[str, Any]]:
    if not _EVENT_CACHE:
        for path in EVENTS_DIR.glob("*.json"):
            _EVENT_CACHE[path.stem] = json.loads(path.read_text())
    return _EVENT_CACHE


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "lambda-request-id"


def code_uri(function: str) -> str:
    return f"functions/{function}/"


def call(
    function: str,
    params: dict[str, Any] | None = None,
    *,
    account: str | None = ACCOUNT_A,
    body: str | None = None,
    content_type: str | None = None,
    event: dict[str, Any] | None = None,
) -> Reply:
    """Invoke functions/<function>/app.py's lambda_handler with events/<function>.json.

    `params` replace the sample's parameters: in the query string for GET, form-encoded in the body
    for POST (or pass `body` and `content_type` yourself). `account=None` drops the authorizer context.
    """
    from urllib.parse import urlencode

    event = event if event is not None else load_event(function)
    if params is not None:
        pairs = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()}
        if event["httpMethod"] == "GET":
            event["queryStringParameters"] = pairs or None
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in pairs.items()} or None
        else:
            body = urlencode(pairs)
            event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
    if body is not None:
        event["body"] = body
        event["isBase64Encoded"] = False
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    if account is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"] = demo_authorizer(account)
    response = load_handler(code_uri(function))(event, LambdaContext())
    return Reply(response["statusCode"], response.get("headers") or {}, response.get("body") or "")


@pytest.fixture
def captured_logs(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Any:
    """Everything the code logs (Powertools writes JSON lines to stdout), as one string."""
    caplog.set_level(logging.DEBUG)

    def read() -> str:
        out, err = capsys.readouterr()
        return out + err + caplog.text

    return read


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The JSON lines the Powertools logger writes, as Lambda would ship them (parsed, in order).

    Its handler keeps the stdout it found at import time, out of capsys' reach: point it at a buffer.
    """
    import io

    from smtphub.observability import logger

    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    return read
