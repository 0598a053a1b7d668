"""boto3 clients, built on first use and kept for the life of the container; botocore errors by code.

Nothing here runs at import time, so tests can start moto before the first client exists; the composition
root (`smtphub.wiring`) asks for clients and `wiring.reset()` drops them between tests.

Every client comes from one boto3 session: a session loads botocore's endpoint and retry data once, so a
function's second client (e.g. Secrets Manager after DynamoDB) costs ~40 ms less than it would from a
session of its own (make bench, "Cold start"). A session is not thread-safe, so clients are built under a
lock (the check reads its inputs in worker threads).

The clients are typed with the mypy-boto3 stubs, imported for type checking only (no runtime cost).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

# Bounded so that no AWS call can eat API Gateway's 29 s: standard retries with backoff, short timeouts.
_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 5,
    "retries": {"mode": "standard", "max_attempts": 3},
}
_LOCK = threading.Lock()
C = TypeVar("C")

# botocore logs whole request and response bodies at DEBUG: passwords (CreateSecret, PutSecretValue,
# GetSecretValue, AdminInitiateAuth) and tokens. Those records are dropped at their source, so that no log
# level set later can bring them back.
_WIRE_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.hooks", "urllib3.connectionpool")


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _quiet_wire_loggers() -> None:
    for name in _WIRE_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, _DropDebug) for existing in target.filters):
            target.addFilter(_DropDebug())


@cache
def _session() -> Any:
    import boto3  # noqa: PLC0415 - boto3 is imported with the first client, not with the layer

    _quiet_wire_loggers()
    return boto3.session.Session()


@cache
def _client(service: str) -> Any:
    from botocore.config import Config  # noqa: PLC0415

    return _session().client(service, config=Config(**_CLIENT_CONFIG))


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
@overload
def client(service: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
def client(service: str) -> Any:
    with _LOCK:
        return _client(service)


class LazyClient(Generic[C]):
    """A holder of one client, built by `build` on first use of `client` and kept: a function that never
    calls the service never builds it. Tests may set `_client` to stand in for it."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build_client = build
        self._client: C | None = None

    @property
    def client(self) -> C:
        if self._client is None:
            self._client = self._build_client()
        return self._client


def reset() -> None:
    with _LOCK:
        _client.cache_clear()
        _session.cache_clear()


def error_code(error: ClientError) -> str | None:
    """The AWS error code of a botocore `ClientError` (e.g. "ConditionalCheckFailedException").

    The one place that reads it: repositories catch `ClientError` and match codes, never messages.
    """
    return str(error.response.get("Error", {}).get("Code", "")) or None


def cancellation_codes(error: ClientError) -> list[str]:
    """The per-step codes of a cancelled TransactWriteItems ("None" for a step that was fine)."""
    reasons = error.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]
