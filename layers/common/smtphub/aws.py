"""boto3 clients, built on first use and kept for the life of the container.

Nothing here runs at import time, so tests can start moto before the first client exists;
`reset()` drops the cache between tests.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Bounded so that no AWS call can eat API Gateway's 29 s: standard retries with backoff, short timeouts.
_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 5,
    "retries": {"mode": "standard", "max_attempts": 3},
}


@cache
def client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - boto3 is imported with the first client, not with the layer
    from botocore.config import Config  # noqa: PLC0415

    return boto3.session.Session().client(service, config=Config(**_CLIENT_CONFIG))


def reset() -> None:
    client.cache_clear()
