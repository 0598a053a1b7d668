"""Tenancy, end to end: account B, logged in for real, tries every endpoint on account A's data.

Both accounts are Cognito users (moto) who log in through `POST /auth/login`; their tokens go through the
real authorizer, and every request below carries exactly the `requestContext.authorizer` that API Gateway
would build from the authorizer's answer. B gets the contract's 406 not-found each time, the very answer a
missing id gets, and nothing anywhere changes: not A's views, not a table item, not a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from smtphub import wiring
from smtphub.ids import new_id
from tests.support import auth as auth_support
from tests.support import lambdas
from tests.support.auth import PASSWORD, authorize, effect, login
from tests.support.aws import APPS_TABLE, SECRET_PREFIX, SMTPS_TABLE, WEBHOOK_SECRET_PREFIX, create_tables
from tests.support.lambdas import call

OWNER = "owner-a@example.com"
INTRUDER = "intruder-b@example.com"
A_HOST = "smtp.owner-a.example.net"
A_USERNAME = "relay-user-a@example.net"
A_PASSWORD = "A-smtp-password-1"


@dataclass(frozen=True)
class World:
    a: str  # account ids (Cognito sub), as the authorizer passes them
    b: str
    app_a: str
    smtp_a: str
    app_b: str
    smtp_b: str
    dynamodb: Any
    secrets: Any


def _env() -> dict[str, str]:
    return {
        **auth_support.FAKE_AWS,
        "APPS_TABLE": APPS_TABLE,
        "SMTPS_TABLE": SMTPS_TABLE,
        "SECRET_PREFIX": SECRET_PREFIX,
        "WEBHOOK_SECRET_PREFIX": WEBHOOK_SECRET_PREFIX,
    }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """Built once: every attempt below must leave it exactly as it was (and each test checks so)."""
    import boto3
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in _env().items():
            patch.setenv(name, value)
        wiring.reset()
        dynamodb = boto3.client("dynamodb", region_name=auth_support.REGION)
        create_tables(dynamodb)
        cognito = auth_support.create_cognito()
        with auth_support.use_pool(patch, cognito):
            contexts: dict[str, dict[str, Any]] = {}
            for email in (OWNER, INTRUDER):
                cognito.add_user(email)
                reply = login(email, PASSWORD)
                assert reply.status == 200, reply.text
                answer = authorize(f"Bearer {reply.json['token']}")
                assert effect(answer) == "Allow"
                assert answer["context"]["username"] == email
                contexts[answer["context"]["accountId"]] = auth_support.gateway_context(answer)
            # call(account=X) sends the authorizer context; here, the real one for X's token.
            patch.setattr(lambdas, "demo_authorizer", lambda account: contexts[account])
            a, b = (login_id for login_id in contexts)
            app_a = call("apps_save", {"name": "Shop", "testemail": "ops@owner-a.example.net"}, account=a)
            smtp_a = call(
                "smtps_save",
                {
                    "idapp": app_a.json["_id"],
                    "host": A_HOST,
                    "port": 587,
                    "auth": True,
                    "starttls": True,
                    "username": A_USERNAME,
                    "password": A_PASSWORD,
                    "defaultfromemail": "info@owner-a.example.net",
                },
                account=a,
            )
            app_b = call("apps_save", {"name": "Other shop"}, account=b)
            smtp_b = call(
                "smtps_save",
                {"idapp": app_b.json["_id"], "host": "smtp.b.example.net", "port": 25},
                account=b,
            )
            for reply in (app_a, smtp_a, app_b, smtp_b):
                assert reply.status == 200, reply.text
            yield World(
                a=a,
                b=b,
                app_a=app_a.json["_id"],
                smtp_a=smtp_a.json["_id"],
                app_b=app_b.json["_id"],
                smtp_b=smtp_b.json["_id"],
                dynamodb=dynamodb,
                secrets=boto3.client("secretsmanager", region_name=auth_support.REGION),
            )
        wiring.reset()


def everything(world: World) -> dict[str, Any]:
    """A's data as A sees it, and every item and secret as stored."""

    def scan(table: str) -> list[dict[str, Any]]:
        items = world.dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))

    secrets = {}
    for entry in world.secrets.list_secrets()["SecretList"]:
        name = entry["Name"]
        secrets[name] = (
            world.secrets.get_secret_value(SecretId=name)["SecretString"],
            sorted(  # which versions exist and which is current (LastAccessedDate moves with every read)
                (version["VersionId"], sorted(version["VersionStages"]))
                for version in world.secrets.list_secret_version_ids(SecretId=name)["Versions"]
            ),
        )
    return {
        "app": call("apps_find_by_id", {"idapp": world.app_a}, account=world.a).json,
        "smtp": call("smtps_find_by_id", {"idsmtp": world.smtp_a}, account=world.a).json,
        "servers": call("smtps_find_by_app", {"idapp": world.app_a}, account=world.a).json,
        "apps": call("apps_find_all", {"page": 0, "size": 100}, account=world.a).json,
        "apps_table": scan(APPS_TABLE),
        "smtps_table": scan(SMTPS_TABLE),
        "secrets": secrets,
    }


