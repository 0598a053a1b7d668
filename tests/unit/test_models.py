"""The domain models as the contract's JSON (smtphub.http.responses) and as DynamoDB items (smtphub.codec
with the repositories' renamed attributes, smtphub.dynamo); ids and timestamps shaped like upstream's."""

from __future__ import annotations

import re
import time

import pytest

from smtphub.apps.models import App
from smtphub.apps.repository import APP_CODEC, AppRepository
from smtphub.dynamo import from_attribute, from_item, to_attribute, to_item
from smtphub.http.responses.apps import app_json
from smtphub.http.responses.smtps import smtp_json
from smtphub.ids import new_id, now_iso
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.models import Smtp
from smtphub.smtps.results import CheckResult
from tests.support.contract import APP_KEYS, SMTP_KEYS

ID = re.compile(r"[0-9a-f]{24}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SECRET_VERSION = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


def smtp(**changes: object) -> Smtp:
    values: dict[str, object] = {
        "id": "6741f0b7d1e2f3a4b5c6d7e8",
        "app_id": "6741f0a2c3d4e5f6a7b8c9d0",
        "account_id": "account-a",
        "host": "smtp.example.net",
        "port": 587,
        "created": "2026-11-23T10:00:00.000Z",
        "modified": "2026-11-23T10:00:00.000Z",
    }
    values.update(changes)
    return Smtp(**values)  # type: ignore[arg-type]


def app_item(app: App) -> dict[str, object]:
    """The item AppRepository writes for `app` (it needs no client to build one)."""
    return AppRepository(None, "apps", None)._item(app)  # type: ignore[arg-type]


def test_ids_are_24_lowercase_hex_and_unique() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(ID.fullmatch(i) for i in ids)


def test_ids_start_with_the_creation_second() -> None:
    before = int(time.time())
    stamp = int(new_id()[:8], 16)
    assert before <= stamp <= int(time.time())


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert TIMESTAMP.fullmatch(now_iso())


def test_smtp_json_has_exactly_the_contracts_fields() -> None:
    body = smtp_json(
        smtp(username="user@example.net", auth=True, starttls=True, secret_version=SECRET_VERSION, version=4)
    )
    assert set(body) == SMTP_KEYS
    assert body == {
        "_id": "6741f0b7d1e2f3a4b5c6d7e8",
        "idapp": "6741f0a2c3d4e5f6a7b8c9d0",
        "priority": 10,
        "host": "smtp.example.net",
        "port": 587,
        "username": "user@example.net",
        "auth": True,
        "starttls": True,
        "sslTls": False,
        "debug": False,
        "insecureauth": False,
        "defaultfromemail": None,
        "defaultfromname": None,
        "numerrors": 0,
        "created": "2026-11-23T10:00:00.000Z",
        "modified": "2026-11-23T10:00:00.000Z",
        "status": "A",
        "lastcheck": None,
        "authmech": "auto",
        "oauthprovider": None,
        "oauthtenant": None,
        "oauthclientid": None,
        "oauthtokenurl": None,
        "tlsverify": True,
        "cacert": None,
        "tlsmin": "1.2",
        "helo": None,
        "hasoauthclientsecret": False,  # which of XOAUTH2's write-only values are set
        "hasoauthrefreshtoken": False,
        "hasoauthserviceaccount": False,
        "maxperminute": None,  # no limit
        "maxperday": None,
    }


def test_smtp_item_round_trips_and_holds_no_password() -> None:
    original = smtp(
        username="u",
        auth=True,
        ssltls=True,
        secret_version=SECRET_VERSION,
        version=3,
        numerrors=2,
        status="D",
        lastcheck=CheckResult("2026-11-23T10:00:00.000Z", False, "AUTH", 535, "refused", ms=412),
    )
    item = SMTP_CODEC.encode(original)
    assert SMTP_CODEC.decode(item) == original
    assert "password" not in item
    assert item["iduser"] == {"S": "account-a"}
    assert item["sslTls"] == {"BOOL": True}
    # the record names the secret version that holds its password, never the password
    assert item["secretVersion"] == {"S": SECRET_VERSION}
    assert SMTP_CODEC.decode(item).secret_versions == {"password": SECRET_VERSION}
    # absent optional fields are left out rather than stored as NULL (no secretVersion: no password)
    assert "defaultfromemail" not in item
    assert "lastcheck" not in SMTP_CODEC.encode(smtp())
    assert "secretVersion" not in SMTP_CODEC.encode(smtp())
    assert SMTP_CODEC.decode(SMTP_CODEC.encode(smtp())).secret_versions == {}


def test_rank_orders_by_priority_then_creation_then_id() -> None:
    servers = [
        smtp(id="c" * 24, priority=10, created="2026-11-23T10:00:00.000Z"),
        smtp(id="b" * 24, priority=5, created="2026-11-23T11:00:00.000Z"),
        smtp(id="a" * 24, priority=5, created="2026-11-23T10:30:00.000Z"),
        smtp(id="d" * 24, priority=1_000_000, created="2026-11-22T10:00:00.000Z"),
        smtp(id="e" * 24, priority=0, created="2026-11-24T10:00:00.000Z"),
        smtp(id="0" * 24, priority=10, created="2026-11-23T10:00:00.000Z"),
    ]
    ordered = sorted(servers, key=lambda server: server.rank)
    assert [server.id[0] for server in ordered] == ["e", "a", "b", "0", "c", "d"]


def test_app_json_and_item() -> None:
    app = App(
        id="6741f0a2c3d4e5f6a7b8c9d0",
        account_id="account-a",
        name="Shop",
        created="2026-11-23T10:00:00.000Z",
        modified="2026-11-23T10:00:00.000Z",
        testemail="ops@example.net",
    )
    body = app_json(app)
    assert set(body) == APP_KEYS
    assert body["iduser"] == "account-a"
    assert body["strategy"] == "RANDOM"
    assert body["status"] == "A"
    assert body["defaultfromemail"] is None
    item = app_item(app)
    assert "deleting" not in item  # only set while the app is being removed
    assert item["version"] == {"N": "1"}
    assert APP_CODEC.decode(item) == app
    deleting = APP_CODEC.decode({**item, "deleting": {"BOOL": True}})
    assert deleting.deleting is True
    assert "deleting" not in app_json(deleting)


@pytest.mark.parametrize(
    "value",
    [True, False, 0, 7, -3, "text", "", None, {"a": 1, "b": {"c": None, "d": "x"}}, [1, "x", [None]], []],
)
def test_attribute_values_round_trip(value: object) -> None:
    assert from_attribute(to_attribute(value)) == value


def test_floats_read_back_and_unknown_types_are_refused() -> None:
    assert from_attribute({"N": "1.5"}) == 1.5
    with pytest.raises(TypeError):
        to_attribute({1, 2})  # a set: no mapping (lists are one now: a check's stages and capabilities)
    assert from_item(to_item({"a": 1, "b": None})) == {"a": 1}
