"""DynamoDB plumbing every repository shares: attribute values, paging, and transactions whose failed
conditions become domain errors.

Only repositories import this module; nothing above them sees an attribute value or a ClientError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from smtphub.aws import cancellation_codes, error_code
from smtphub.errors import Conflict, DomainError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

Item = dict[str, "AttributeValueTypeDef"]
T = TypeVar("T")
CONDITION_FAILED = "ConditionalCheckFailedException"


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


def query_items(client: DynamoDBClient, decode: Callable[[Any], T], **request: Any) -> list[T]:
    """Every item of a Query (all its pages, following LastEvaluatedKey), decoded."""
    return [decode(item) for item in _pages(client, request)]


def _pages(client: DynamoDBClient, request: dict[str, Any]) -> Iterator[Any]:
    while True:
        page = client.query(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def transact(
    client: DynamoDBClient,
    items: Sequence[TransactWriteItemTypeDef],
    failures: Sequence[type[DomainError]],
) -> None:
    """TransactWriteItems; the step whose condition failed raises the domain error given for it.

    A transaction that lost to a concurrent one (TransactionConflict) is a Conflict; anything else is
    unexpected and propagates as it is.
    """
    try:
        client.transact_write_items(TransactItems=list(items))
    except Exception as error:
        if error_code(error) != "TransactionCanceledException":
            raise
        codes = cancellation_codes(error)
        for code, failure in zip(codes, failures, strict=False):
            if code == "ConditionalCheckFailed":
                raise failure() from None
        if "TransactionConflict" in codes:
            raise Conflict() from None
        raise


def condition_failed(error: BaseException) -> bool:
    """A single-item write refused by its ConditionExpression."""
    return error_code(error) == CONDITION_FAILED
