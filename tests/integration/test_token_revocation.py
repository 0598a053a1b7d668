"""Tokens that can be taken back: logout (the real AccountService) writes `revokedBefore`, the real
authorizer reads it with its own signed HTTP GetItem from a moto server on 127.0.0.1, as in Lambda.

Tokens come from moto's Cognito (logins through the real service) or are signed with moto's key for
times a login cannot produce on demand.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from smtphub.accounts.repository import REVOCATION_KEPT_SECONDS, AccountsRepository, CognitoRepository
from smtphub.accounts.service import AccountService
from tests.support import auth
from tests.support.accounts import ACCOUNTS_TABLE, MotoServer, ensure_accounts_table, moto_server
from tests.support.auth import PASSWORD, Cognito, authorize, authorizer_module, effect, sign

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as running:
        yield running


@dataclass
class World:
    cognito: Cognito
    dynamodb: Any  # boto3 client of the moto server
    alice: str  # account ids
    bob: str
    sleeps: list[float] = field(default_factory=list)

    def service(self, clock: Any = time.time) -> AccountService:
        """The real service: Cognito in moto, the accounts table on the moto server the authorizer reads."""

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if clock is time.time:
                time.sleep(seconds)

        return AccountService(
            CognitoRepository(lambda: self.cognito.client, self.cognito.pool_id, self.cognito.client_id),
            AccountsRepository(lambda: self.dynamodb, ACCOUNTS_TABLE),
            clock=clock,
            sleep=sleep,
        )

    def token(self, account: str, email: str, **times: int) -> str:
        """An ID token of this pool and client with the given iat / auth_time (moto's signing key)."""
        claims = self.cognito.id_claims(account, email)
        claims.update(times)
        for name in [name for name, value in times.items() if value is None]:
            del claims[name]
        return sign(claims)


@pytest.fixture
def world(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)  # the authorizer's own HTTP client
        dynamodb = server.client()
        ensure_accounts_table(dynamodb)
        cognito = auth.create_cognito()
        alice, bob = cognito.add_user(ALICE), cognito.add_user(BOB)
        with auth.use_pool(monkeypatch, cognito, over_http=True):
            yield World(cognito, dynamodb, alice, bob)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def stored(world: World, account: str) -> dict[str, Any]:
    item = world.dynamodb.get_item(
        TableName=ACCOUNTS_TABLE, Key={"pk": {"S": f"account#{account}"}}, ConsistentRead=True
    )
    return {name: int(value["N"]) for name, value in item.get("Item", {}).items() if "N" in value}


# --- logout, then the token -------------------------------------------------------------------------


def test_a_token_stops_working_after_logout(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    token = world.service().login(ALICE, PASSWORD).token
    assert effect(authorize(bearer(token))) == "Allow"

    world.service().logout(world.alice)

    answer = authorize(bearer(token))
    assert effect(answer) == "Deny"
    assert "context" not in answer
    assert any(getattr(record, "reason", None) == "revoked" for record in caplog.records)


def test_every_token_of_the_account_goes_and_no_other_accounts(world: World) -> None:
    service = world.service()
    first, second = service.login(ALICE, PASSWORD).token, service.login(ALICE, PASSWORD).token
    bobs = service.login(BOB, PASSWORD).token

    service.logout(world.alice)

    assert effect(authorize(bearer(first))) == "Deny"
    assert effect(authorize(bearer(second))) == "Deny"
    assert effect(authorize(bearer(bobs))) == "Allow"


def test_a_login_right_after_logout_works(world: World) -> None:
    """Logout answers once the revocation's second has passed, so the next login is not refused too."""
    service = world.service()
    old = service.login(ALICE, PASSWORD).token

    service.logout(world.alice)
    new = service.login(ALICE, PASSWORD).token

    assert effect(authorize(bearer(old))) == "Deny"
    assert effect(authorize(bearer(new))) == "Allow"
    assert len(world.sleeps) == 1
    assert 0 < world.sleeps[0] <= 1


def test_the_boundary_is_the_next_whole_second(world: World) -> None:
    """Token times are whole seconds: a logout at 1000.4 refuses everything of second 1000 (including a
    token issued at 1000.2, before it) and nothing from second 1001 on; it answers at 1001."""
    base = int(time.time()) - 600
    service = world.service(clock=lambda: base + 0.4)

    service.logout(world.alice)

    assert stored(world, world.alice)["revokedBefore"] == base + 1
    assert world.sleeps == [pytest.approx(0.6)]
    same_second = world.token(world.alice, ALICE, iat=base, auth_time=base)
    next_second = world.token(world.alice, ALICE, iat=base + 1, auth_time=base + 1)
    assert effect(authorize(bearer(same_second))) == "Deny"
    assert effect(authorize(bearer(next_second))) == "Allow"


def test_a_logout_on_the_second_itself_still_refuses_that_second(world: World) -> None:
    base = int(time.time()) - 600
    world.service(clock=lambda: float(base)).logout(world.alice)

    assert stored(world, world.alice)["revokedBefore"] == base + 1
    assert effect(authorize(bearer(world.token(world.alice, ALICE, iat=base, auth_time=base)))) == "Deny"


def test_auth_time_decides_not_iat(world: World) -> None:
    """A token re-issued from an older sign-in (iat after the logout, auth_time before) stays refused."""
    base = int(time.time()) - 600
    world.service(clock=lambda: base + 0.5).logout(world.alice)

    refreshed = world.token(world.alice, ALICE, auth_time=base - 100, iat=base + 100)

    assert effect(authorize(bearer(refreshed))) == "Deny"


@pytest.mark.parametrize(("iat_offset", "allowed"), [(0, False), (1, True)])
def test_without_auth_time_iat_decides(world: World, iat_offset: int, allowed: bool) -> None:
    base = int(time.time()) - 600
    world.service(clock=lambda: base + 0.5).logout(world.alice)

    token = world.token(world.alice, ALICE, auth_time=None, iat=base + iat_offset)  # type: ignore[arg-type]

    assert effect(authorize(bearer(token))) == ("Allow" if allowed else "Deny")


@pytest.mark.parametrize("auth_time", ["1000", True, None, 1.5e300])
def test_a_malformed_auth_time_is_denied(world: World, auth_time: Any) -> None:
    claims = world.cognito.id_claims(world.alice, ALICE, auth_time=auth_time)
    if auth_time is None:
        claims["auth_time"] = None

    assert effect(authorize(bearer(sign(claims)))) == "Deny"


def test_a_logout_never_moves_the_time_back(world: World) -> None:
    """An administrator's (or a later) revocation stays when an earlier one arrives after it."""
    base = int(time.time()) - 600
    world.service(clock=lambda: base + 100.5).logout(world.alice)
    world.service(clock=lambda: base + 0.5).logout(world.alice)

    assert stored(world, world.alice)["revokedBefore"] == base + 101


def test_the_revocation_item_expires_once_every_token_it_refuses_has(world: World) -> None:
    base = int(time.time())
    world.service(clock=lambda: base + 0.5).logout(world.alice)

    item = stored(world, world.alice)
    longest_token = 24 * 3600  # TokenValidityHours' maximum (Cognito's limit for ID tokens)
    assert item["expires"] == item["revokedBefore"] + REVOCATION_KEPT_SECONDS
    assert item["expires"] > item["revokedBefore"] + longest_token + 5  # the authorizer's leeway on exp
    ttl = world.dynamodb.describe_time_to_live(TableName=ACCOUNTS_TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_the_administrators_put_item_revokes(world: World) -> None:
    """README, "Accounts and tokens": `aws dynamodb put-item` of the account's item, as an administrator."""
    token = world.service().login(ALICE, PASSWORD).token
    now = int(time.time()) + 1

    world.dynamodb.put_item(
        TableName=ACCOUNTS_TABLE,
        Item={"pk": {"S": f"account#{world.alice}"}, "revokedBefore": {"N": str(now)}},
    )

    assert effect(authorize(bearer(token))) == "Deny"


# --- failures: never a Deny that API Gateway would cache --------------------------------------------


def test_an_unreadable_table_is_an_error_not_a_cached_deny(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = world.service().login(ALICE, PASSWORD).token
    app = authorizer_module()
    monkeypatch.setenv("ACCOUNTS_TABLE", "no-such-table")
    app.configure(fetch=world.cognito.fetches)

    # An exception: API Gateway answers 500 and caches nothing; the next call asks again.
    with pytest.raises(app.RevocationsUnavailable, match="ResourceNotFoundException"):
        authorize(bearer(token))

    monkeypatch.setenv("ACCOUNTS_TABLE", ACCOUNTS_TABLE)
    app.configure(fetch=world.cognito.fetches)
    assert effect(authorize(bearer(token))) == "Allow"


def test_an_unreachable_dynamodb_is_an_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    token = world.service().login(ALICE, PASSWORD).token
    app = authorizer_module()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    app.configure(fetch=world.cognito.fetches)

    with pytest.raises(app.RevocationsUnavailable):
        authorize(bearer(token))


def test_a_malformed_revocation_item_is_an_error(world: World) -> None:
    token = world.service().login(ALICE, PASSWORD).token
    world.dynamodb.put_item(
        TableName=ACCOUNTS_TABLE,
        Item={"pk": {"S": f"account#{world.alice}"}, "revokedBefore": {"S": "yesterday"}},
    )

    with pytest.raises(authorizer_module().RevocationsUnavailable):
        authorize(bearer(token))


@dataclass
class CountingRevocations:
    calls: list[str] = field(default_factory=list)

    def revoked_before(self, account_id: str) -> int | None:
        self.calls.append(account_id)
        return None


def test_the_table_is_read_only_for_tokens_that_pass_every_other_check(world: World) -> None:
    counting = CountingRevocations()
    authorizer_module().configure(fetch=world.cognito.fetches, revocations=counting)
    expired = world.token(world.alice, ALICE, exp=int(time.time()) - 100)

    assert effect(authorize(bearer(expired))) == "Deny"
    assert effect(authorize("Bearer not-a-jwt")) == "Deny"
    assert counting.calls == []
    assert effect(authorize(bearer(world.service().login(ALICE, PASSWORD).token))) == "Allow"
    assert counting.calls == [world.alice]
