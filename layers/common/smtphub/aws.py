"""boto3 clients, built on first use and kept for the life of the container.

Nothing here runs at import time, so tests can start moto before the first client exists;
`reset()` drops the cache between tests.

Every client comes from one boto3 session: a session loads botocore's endpoint and retry data once,
so a function's second client (e.g. Secrets Manager after DynamoDB) costs ~40 ms less than it would
from a session of its own (make bench, "Cold start"). A session is not thread-safe, so clients are
built under a lock (apps/remove builds its Secrets Manager client from worker threads).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

# Bounded so that no AWS call can eat API Gateway's 29 s: standard retries with backoff, short timeouts.
_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 5,
    "retries": {"mode": "standard", "max_attempts": 3},
}
_LOCK = threading.Lock()


@cache
def _session() -> Any:
    import boto3  # noqa: PLC0415 - boto3 is imported with the first client, not with the layer

    return boto3.session.Session()


@cache
def _client(service: str) -> Any:
    from botocore.config import Config  # noqa: PLC0415

    return _session().client(service, config=Config(**_CLIENT_CONFIG))


def client(service: str) -> Any:
    with _LOCK:
        return _client(service)


def reset() -> None:
    with _LOCK:
        _client.cache_clear()
        _session.cache_clear()
