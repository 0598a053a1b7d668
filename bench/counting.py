"""Count the AWS calls a piece of code makes, whatever client it makes them with.

Every boto3/botocore client call goes through `botocore.client.BaseClient._make_api_call`; while a
`CallCounter` is active that method is wrapped so each call is recorded (service, operation, the
request parameters and a summary of the answer), from any thread. Paginated calls count once per page
(each page is a request); botocore's own retries inside one call are not counted (moto never asks
for one). Calls made while no counter is active are not recorded.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name: dynamodb, secretsmanager, cognito-idp...
    operation: str  # API name: GetItem, Query...
    params: dict[str, Any] = field(repr=False, compare=False)
    items: int = field(default=0, compare=False)  # items a Query/Scan answered with
    item_bytes: int = field(default=0, compare=False)  # their approximate size (for read units)
    error: str | None = field(default=None, compare=False)  # the error code of a call that failed

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


def attribute_size(value: Any) -> int:
    """DynamoDB's item size rule of thumb: names plus values, in bytes (close enough for units)."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in ("S", "N", "B"):
                return len(str(inner).encode())
            if kind in ("BOOL", "NULL"):
                return 1
            if kind == "M":
                return 3 + sum(len(k.encode()) + attribute_size(v) for k, v in inner.items())
            if kind == "L":
                return 3 + sum(attribute_size(v) for v in inner)
        return sum(len(k.encode()) + attribute_size(v) for k, v in value.items())
    return len(str(value).encode())


class CallCounter:
    """Records every AWS API call made while it is active (use `counting()`)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def counts(self) -> Counter[str]:
        return Counter(call.name for call in self.calls)

    def total(self, service: str | None = None) -> int:
        return sum(1 for call in self.calls if service is None or call.service == service)

    def services(self) -> set[str]:
        return {call.service for call in self.calls}


_ACTIVE: list[CallCounter] = []
_PATCH_LOCK = threading.Lock()
_ORIGINAL: dict[str, Any] = {}  # "method": botocore's own _make_api_call while ours is installed


def _install() -> None:
    from botocore.client import BaseClient

    if _ORIGINAL:
        return
    original = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        response: Any = None
        error: str | None = None
        try:
            response = original(self, operation_name, api_params)
        except Exception as failure:
            error = (
                str((getattr(failure, "response", None) or {}).get("Error", {}).get("Code", ""))
                or type(failure).__name__
            )
            raise
        finally:
            if _ACTIVE:
                items = response.get("Items", []) if isinstance(response, dict) else []
                call = Call(
                    service=self.meta.service_model.service_name,
                    operation=operation_name,
                    params=api_params,
                    items=len(items),
                    item_bytes=sum(attribute_size(item) for item in items),
                    error=error,
                )
                for counter in list(_ACTIVE):
                    counter.record(call)
        return response

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    _ORIGINAL["method"] = original


def _uninstall() -> None:
    from botocore.client import BaseClient

    if _ORIGINAL and not _ACTIVE:
        BaseClient._make_api_call = _ORIGINAL.pop("method")  # type: ignore[method-assign]


@contextmanager
def counting() -> Iterator[CallCounter]:
    """`with counting() as calls: ...` then `calls.counts()`: every AWS call made inside the block.

    A call that fails (an error answer, e.g. a refused condition) is recorded too, with its error
    code: it is a request AWS answers, and bills.
    """
    counter = CallCounter()
    with _PATCH_LOCK:
        _install()
        _ACTIVE.append(counter)
    try:
        yield counter
    finally:
        with _PATCH_LOCK:
            _ACTIVE.remove(counter)
            _uninstall()
