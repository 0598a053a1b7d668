"""AWS in this process with moto: the template's tables, a Cognito pool with one user, the handlers.

Used by the call counts, the scaling runs and the check. Nothing leaves the machine: moto answers
in-process (mock_aws), credentials are fake, the JWKS and the SMTP servers are on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from bench.lambdas import Function, by_name, function_environment, tables
from local_runtime import template
from local_runtime.events import build_event, demo_authorizer
from local_runtime.loader import load_handler

ACCOUNT = "bbbbbbbb-0000-4000-8000-0000000000be"
USERNAME = "bench@example.com"
PASSWORD = "Bench-Password-9-Long!"


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-0000000000aa"


@dataclass
class Reply:
    status: int
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def event_for(function: Function, params: dict[str, Any], account: str | None = ACCOUNT) -> dict[str, Any]:
    """The API Gateway event of one call: GET parameters in the query, POST ones form-encoded."""
    pairs = [(k, "true" if v is True else "false" if v is False else str(v)) for k, v in params.items()]
    method = function.method or "GET"
    headers = [("Content-Type", "application/x-www-form-urlencoded")] if method == "POST" else []
    return build_event(
        method,
        function.path or "/",
        headers=headers,
        query=pairs if method == "GET" else (),
        body=urlencode(pairs).encode() if method == "POST" else None,
        authorizer=demo_authorizer(account) if account and function.path != "/auth/login" else None,
    )


def invoke(name: str, params: dict[str, Any], account: str | None = ACCOUNT) -> Reply:
    function = by_name(name)
    if function is None:
        raise LookupError(f"no function {name}")
    handler = load_handler(function.code_uri, function.handler)
    response = handler(event_for(function, params, account), Context())
    return Reply(response["statusCode"], response.get("body") or "")


@dataclass
class JwksServer:
    """moto's public keys at http://127.0.0.1:PORT/.well-known/jwks.json, counting the fetches."""

    fetches: int = 0
    server: ThreadingHTTPServer | None = None
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        from moto.utilities.utils import load_resource

        body = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")).encode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class World:
    dynamodb: Any
    secrets: Any
    cognito: Any = None
    pool_id: str = ""
    client_id: str = ""
    jwks: JwksServer | None = None

    def login_token(self) -> str:
        reply = invoke("auth_login", {"username": USERNAME, "password": PASSWORD}, account=None)
        if reply.status != 200:
            raise RuntimeError(f"login failed: {reply.status} {reply.body}")
        return str(reply.json["token"])


def _reset_caches() -> None:
    """Drop every per-container cache the layer keeps (clients, settings, services)."""
    from bench import layer

    layer.reset()
    import sys

    for name, module in list(sys.modules.items()):  # handler modules with caches of their own
        if name.startswith("functions.") and callable(getattr(module, "reset", None)):
            module.reset()


def _cognito(world: World) -> None:
    import boto3

    client = boto3.client("cognito-idp", region_name="us-east-1")
    pool = client.create_user_pool(PoolName="bench-accounts", UsernameAttributes=["email"])["UserPool"]
    app_client = client.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="bench-api",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    client.admin_create_user(
        UserPoolId=pool["Id"],
        Username=USERNAME,
        UserAttributes=[{"Name": "email", "Value": USERNAME}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(
        UserPoolId=pool["Id"], Username=USERNAME, Password=PASSWORD, Permanent=True
    )
    world.cognito, world.pool_id, world.client_id = client, pool["Id"], app_client["ClientId"]


@contextmanager
def moto_world(**extra_env: str) -> Iterator[World]:
    """mock_aws with the template's tables (and a user pool, a JWKS server when those functions exist),
    with the local runtime's fix for moto's transactions (local_runtime.moto_transactions): without it moto
    deep-copies every table a TransactWriteItems names, stream included, so each transaction of apps/remove
    cost time in proportion to all the table ever held (177 s for the 1,000-server cascade)."""
    from moto import mock_aws

    from local_runtime import moto_transactions

    moto_transactions.install()

    saved = dict(os.environ)
    os.environ.update(function_environment())
    os.environ.update(extra_env)
    _reset_caches()
    try:
        with mock_aws():
            import boto3

            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            resources = template.resources(template.default(), "AWS::DynamoDB::Table")
            for logical, name in tables().items():
                dynamodb.create_table(**template.table_request(resources[logical], name))
            world = World(dynamodb=dynamodb, secrets=boto3.client("secretsmanager", region_name="us-east-1"))
            if by_name("auth_login") or by_name("authorizer"):
                _cognito(world)
                os.environ.update(
                    {
                        "USER_POOL_ID": world.pool_id,
                        "USER_POOL_CLIENT_ID": world.client_id,
                        "USER_POOL_REGION": "us-east-1",
                    }
                )
                world.jwks = JwksServer()
                world.jwks.start()
                os.environ["JWKS_URL"] = world.jwks.url
            _reset_caches()
            yield world
            if world.jwks:
                world.jwks.stop()
    finally:
        _reset_caches()
        os.environ.clear()
        os.environ.update(saved)


def seed_servers(world: World, app_id: str, count: int, *, with_password: bool = True) -> list[str]:
    """`count` SMTP servers on an app, as the layer's repositories write them, stored in moto in batches
    (BatchWriteItem, and each secret with the version id the layer chose): faster than the handlers."""
    from bench import layer
    from bench.lambdas import SMTPS_TABLE

    contents = layer.servers(app_id, ACCOUNT, count, with_password=with_password, environment={})
    items = contents["items"].get(SMTPS_TABLE, [])
    # the servers, and their quota counters (the accounts table's only items here), as the creates left them
    for table in (SMTPS_TABLE, tables()["AccountsTable"]):
        stored = contents["items"].get(table, [])
        for start in range(0, len(stored), 25):
            batch = [{"PutRequest": {"Item": item}} for item in stored[start : start + 25]]
            world.dynamodb.batch_write_item(RequestItems={table: batch})
    for name, versions in contents["secrets"].items():
        for version_id, version in versions.items():
            world.secrets.create_secret(
                Name=name, SecretString=version["value"], ClientRequestToken=version_id
            )
    return [item["_id"]["S"] for item in items]


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, sharing the in-process mock's state: its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started
