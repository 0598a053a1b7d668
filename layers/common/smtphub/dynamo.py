"""DynamoDB plumbing every repository shares: attribute values, paging, and transactions whose failed
conditions become domain errors.

Only repositories import this module; nothing above them sees an attribute value or a ClientError
(they catch `ClientError` and match its code: `condition_failed`, `smtphub.aws.error_code`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from smtphub.aws import cancellation_codes, error_code
from smtphub.errors import Conflict, DomainError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

Item = dict[str, "AttributeValueTypeDef"]
T = TypeVar("T")
CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_STEPS = 100  # TransactWriteItems' limit
CONFLICT_TRIES = 5  # a transaction that keeps losing to concurrent writes, then Conflict


def to_attribute(value: Any) -> AttributeValueTypeDef:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(key): to_attribute(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(item) for item in value]}
    raise TypeError(f"no DynamoDB mapping for {type(value).__name__}")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "M":
        return {key: from_attribute(item) for key, item in value.items()}
    if kind == "L":
        return [from_attribute(item) for item in value]
    if kind == "NULL":
        return None
    return value  # S, BOOL


def to_item(values: Mapping[str, Any]) -> Item:
    """A DynamoDB item; None values are left out rather than stored as NULL."""
    return {key: to_attribute(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: from_attribute(value) for key, value in item.items()}


def read_item(client: DynamoDBClient, table: str, key: Item, decode: Callable[[Any], T]) -> T | None:
    """The item at `key`, read strongly consistent and decoded; None when there is none."""
    item = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return decode(item) if item else None


def update_if(client: DynamoDBClient, decode: Callable[[Any], T], **request: Any) -> T | None:
    """A conditional UpdateItem: the item as it is after it, decoded; None when its condition failed
    (nothing written)."""
    try:
        answer = client.update_item(ReturnValues="ALL_NEW", **request)
    except ClientError as error:
        if condition_failed(error):
            return None
        raise
    return decode(answer["Attributes"])


def query_items(client: DynamoDBClient, decode: Callable[[Any], T], **request: Any) -> list[T]:
    """Every item of a Query (all its pages, following LastEvaluatedKey), decoded."""
    return [decode(item) for item in _pages(client.query, request)]


def scanned(client: DynamoDBClient, **request: Any) -> Iterator[Item]:
    """Every item of a Scan, page after page."""
    return _pages(client.scan, request)


def _pages(read: Callable[..., Any], request: dict[str, Any]) -> Iterator[Any]:
    while True:
        page = read(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# A transaction step and the domain error its failed condition means.
Step = tuple["TransactWriteItemTypeDef", Callable[[], DomainError]]


def transact(
    client: DynamoDBClient,
    items: Sequence[TransactWriteItemTypeDef],
    failures: Sequence[Callable[[], DomainError]],
) -> None:
    """TransactWriteItems; the step whose condition failed raises the domain error given for it (the
    first such step, in order).

    A transaction that lost to a concurrent one (TransactionConflict: two creates of one account meet on
    its quota counter) wrote nothing and is tried again, up to CONFLICT_TRIES times, then Conflict. Anything
    else is unexpected and propagates as it is.
    """
    for attempt in range(CONFLICT_TRIES):
        try:
            client.transact_write_items(TransactItems=list(items))
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(error)
            for code, failure in zip(codes, failures, strict=False):
                if code == "ConditionalCheckFailed":
                    raise failure() from None
            if "TransactionConflict" not in codes:
                raise
            if attempt + 1 < CONFLICT_TRIES:
                time.sleep(0.05 * 2**attempt)
        else:
            return
    raise Conflict()


def transact_steps(client: DynamoDBClient, steps: Sequence[Step]) -> None:
    """`transact` of steps given with their failures."""
    transact(client, [step for step, _ in steps], [failure for _, failure in steps])


def delete_all(
    client: DynamoDBClient,
    deletes: Sequence[TransactWriteItemTypeDef],
    then: Sequence[TransactWriteItemTypeDef] = (),
    tally: Callable[[int, bool], Sequence[TransactWriteItemTypeDef]] | None = None,
) -> None:
    """Conditional Deletes in as few TransactWriteItems as its limit allows, `then` in the last of them.

    `tally(n, last)` gives the steps that count the n deletes of a transaction (the last one's, with
    `then`), in that same transaction: what is counted is exactly what is deleted.

    A delete whose condition fails is left out and the rest of its transaction tried again: that item is
    gone, or no longer the one meant. A transaction that lost to a concurrent one is tried again (Conflict
    after CONFLICT_TRIES). What committed stays committed if a later transaction fails.
    """
    counted = tally or (lambda _n, _last: ())
    room = TRANSACTION_STEPS - len(counted(TRANSACTION_STEPS, False))
    rest = list(deletes)
    while True:
        last = len(rest) + len(then) + len(counted(len(rest), True)) <= TRANSACTION_STEPS
        chunk = rest if last else rest[:room]
        steps = [*chunk, *counted(len(chunk), last), *(then if last else ())]
        failed = _transact_or_failed(client, steps)
        if any(step >= len(chunk) for step in failed):
            raise Conflict()  # a step of `then` (or of the tally) refused: not a delete to leave out
        if failed:
            rest = [step for number, step in enumerate(chunk) if number not in failed] + rest[len(chunk) :]
        elif last:
            return
        else:
            rest = rest[len(chunk) :]


def _transact_or_failed(client: DynamoDBClient, steps: list[TransactWriteItemTypeDef]) -> set[int]:
    """TransactWriteItems, tried again while it loses to concurrent writes; the steps whose condition
    failed when it was cancelled for that (empty: it committed)."""
    for attempt in range(CONFLICT_TRIES):
        try:
            client.transact_write_items(TransactItems=steps)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(error)
            failed = {number for number, code in enumerate(codes) if code == "ConditionalCheckFailed"}
            if failed:
                return failed
            if "TransactionConflict" not in codes:
                raise
            if attempt + 1 < CONFLICT_TRIES:
                time.sleep(0.05 * 2**attempt)
        else:
            return set()
    raise Conflict()


def condition_failed(error: ClientError) -> bool:
    """A single-item write refused by its ConditionExpression."""
    return error_code(error) == CONDITION_FAILED


BATCH_WRITE = 25  # BatchWriteItem's requests a call


def delete_keys(client: DynamoDBClient, table: str, keys: Sequence[Item]) -> None:
    """Delete items by key, 25 a BatchWriteItem, asking again (after a short wait) for what DynamoDB left
    unprocessed."""
    for start in range(0, len(keys), BATCH_WRITE):
        request: Any = {table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH_WRITE]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
            if request:
                time.sleep(0.05)
