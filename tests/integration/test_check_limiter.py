"""smtphub.accounts.limits.CheckLimiter against moto's DynamoDB: the count is atomic and shared by every
instance (every Lambda container of the check function), refused beyond the limit with the seconds to the
next minute, and starts again each minute."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime import template
from smtphub.accounts.limits import CheckLimiter
from smtphub.errors import RateLimited
from tests.support.accounts import ACCOUNTS_TABLE
from tests.support.aws import Aws
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B

MINUTE = 29_925_240  # an epoch minute: 2026-11-24 10:00 UTC
START = MINUTE * 60.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(aws: Aws, clock: Clock, per_minute: int = 10) -> CheckLimiter:
    return CheckLimiter(aws.dynamodb, ACCOUNTS_TABLE, per_minute, clock=clock)


def counters(aws: Aws) -> dict[str, dict[str, Any]]:
    items = aws.dynamodb.scan(TableName=ACCOUNTS_TABLE, ConsistentRead=True)["Items"]
    return {item["pk"]["S"]: {k: int(v["N"]) for k, v in item.items() if "N" in v} for item in items}


def test_ten_pass_the_eleventh_is_refused_until_the_next_minute(aws: Aws) -> None:
    clock = Clock(START + 12.5)
    checks = limiter(aws, clock)

    for _ in range(10):
        checks.take(ACCOUNT_A)
    with pytest.raises(RateLimited) as refused:
        checks.take(ACCOUNT_A)

    assert refused.value.retry_after == 48  # 47.5 s to the minute's end, rounded up
    assert "10" in refused.value.message
    clock.now = START + 59.9
    with pytest.raises(RateLimited) as again:
        checks.take(ACCOUNT_A)
    assert again.value.retry_after == 1
    clock.now = START + 60
    checks.take(ACCOUNT_A)  # a new minute, a new count


@pytest.mark.parametrize("offset", [0.0, 0.001, 30.0, 59.0, 59.999])
def test_retry_after_is_within_1_to_60_seconds(aws: Aws, offset: float) -> None:
    checks = limiter(aws, Clock(START + offset), per_minute=1)
    checks.take(ACCOUNT_A)

    with pytest.raises(RateLimited) as refused:
        checks.take(ACCOUNT_A)

    assert refused.value.retry_after is not None
    assert 1 <= refused.value.retry_after <= 60


def test_a_refused_check_is_not_counted(aws: Aws) -> None:
    checks = limiter(aws, Clock(START + 1), per_minute=2)
    checks.take(ACCOUNT_A)
    checks.take(ACCOUNT_A)
    for _ in range(5):
        with pytest.raises(RateLimited):
            checks.take(ACCOUNT_A)

    assert counters(aws)[f"checks#{ACCOUNT_A}#{MINUTE}"]["count"] == 2


def test_two_instances_share_one_count(aws: Aws) -> None:
    """Two Lambda containers: each its own limiter (and client), one count in the table."""
    import boto3

    clock = Clock(START + 5)
    first = CheckLimiter(boto3.client("dynamodb", region_name="us-east-1"), ACCOUNTS_TABLE, 10, clock=clock)
    second = CheckLimiter(boto3.client("dynamodb", region_name="us-east-1"), ACCOUNTS_TABLE, 10, clock=clock)

    for turn in range(10):
        (first if turn % 2 else second).take(ACCOUNT_A)
    for instance in (first, second):
        with pytest.raises(RateLimited):
            instance.take(ACCOUNT_A)


def test_one_conditional_write_per_check_and_no_read(aws: Aws) -> None:
    """Atomic by construction: the count and the limit are one conditional UpdateItem of one item, which
    DynamoDB applies whole or not at all, whatever runs at the same time. (moto's mock does not serialize
    concurrent writes, so the concurrency itself is not testable here; the request is.)"""
    from botocore.stub import Stubber

    checks = limiter(aws, Clock(START + 5), per_minute=10)
    with Stubber(aws.dynamodb) as stub:
        stub.add_response(
            "update_item",
            {},
            expected_params={
                "TableName": ACCOUNTS_TABLE,
                "Key": {"pk": {"S": f"checks#{ACCOUNT_A}#{MINUTE}"}},
                "UpdateExpression": "ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#count": "count", "#expires": "expires"},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":limit": {"N": "10"},
                    ":expires": {"N": str(int(START) + 60 + 300)},
                },
            },
        )
        checks.take(ACCOUNT_A)
        stub.assert_no_pending_responses()


def test_accounts_are_counted_apart(aws: Aws) -> None:
    checks = limiter(aws, Clock(START + 5), per_minute=1)
    checks.take(ACCOUNT_A)
    checks.take(ACCOUNT_B)
    with pytest.raises(RateLimited):
        checks.take(ACCOUNT_A)


def test_counters_expire_a_few_minutes_after_their_minute(aws: Aws) -> None:
    limiter(aws, Clock(START + 5)).take(ACCOUNT_A)

    (item,) = counters(aws).values()
    assert START + 60 < item["expires"] <= START + 60 + 10 * 60
    ttl = template.resources(template.default(), "AWS::DynamoDB::Table")["AccountsTable"]["Properties"]
    assert ttl["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}


def test_the_counter_never_touches_an_accounts_revocation(aws: Aws) -> None:
    limiter(aws, Clock(START + 5)).take(ACCOUNT_A)

    assert all(key.startswith("checks#") for key in counters(aws))


def test_a_dynamodb_failure_is_not_a_refusal(aws: Aws) -> None:
    from botocore.exceptions import ClientError

    checks = CheckLimiter(aws.dynamodb, "no-such-table", 10, clock=Clock(START))
    with pytest.raises(ClientError):
        checks.take(ACCOUNT_A)


@pytest.mark.parametrize("per_minute", [0, -1])
def test_the_limit_is_at_least_one(aws: Aws, per_minute: int) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        CheckLimiter(aws.dynamodb, ACCOUNTS_TABLE, per_minute)