@pytest.fixture
def unchanged(world: World) -> Iterator[World]:
    """The test runs against the world, which must be the same afterwards, to the last byte."""
    before = everything(world)
    assert before["smtp"]["host"] == A_HOST  # A's data is there to be attacked
    assert json.loads(before["secrets"][SECRET_PREFIX + world.smtp_a][0]) == {"password": A_PASSWORD}
    yield world
    assert everything(world) == before


# Every endpoint, aimed at A's app or SMTP server: (function, params, the not-found B must get).
ATTEMPTS = {
    "smtps_find_by_id": ("smtps_find_by_id", {"idsmtp": "SMTP_A"}, "SMTP_NOT_FOUND"),
    "smtps_find_by_app": ("smtps_find_by_app", {"idapp": "APP_A"}, "APP_NOT_FOUND"),
    "smtps_save edit": (
        "smtps_save",
        {"idsmtp": "SMTP_A", "host": "evil.example.net", "password": "stolen-1", "priority": 0},
        "SMTP_NOT_FOUND",
    ),
    # ownership before the binding rule: no 400 telling B that A's server exists and has a password
    "smtps_save redirect without the password": (
        "smtps_save",
        {"idsmtp": "SMTP_A", "host": "evil.example.net", "port": 2525},
        "SMTP_NOT_FOUND",
    ),
    "smtps_save lower encryption without the password": (
        "smtps_save",
        {"idsmtp": "SMTP_A", "starttls": "false", "insecureauth": "true"},
        "SMTP_NOT_FOUND",
    ),
    "smtps_save add to A's app": (
        "smtps_save",
        {"idapp": "APP_A", "host": "evil.example.net", "port": 25},
        "APP_NOT_FOUND",
    ),
    "smtps_save move B's server into A's app": (
        "smtps_save",
        {"idsmtp": "SMTP_B", "idapp": "APP_A"},
        "APP_NOT_FOUND",
    ),
    "smtps_remove": ("smtps_remove", {"idsmtp": "SMTP_A"}, "SMTP_NOT_FOUND"),
    "smtps_remove upstream spelling": ("smtps_remove", {"idapp": "SMTP_A"}, "SMTP_NOT_FOUND"),
    "smtps_check": ("smtps_check", {"idsmtp": "SMTP_A"}, "SMTP_NOT_FOUND"),
    "smtps_check upstream spelling": ("smtps_check", {"idapp": "SMTP_A"}, "SMTP_NOT_FOUND"),
    "apps_find_by_id": ("apps_find_by_id", {"idapp": "APP_A"}, "APP_NOT_FOUND"),
    "apps_save edit": (
        "apps_save",
        {"idapp": "APP_A", "name": "Taken over", "testemail": "evil@example.net"},
        "APP_NOT_FOUND",
    ),
    "apps_remove": ("apps_remove", {"idapp": "APP_A"}, "APP_NOT_FOUND"),
}


def _fill(params: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return {
        name: ids.get(value, value) if isinstance(value, str) else value for name, value in params.items()
    }


@pytest.mark.parametrize(("function", "params", "code"), ATTEMPTS.values(), ids=list(ATTEMPTS))
def test_b_cannot_reach_as_data(unchanged: World, function: str, params: dict[str, Any], code: str) -> None:
    world = unchanged
    ids = {"APP_A": world.app_a, "SMTP_A": world.smtp_a, "SMTP_B": world.smtp_b}

    reply = call(function, _fill(params, ids), account=world.b)

    assert reply.status == 406, reply.text
    assert reply.json["error"] == code
    assert set(reply.json) == {"status", "error", "message", "requestId"}
    for secret in (A_HOST, A_USERNAME, A_PASSWORD, world.a, "Shop"):
        assert secret not in reply.text
    # Indistinguishable from an id that does not exist at all.
    missing = call(function, _fill(params, {**ids, "APP_A": new_id(), "SMTP_A": new_id()}), account=world.b)
    assert (missing.status, {**missing.json, "requestId": ""}) == (406, {**reply.json, "requestId": ""})


def test_b_lists_only_its_own(unchanged: World) -> None:
    world = unchanged

    apps = call("apps_find_all", {"page": 0, "size": 100}, account=world.b)
    servers = call("smtps_find_by_app", {"idapp": world.app_b}, account=world.b)

    assert apps.status == servers.status == 200
    assert [app["_id"] for app in apps.json["content"]] == [world.app_b]
    assert apps.json["totalElements"] == 1
    assert [smtp["_id"] for smtp in servers.json] == [world.smtp_b]
    assert world.app_a not in apps.text + servers.text
    assert world.smtp_a not in servers.text


def test_a_sees_its_own_and_nothing_of_bs(unchanged: World) -> None:
    world = unchanged

    apps = call("apps_find_all", {"page": 0, "size": 100}, account=world.a)
    smtp = call("smtps_find_by_id", {"idsmtp": world.smtp_b}, account=world.a)

    assert [app["_id"] for app in apps.json["content"]] == [world.app_a]
    assert (smtp.status, smtp.json["error"]) == (406, "SMTP_NOT_FOUND")


def test_app_names_are_unique_per_account_only(world: World) -> None:
    """B may call an app what A called one: names do not leak across accounts either."""
    reply = call("apps_save", {"name": "Shop"}, account=world.b)
    try:
        assert reply.status == 200, reply.text
        assert reply.json["iduser"] == world.b
    finally:
        assert call("apps_remove", {"idapp": reply.json["_id"]}, account=world.b).status == 200
