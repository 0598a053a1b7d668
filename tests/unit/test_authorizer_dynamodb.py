"""The authorizer's own DynamoDB GetItem (no boto3): its signature is botocore's, byte for byte; what it asks;
how it retries; and that every failure is an error (API Gateway's 500, never cached), never a Deny.

A scripted HTTP server on 127.0.0.1 plays DynamoDB; nothing else is reached.
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from tests.support.auth import authorizer_module

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
}


@pytest.fixture
def app() -> ModuleType:
    return authorizer_module()


# --- the signature --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [CREDENTIALS["AWS_SESSION_TOKEN"], None], ids=["session", "long-term"])
@pytest.mark.parametrize(
    "host", ["dynamodb.eu-west-1.amazonaws.com", "127.0.0.1:4566"], ids=["aws", "local-endpoint"]
)
def test_the_signature_is_botocores(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, token: str | None, host: str
) -> None:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    moment = datetime.datetime(2026, 11, 24, 10, 0, 7, tzinfo=datetime.UTC)
    body = b'{"TableName":"t","Key":{"pk":{"S":"account#a"}},"ConsistentRead":true}'
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem"}

    ours = app.sigv4_headers(
        host=host,
        body=body,
        headers=headers,
        region="eu-west-1",
        service="dynamodb",
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        session_token=token,
        now=moment.timestamp(),
    )

    request = AWSRequest(method="POST", url=f"https://{host}/", data=body, headers=dict(headers))
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: moment.replace(tzinfo=None))
    signer = botocore.auth.SigV4Auth(
        Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"], token),
        "dynamodb",
        "eu-west-1",
    )
    signer.add_auth(request)

    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"] == "20261124T100007Z"
    assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")
    assert ours["Host"] == host


def test_a_changed_body_changes_the_signature(app: ModuleType) -> None:
    common = {
        "host": "dynamodb.us-east-1.amazonaws.com",
        "headers": {"Content-Type": "application/x-amz-json-1.0"},
        "region": "us-east-1",
        "service": "dynamodb",
        "access_key": "AK",
        "secret_key": "SK",
        "session_token": None,
        "now": 1795514400.0,
    }
    one = app.sigv4_headers(body=b'{"Key":"account#a"}', **common)["Authorization"]
    other = app.sigv4_headers(body=b'{"Key":"account#b"}', **common)["Authorization"]
    assert one != other


# --- a scripted DynamoDB on 127.0.0.1 -------------------------------------------------------------


@dataclass
class Scripted:
    """Answers each POST with the next (status, body) of `script`; "close" drops the connection unanswered."""

    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)
    port: int = 0


@pytest.fixture
def dynamodb() -> Iterator[Scripted]:
    state = Scripted()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.connections.add(id(self.connection))
            state.requests.append({"headers": dict(self.headers), "body": json.loads(body)})
            step = state.script.pop(0) if state.script else (200, {})
            if step == "close":
                self.close_connection = True
                self.connection.close()
                return
            status, document = step
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def table(app: ModuleType, dynamodb: Scripted) -> Any:
    return app.AccountsTable(
        "accounts", "us-east-1", f"http://127.0.0.1:{dynamodb.port}", environ=CREDENTIALS
    )


def test_it_asks_one_strongly_consistent_attribute_of_the_accounts_item(
    app: ModuleType, dynamodb: Scripted
) -> None:
    dynamodb.script = [(200, {"Item": {"revokedBefore": {"N": "1795514401"}}})]

    assert table(app, dynamodb).revoked_before("a1b2") == 1795514401

    (request,) = dynamodb.requests
    assert request["body"] == {
        "TableName": "accounts",
        "Key": {"pk": {"S": "account#a1b2"}},
        "ProjectionExpression": "#before",
        "ExpressionAttributeNames": {"#before": "revokedBefore"},
        "ConsistentRead": True,
    }
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amz-security-token"] == CREDENTIALS["AWS_SESSION_TOKEN"]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/dynamodb/aws4_request" in headers["authorization"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({}, None), ({"Item": {}}, None), ({"Item": {"revokedBefore": {"N": "1795514400.2"}}}, 1795514401)],
    ids=["no-item", "no-attribute", "fraction-rounded-up"],
)
def test_what_the_item_says(app: ModuleType, dynamodb: Scripted, answer: Any, expected: int | None) -> None:
    dynamodb.script = [(200, answer)]
    assert table(app, dynamodb).revoked_before("a") == expected


@pytest.mark.parametrize("value", [{"S": "1795514400"}, {"N": "soon"}, {"N": "1e999"}, "1795514400"])
def test_a_malformed_revoked_before_is_an_error_not_a_pass(
    app: ModuleType, dynamodb: Scripted, value: Any
) -> None:
    dynamodb.script = [(200, {"Item": {"revokedBefore": value}})]
    with pytest.raises(app.RevocationsUnavailable, match="not a number"):
        table(app, dynamodb).revoked_before("a")


def test_the_connection_is_kept_between_calls(app: ModuleType, dynamodb: Scripted) -> None:
    accounts = table(app, dynamodb)
    for _ in range(3):
        assert accounts.revoked_before("a") is None
    assert len(dynamodb.requests) == 3
    assert len(dynamodb.connections) == 1


def test_a_dropped_connection_is_opened_again(app: ModuleType, dynamodb: Scripted) -> None:
    """A kept-alive connection closed while the container was frozen: the next attempt reconnects."""
    dynamodb.script = ["close", (200, {"Item": {"revokedBefore": {"N": "7"}}})]

    assert table(app, dynamodb).revoked_before("a") == 7
    assert len(dynamodb.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        (500, {"__type": "com.amazon.coral.service#InternalFailure"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}),
    ],
    ids=["5xx", "throttling", "throughput"],
)
def test_transient_failures_are_retried(app: ModuleType, dynamodb: Scripted, failure: Any) -> None:
    dynamodb.script = [failure, (200, {})]

    assert table(app, dynamodb).revoked_before("a") is None
    assert len(dynamodb.requests) == 2


def test_a_lasting_failure_is_an_error_after_three_attempts(app: ModuleType, dynamodb: Scripted) -> None:
    dynamodb.script = [(503, {})] * 3

    with pytest.raises(app.RevocationsUnavailable, match="HTTP 503"):
        table(app, dynamodb).revoked_before("a")
    assert len(dynamodb.requests) == 3


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"]
)
def test_a_refusal_is_an_error_at_once(app: ModuleType, dynamodb: Scripted, code: str) -> None:
    dynamodb.script = [(400, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "no"})]

    with pytest.raises(app.RevocationsUnavailable, match=code):
        table(app, dynamodb).revoked_before("a")
    assert len(dynamodb.requests) == 1


def test_no_credentials_is_an_error(app: ModuleType, dynamodb: Scripted) -> None:
    accounts = app.AccountsTable("accounts", "us-east-1", f"http://127.0.0.1:{dynamodb.port}", environ={})
    with pytest.raises(app.RevocationsUnavailable, match="credentials"):
        accounts.revoked_before("a")
    assert dynamodb.requests == []


# --- where it goes --------------------------------------------------------------------------------


def test_the_endpoint_is_the_regions_unless_the_environment_names_one(app: ModuleType) -> None:
    base = {"ACCOUNTS_TABLE": "t", "AWS_REGION": "eu-west-1"}
    assert app.AccountsTable.from_environ(base).host == "dynamodb.eu-west-1.amazonaws.com"
    local = app.AccountsTable.from_environ({**base, "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert local.host == "127.0.0.1:5000"
    own = {**base, "AWS_ENDPOINT_URL": "http://x:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:6000"}
    assert app.AccountsTable.from_environ(own).host == "127.0.0.1:6000"


@pytest.mark.parametrize("missing", ["ACCOUNTS_TABLE", "AWS_REGION"])
def test_the_table_and_region_are_required(app: ModuleType, missing: str) -> None:
    environ = {"ACCOUNTS_TABLE": "t", "AWS_REGION": "eu-west-1"}
    del environ[missing]
    with pytest.raises(RuntimeError, match=missing):
        app.AccountsTable.from_environ(environ)


def test_only_http_endpoints(app: ModuleType) -> None:
    with pytest.raises(RuntimeError, match="http"):
        app.AccountsTable("t", "us-east-1", "file:///etc/passwd")
