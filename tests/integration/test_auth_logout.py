"""POST /private/auth/logout through its real handler (events/auth_logout.json), against moto: an empty 200,
the caller's `revokedBefore` stored, no one else's; the service and repository beneath it."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from local_runtime import template
from smtphub.accounts.repository import AccountsRepository, CognitoRepository
from smtphub.accounts.service import AccountService, revocation_boundary
from tests.support.accounts import ACCOUNTS_TABLE, revoked_before
from tests.support.aws import Aws
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, call


@pytest.fixture
def logout_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What template.yaml gives AuthLogoutFunction beyond the suite's defaults (pool ids, not real ones)."""
    function = template.functions(template.default())["AuthLogoutFunction"]
    assert set(function.environment) >= {"ACCOUNTS_TABLE", "USER_POOL_ID", "USER_POOL_CLIENT_ID"}
    monkeypatch.setenv("USER_POOL_ID", "us-east-1_LogoutPool")
    monkeypatch.setenv("USER_POOL_CLIENT_ID", "logoutclient")


def test_logout_is_an_empty_200_and_revokes_the_callers_tokens_only(
    aws: Aws, logout_environment: None
) -> None:
    before = time.time()

    reply = call("auth_logout", account=ACCOUNT_A)

    assert reply.status == 200, reply.text
    assert reply.text == ""
    assert not reply.headers.get("Content-Type", "").startswith("application/json")
    stored = revoked_before(aws.dynamodb, ACCOUNT_A)
    assert stored is not None
    assert math.floor(before) + 1 <= stored <= math.floor(time.time()) + 1
    # It answered only once the boundary second had begun: a login from now on is not refused.
    assert time.time() >= stored
    assert revoked_before(aws.dynamodb, ACCOUNT_B) is None


def test_logout_ignores_parameters(aws: Aws, logout_environment: None) -> None:
    reply = call(
        "auth_logout",
        {"account": ACCOUNT_B, "accountId": ACCOUNT_B},
        account=ACCOUNT_A,
        content_type="application/x-www-form-urlencoded",
    )

    assert reply.status == 200, reply.text
    assert revoked_before(aws.dynamodb, ACCOUNT_B) is None
    assert revoked_before(aws.dynamodb, ACCOUNT_A) is not None


def test_logout_needs_the_authorizers_account(aws: Aws, logout_environment: None) -> None:
    """Without the authorizer's context (a misconfigured route) nothing is revoked: 401, never a 200."""
    reply = call("auth_logout", account=None)

    assert reply.status in (401, 403, 500), reply.text
    assert aws.dynamodb.scan(TableName=ACCOUNTS_TABLE)["Items"] == []


def test_logout_makes_one_dynamodb_call_and_no_cognito_call(
    aws: Aws, aws_calls: list[str], logout_environment: None
) -> None:
    assert call("auth_logout", account=ACCOUNT_A).status == 200

    assert aws_calls == ["UpdateItem"]


# --- the service and the repository with a clock of our own -----------------------------------------


class Unused:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"logout must not touch Cognito ({name})")


def service(aws: Aws, now: float, sleeps: list[float]) -> AccountService:
    return AccountService(
        CognitoRepository(Unused, "pool", "client"),  # type: ignore[arg-type]
        AccountsRepository(lambda: aws.dynamodb, ACCOUNTS_TABLE),
        clock=lambda: now,
        sleep=sleeps.append,
    )


@pytest.mark.parametrize(("now", "boundary"), [(1000.0, 1001), (1000.4, 1001), (1000.999, 1001)])
def test_the_boundary_is_the_next_second(now: float, boundary: int) -> None:
    assert revocation_boundary(now) == boundary


def test_logout_waits_for_the_boundary_second(aws: Aws) -> None:
    sleeps: list[float] = []

    service(aws, 1795514400.25, sleeps).logout(ACCOUNT_A)

    assert revoked_before(aws.dynamodb, ACCOUNT_A) == 1795514401
    assert sleeps == [pytest.approx(0.75)]


def test_the_repository_never_lowers_a_stored_revocation(aws: Aws) -> None:
    repository = AccountsRepository(lambda: aws.dynamodb, ACCOUNTS_TABLE)

    repository.revoke_tokens_before(ACCOUNT_A, 2000)
    repository.revoke_tokens_before(ACCOUNT_A, 1500)
    assert repository.revoked_before(ACCOUNT_A) == 2000
    repository.revoke_tokens_before(ACCOUNT_A, 2500)
    assert repository.revoked_before(ACCOUNT_A) == 2500
    assert repository.revoked_before(ACCOUNT_B) is None


def test_a_dynamodb_failure_is_not_swallowed(aws: Aws) -> None:
    from botocore.exceptions import ClientError

    repository = AccountsRepository(lambda: aws.dynamodb, "no-such-table")

    with pytest.raises(ClientError):
        repository.revoke_tokens_before(ACCOUNT_A, 2000)
