"""Invoking the functions' handlers the way API Gateway would: events/*.json with a few fields replaced."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from local_runtime.events import EVENTS_DIR, demo_authorizer
from local_runtime.loader import load_handler

ACCOUNT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
ACCOUNT_B = "bbbbbbbb-0000-4000-8000-00000000000b"


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
    username: str | None = None,
    body: str | None = None,
    content_type: str | None = None,
    event: dict[str, Any] | None = None,
) -> Reply:
    """Invoke functions/<function>/app.py's lambda_handler with events/<function>.json.

    `params` replace the sample's parameters: in the query string for GET, form-encoded in the body
    for POST (or pass `body` and `content_type` yourself). `account=None` drops the authorizer context;
    `username` replaces the account's e-mail there (upstream's app defaults come from it).
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
        event["requestContext"]["authorizer"] = (
            demo_authorizer(account) if username is None else demo_authorizer(account, username)
        )
    response = load_handler(code_uri(function))(event, LambdaContext())
    return Reply(response["statusCode"], response.get("headers") or {}, response.get("body") or "")
