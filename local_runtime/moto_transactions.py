"""A workaround for moto's TransactWriteItems, which breaks concurrent writes and DynamoDB streams.

The upstream bug (docs/moto-transact-write-items.md): before it runs a transaction, moto's
`DynamoDBBackend.transact_write_items` deep-copies every table the transaction names, and when the
transaction fails (a condition not met, say) it puts those copies in the tables' place. So:

- every write another thread made to those tables while the transaction ran is lost (moto's server
  serves each request in a thread of its own): `apps/remove` racing with a failed `smtps/save` brings
  back the SMTP servers it had just deleted;
- a table with a stream gets a copy of its stream shard. The shard iterators already handed out still
  point at the old shard, which nothing writes to any more: a stream consumer (the secrets' cleanup)
  never sees another record, for the rest of the session;
- nothing isolates a transaction from other calls: a read can see half of one.

DynamoDB does none of that: a transaction is atomic and isolated, a failed one leaves no trace, and
nothing else is touched. `install()` makes moto behave so, in this process (the local runtime's moto
server, the test suites' `mock_aws`):

1. every DynamoDB and DynamoDB Streams request is handled under one lock, so nothing interleaves with a
   transaction (moto's calls take a millisecond or two: serialising them costs little);
2. `transact_write_items` runs moto's own code with its whole-table snapshot turned off, journals the
   items the transaction names (their value before it) and the length of each table's stream, and when
   the transaction fails puts back exactly those items and removes the stream records it added. Tables
   and their stream shards stay the same objects.

It depends on moto's internals (the backend's `tables`, a table's `items`, `stream_shard.items`), checked
by tests/integration/test_moto_transactions.py, which also shows the bug without the workaround.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()  # every DynamoDB request, every transaction
_INSTALLED = "_smtphub_transactions_installed"


def install() -> None:
    """Patch moto's DynamoDB backend and handlers in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto only where it is used
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler  # noqa: PLC0415

    with _LOCK:
        if getattr(DynamoDBBackend, _INSTALLED, False):
            return
        setattr(DynamoDBBackend, "transact_write_items", _journaled(DynamoDBBackend.transact_write_items))  # noqa: B010
        for handler in (DynamoHandler, DynamoDBStreamsHandler):
            setattr(handler, "call_action", _serialised(handler.call_action))  # noqa: B010
        setattr(DynamoDBBackend, _INSTALLED, True)


def installed() -> bool:
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    return bool(getattr(DynamoDBBackend, _INSTALLED, False))


@contextmanager
def exclusive() -> Iterator[None]:
    """No DynamoDB request is handled meanwhile (for a test that inspects moto's state)."""
    with _LOCK:
        yield


def _serialised(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def handled(self: Any) -> Any:
        with _LOCK:
            return call_action(self)

    return handled


class _WithoutSnapshots:
    """The backend as moto's transaction code sees it: the same, but with no tables to snapshot (its
    `self.tables` is read only to copy tables before the transaction and to put the copies back)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.tables: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _journaled(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            journal = Journal(self, transact_items)
            try:
                original(_WithoutSnapshots(self), transact_items)
            except BaseException:
                journal.undo()
                raise

    return transact_write_items


class Journal:
    """What a transaction may change: the items it names (deep copies of their values, or None when
    absent) and the length of the stream of each table it names."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self.items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, old item or None)
        self.streams: dict[int, tuple[Any, int]] = {}  # id(shard) -> (shard, records before)
        for entry in transact_items if isinstance(transact_items, list) else []:
            self._note(backend, entry)

    def _note(self, backend: Any, entry: Any) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

        try:
            (kind, operation), *_ = entry.items()
            table = backend.tables.get(operation["TableName"])
            if table is None or kind == "ConditionCheck":
                return
            attributes = operation["Item"] if kind == "Put" else operation["Key"]
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
        except (AttributeError, KeyError, TypeError, ValueError):
            return  # moto refuses this operation before it writes anything
        self.items.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.streams:
            self.streams[id(shard)] = (shard, len(shard.items))

    def undo(self) -> None:
        """Every noted item back to its value before the transaction, its stream records removed."""
        for table, hash_key, range_key, old in reversed(self.items):
            if range_key is None:
                if old is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = old
            elif old is None:
                if hash_key in table.items:
                    table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = old
        for shard, length in self.streams.values():
            del shard.items[length:]
