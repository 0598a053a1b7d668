"""The SMTP server endpoints through their real handlers and events, against moto.

save (create and edit), findByApp, findById, remove: the contract's shapes, validation, tenancy,
ordering, partial edits, passwords (Secrets Manager only, never answered, stored or logged), the write
order across DynamoDB and Secrets Manager when either fails, and concurrent edits.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smtphub import services
from smtphub.models import Smtp
from tests.conftest import (
    ACCOUNT_A,
    ACCOUNT_B,
    SECRET_PREFIX,
    SMTP_KEYS,
    SMTPS_TABLE,
    Reply,
    Stream,
    call,
    load_event,
)

ID = re.compile(r"[0-9a-f]{24}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PASSWORD = "Sm7p-pa55word-never-shown"
SERVER = {
    "host": "smtp.example.net",
    "port": 587,
    "auth": True,
    "starttls": True,
    "username": "user@example.net",
    "password": PASSWORD,
}
MISSING_SMTP = "6741f0b7d1e2f3a4b5c6d7e8"
MISSING_APP = "6741f0a2c3d4e5f6a7b8c9d0"


# --- helpers (test_apps imports them) ----------------------------------------------------------------


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply.text
    return reply.json if reply.text else None


def new_app(name: str = "Shop", account: str = ACCOUNT_A) -> str:
    app = ok(call("apps_save", {"name": name, "testemail": "ops@example.net"}, account=account))
    return str(app["_id"])


def new_smtp(idapp: str, account: str = ACCOUNT_A, **fields: Any) -> dict[str, Any]:
    params = {k: v for k, v in {"idapp": idapp, **SERVER, **fields}.items() if v is not None}
    created: dict[str, Any] = ok(call("smtps_save", params, account=account))
    return created


def error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    body: dict[str, Any] = reply.json
    assert body["error"] == code
    assert body["status"] == status
    return body


def bad(reply: Reply) -> dict[str, str]:
    fields: dict[str, str] = error(reply, 400, "BAD_REQUEST")["fields"]
    return fields


def items(aws: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.dynamodb.scan(TableName=SMTPS_TABLE, ConsistentRead=True)["Items"]
    return found


def secret(aws: Any, idsmtp: str) -> str | None:
    """The current (AWSCURRENT) password in Secrets Manager; None when the secret does not exist at all.

    The stage is named: moto answers a read without one from the version the secret was last written with.
    """
    try:
        value = aws.secrets.get_secret_value(SecretId=SECRET_PREFIX + idsmtp, VersionStage="AWSCURRENT")[
            "SecretString"
        ]
    except ClientError as problem:
        if problem.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return str(json.loads(value)["password"])


def scheduled_for_deletion(aws: Any, idsmtp: str) -> bool:
    return "DeletedDate" in aws.secrets.describe_secret(SecretId=SECRET_PREFIX + idsmtp)


def secret_names(aws: Any) -> set[str]:
    """Every secret, including those scheduled for deletion."""
    pages = aws.secrets.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
    return {entry["Name"] for page in pages for entry in page["SecretList"]}


class Failing:
    """A boto3 client whose `method` raises `error` after `after` good calls (when `when`); the rest pass."""

    def __init__(self, real: Any, method: str, error: Exception, after: int = 0, when: Any = None) -> None:
        self.real, self.method, self.error, self.after, self.when = real, method, error, after, when
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        def call_or_fail(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls > self.after and (self.when is None or self.when(kwargs)):
                raise self.error
            return attribute(**kwargs)

        return call_or_fail


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


class NoCalls:
    """A client that fails the test on any call: this path must not reach the service."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call {name}")


def stored(aws: Any, idsmtp: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = aws.dynamodb.get_item(
        TableName=SMTPS_TABLE, Key={"_id": {"S": idsmtp}}, ConsistentRead=True
    ).get("Item")
    return item


# --- create, read, list, remove: the contract's happy paths -----------------------------------------


def test_create_from_the_sample_event_answers_the_contracts_json(aws: Any) -> None:
    """events/smtps_save.json is QueueMail's own form (sslTls spelled its way), only the app id swapped."""
    idapp = new_app()
    event = load_event("smtps_save")
    event["body"] = event["body"].replace(MISSING_APP, idapp)
    created = ok(call("smtps_save", event=event))
    assert set(created) == SMTP_KEYS
    assert ID.fullmatch(created["_id"])
    assert TIMESTAMP.fullmatch(created["created"])
    assert created["modified"] == created["created"]
    assert {k: v for k, v in created.items() if k not in ("_id", "created", "modified")} == {
        "idapp": idapp,
        "priority": 10,
        "host": "smtp.example.net",
        "port": 587,
        "username": "user@example.net",
        "auth": True,
        "starttls": True,
        "sslTls": False,
        "debug": False,
        "defaultfromemail": "info@example.net",
        "defaultfromname": "Info",
        "numerrors": 0,
        "status": "A",
        "lastcheck": None,
    }
    assert "smtp-password-1234" not in json.dumps(created)
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == created
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == [created]


def test_defaults_of_a_minimal_server(aws: Any) -> None:
    idapp = new_app()
    created = ok(call("smtps_save", {"idapp": idapp, "host": "relay.example.net", "port": "25"}))
    assert {
        k: created[k] for k in ("priority", "auth", "starttls", "sslTls", "debug", "status", "numerrors")
    } == {
        "priority": 10,
        "auth": False,
        "starttls": False,
        "sslTls": False,
        "debug": False,
        "status": "A",
        "numerrors": 0,
    }
    assert created["username"] is None
    assert created["defaultfromemail"] is None
    assert created["lastcheck"] is None
    assert secret(aws, created["_id"]) is None  # no password, no secret


def test_the_sample_events_of_reads_and_remove_work_on_their_ids(aws: Any) -> None:
    """The read and remove events, unchanged but for their ids, answer as the contract says."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    by_id = load_event("smtps_find_by_id")
    by_id["queryStringParameters"] = {"idsmtp": idsmtp}
    by_id["multiValueQueryStringParameters"] = {"idsmtp": [idsmtp]}
    assert ok(call("smtps_find_by_id", event=by_id))["_id"] == idsmtp
    by_app = load_event("smtps_find_by_app")
    by_app["queryStringParameters"] = {"idapp": idapp}
    by_app["multiValueQueryStringParameters"] = {"idapp": [idapp]}
    assert [s["_id"] for s in ok(call("smtps_find_by_app", event=by_app))] == [idsmtp]
    remove = load_event("smtps_remove")
    remove["body"] = remove["body"].replace(MISSING_SMTP, idsmtp)
    reply = call("smtps_remove", event=remove)
    assert (reply.status, reply.text) == (200, "")
    assert "Content-Type" not in reply.headers


def test_remove_deletes_the_record_and_the_stream_schedules_the_secrets_deletion(
    aws: Any, stream: Stream
) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    assert secret(aws, idsmtp) == PASSWORD
    reply = call("smtps_remove", {"idsmtp": idsmtp})
    assert (reply.status, reply.text) == (200, "")
    assert items(aws) == []
    assert not scheduled_for_deletion(aws, idsmtp)  # not by the request: by the table's stream
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)  # recoverable for a few days, then purged by AWS
    error(call("smtps_find_by_id", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    error(call("smtps_remove", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == []


def test_remove_reads_idapp_as_the_smtp_id_when_idsmtp_is_absent(aws: Any) -> None:
    """The upstream page names remove's parameter idapp while meaning the SMTP id."""
    idapp = new_app()
    first = new_smtp(idapp)["_id"]
    second = new_smtp(idapp)["_id"]
    assert call("smtps_remove", {"idapp": first}).status == 200
    assert [s["_id"] for s in ok(call("smtps_find_by_app", {"idapp": idapp}))] == [second]
    # idsmtp, when present, wins: idapp is then the app's id and ignored
    assert call("smtps_remove", {"idsmtp": second, "idapp": idapp}).status == 200
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == []
    error(call("smtps_remove", {"idapp": idapp}), 406, "SMTP_NOT_FOUND")  # an app id is no SMTP id
    assert bad(call("smtps_remove", {})) == {"idsmtp": "is required"}


def test_not_found(aws: Any) -> None:
    idapp = new_app()
    error(call("smtps_find_by_id", {"idsmtp": MISSING_SMTP}), 406, "SMTP_NOT_FOUND")
    error(call("smtps_remove", {"idsmtp": MISSING_SMTP}), 406, "SMTP_NOT_FOUND")
    error(call("smtps_save", {"idsmtp": MISSING_SMTP, "port": 25}), 406, "SMTP_NOT_FOUND")
    error(call("smtps_find_by_app", {"idapp": MISSING_APP}), 406, "APP_NOT_FOUND")
    body = error(call("smtps_save", {**SERVER, "idapp": MISSING_APP}), 406, "APP_NOT_FOUND")
    assert body["message"] == "App not found"
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == []
    assert items(aws) == []
    assert secret_names(aws) == set()


# --- request parsing, end to end ----------------------------------------------------------------------


def test_create_from_a_json_body_with_native_types(aws: Any) -> None:
    idapp = new_app()
    body = json.dumps(
        {
            "idApp": idapp,
            "HOST": "smtp.example.net",
            "port": 465,
            "ssl_tls": True,
            "auth": False,
            "priority": 0,
        }
    )
    created = ok(call("smtps_save", body=body, content_type="application/json"))
    assert (created["port"], created["sslTls"], created["auth"], created["priority"]) == (465, True, False, 0)


def test_query_string_on_post_with_the_body_winning(aws: Any) -> None:
    idapp = new_app()
    event = load_event("smtps_save")
    query = {"idapp": idapp, "host": "query.example.net", "port": "25", "priority": "3"}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    created = ok(call("smtps_save", event=event, body="Host=body.example.net&PORT=2525&priority="))
    assert (created["host"], created["port"], created["priority"]) == ("body.example.net", 2525, 3)


@pytest.mark.parametrize("alias", ["sslTls", "ssltls", "ssl_tls", "SSLTLS"])
def test_each_spelling_of_ssltls(aws: Any, alias: str) -> None:
    idapp = new_app()
    created = ok(call("smtps_save", {"idapp": idapp, "host": "h.example.net", "port": 465, alias: "YES"}))
    assert created["sslTls"] is True


def test_the_upstream_typo_defaulfromemail(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(idapp, defaulfromemail="typo@example.net")
    assert created["defaultfromemail"] == "typo@example.net"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True), ("nO", False)],
)
def test_booleans_any_case(aws: Any, raw: str, value: bool) -> None:
    idapp = new_app()
    created = ok(call("smtps_save", {"idapp": idapp, "host": "h.example.net", "port": 25, "debug": raw}))
    assert created["debug"] is value


def test_base64_encoded_body(aws: Any) -> None:
    import base64

    idapp = new_app()
    event = load_event("smtps_save")
    event["body"] = base64.b64encode(f"idapp={idapp}&host=b64.example.net&port=25".encode()).decode()
    event["isBase64Encoded"] = True
    assert ok(call("smtps_save", event=event))["host"] == "b64.example.net"


def test_unknown_parameters_are_ignored(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(
        idapp, _id="f" * 24, iduser=ACCOUNT_B, numerrors=9, status="D", version=99, hasPassword="no"
    )
    assert created["_id"] != "f" * 24
    assert (created["numerrors"], created["status"]) == (0, "A")
    (item,) = items(aws)
    assert item["iduser"] == {"S": ACCOUNT_A}
    assert item["version"] == {"N": "1"}


def test_empty_values_are_absent(aws: Any) -> None:
    idapp = new_app()
    created = ok(
        call(
            "smtps_save",
            {"idapp": idapp, "host": "h.example.net", "port": 25, "username": "", "priority": "", "auth": ""},
        )
    )
    assert (created["username"], created["priority"], created["auth"]) == (None, 10, False)


# --- validation: 400 naming every bad parameter -----------------------------------------------------


def test_every_bad_parameter_is_named_at_once(aws: Any) -> None:
    fields = bad(
        call(
            "smtps_save",
            {
                "idapp": "xyz",
                "host": "smtp://smtp.example.net:587/",
                "port": "70000",
                "priority": "-1",
                "auth": "maybe",
                "starttls": "on",
                "sslTls": "2",
                "debug": "debug",
                "defaultfromemail": "nobody",
                "defaultfromname": "a\r\nb",
                "username": "u" * 321,
                "password": "p" * 1025,
            },
        )
    )
    assert set(fields) == {
        "idapp",
        "host",
        "port",
        "priority",
        "auth",
        "starttls",
        "ssltls",
        "debug",
        "defaultfromemail",
        "defaultfromname",
        "username",
        "password",
    }
    assert fields["port"] == "must be an integer from 1 to 65535"
    assert fields["auth"] == "must be true or false"
    assert items(aws) == []


def test_missing_and_malformed_parameters_are_named_together(aws: Any) -> None:
    """A create without host and with a bad port names both, not one per attempt."""
    assert bad(call("smtps_save", {"port": "abc"})) == {
        "idapp": "is required",
        "host": "is required",
        "port": "must be an integer from 1 to 65535",
    }
    assert bad(call("smtps_save", {})) == {
        "idapp": "is required",
        "host": "is required",
        "port": "is required",
    }


def test_rules_across_fields_are_named_with_the_rest(aws: Any) -> None:
    idapp = new_app()
    fields = bad(
        call(
            "smtps_save", {"idapp": idapp, "port": "0", "auth": "true", "starttls": "true", "ssltls": "true"}
        )
    )
    assert fields == {
        "host": "is required",
        "port": "must be an integer from 1 to 65535",
        "ssltls": "cannot be true together with starttls",
        "username": "is required when auth is true",
        "password": "is required when auth is true",
    }


@pytest.mark.parametrize(
    "host",
    [
        "smtp://smtp.example.net",
        "smtp.example.net:587",
        "smtp.example.net/x",
        "smtp example.net",
        "a..b",
        " ",
    ],
)
def test_bad_hosts(aws: Any, host: str) -> None:
    idapp = new_app()
    fields = bad(call("smtps_save", {"idapp": idapp, "host": host, "port": 25}))
    assert set(fields) == {"host"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("port", "0"),
        ("port", "65536"),
        ("port", "2.5"),
        ("port", "-25"),
        ("priority", "1000001"),
        ("priority", "ten"),
    ],
)
def test_integers_out_of_range_or_not_digits(aws: Any, name: str, value: str) -> None:
    idapp = new_app()
    params = {"idapp": idapp, "host": "h.example.net", "port": 25, name: value}
    assert set(bad(call("smtps_save", params))) == {name}


def test_integer_bounds_are_inclusive(aws: Any) -> None:
    idapp = new_app()
    assert new_smtp(idapp, port=1, priority=0)["port"] == 1
    assert new_smtp(idapp, port=65535, priority=1_000_000)["priority"] == 1_000_000


@pytest.mark.parametrize(
    ("name", "longest"),
    [
        ("host", ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])),
        ("username", "u" * 320),
        ("password", "p" * 1024),
        ("defaultfromname", "n" * 200),
    ],
)
def test_string_bounds(aws: Any, name: str, longest: str) -> None:
    idapp = new_app()
    assert new_smtp(idapp, **{name: longest})["_id"]
    assert set(bad(call("smtps_save", {**SERVER, "idapp": idapp, name: "x" + longest}))) == {name}


@pytest.mark.parametrize(
    "address", ["nobody", "a@b", "a b@example.net", "Info <a@example.net>", "a@@example.net"]
)
def test_bad_default_from_email(aws: Any, address: str) -> None:
    idapp = new_app()
    assert bad(call("smtps_save", {**SERVER, "idapp": idapp, "defaultfromemail": address})) == {
        "defaultfromemail": "must be an e-mail address"
    }


def test_starttls_and_ssltls_cannot_both_be_true(aws: Any) -> None:
    idapp = new_app()
    fields = bad(call("smtps_save", {**SERVER, "idapp": idapp, "starttls": "true", "sslTls": "true"}))
    assert fields == {"ssltls": "cannot be true together with starttls"}
    assert items(aws) == []
    assert new_smtp(idapp, starttls="false", sslTls="true")["sslTls"] is True


def test_auth_needs_username_and_password_on_create(aws: Any) -> None:
    idapp = new_app()
    assert bad(call("smtps_save", {"idapp": idapp, "host": "h.example.net", "port": 25, "auth": "true"})) == {
        "username": "is required when auth is true",
        "password": "is required when auth is true",
    }
    assert set(bad(call("smtps_save", {**SERVER, "idapp": idapp, "password": ""}))) == {"password"}
    no_username = {k: v for k, v in SERVER.items() if k != "username"}
    assert set(bad(call("smtps_save", {**no_username, "idapp": idapp}))) == {"username"}
    assert items(aws) == []
    assert secret_names(aws) == set()
    # without auth, neither is needed (a relay)
    assert new_smtp(idapp, auth="false", username=None, password=None)["auth"] is False


# --- edit ---------------------------------------------------------------------------------------------


def test_partial_edit_keeps_every_omitted_field_and_the_password(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(
        idapp, defaultfromemail="info@example.net", defaultfromname="Info", priority=7, debug=True
    )
    versions_before = aws.secrets.describe_secret(SecretId=SECRET_PREFIX + created["_id"])[
        "VersionIdsToStages"
    ]
    edited = ok(
        call("smtps_save", {"idsmtp": created["_id"], "port": 465, "starttls": "false", "sslTls": "true"})
    )
    assert edited["modified"] >= created["modified"]
    assert edited["created"] == created["created"]
    expected = {**created, "port": 465, "starttls": False, "sslTls": True, "modified": edited["modified"]}
    assert edited == expected
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == expected
    # the password was not sent: the secret is untouched
    assert secret(aws, created["_id"]) == PASSWORD
    after = aws.secrets.describe_secret(SecretId=SECRET_PREFIX + created["_id"])["VersionIdsToStages"]
    assert after == versions_before
    (item,) = items(aws)
    assert item["version"] == {"N": "2"}


def test_edit_with_a_new_password_replaces_the_secrets_value(aws: Any) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    edited = ok(call("smtps_save", {"idsmtp": idsmtp, "password": "  new password  "}))
    assert secret(aws, idsmtp) == "  new password  "  # verbatim
    assert "new password" not in json.dumps(edited)


def test_an_edit_changing_nothing_writes_nothing(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(idapp)
    assert (
        ok(call("smtps_save", {"idsmtp": created["_id"], "host": "SMTP.example.net", "port": "0587"}))
        == created
    )
    (item,) = items(aws)
    assert item["version"] == {"N": "1"}


def test_edit_validation_uses_the_stored_server(aws: Any) -> None:
    idapp = new_app()
    relay = new_smtp(idapp, auth="false", username=None, password=None, sslTls="true", starttls="false")[
        "_id"
    ]
    # starttls on a server that has ssltls: the combination is refused
    assert bad(call("smtps_save", {"idsmtp": relay, "starttls": "true"})) == {
        "ssltls": "cannot be true together with starttls"
    }
    # auth on a server with neither username nor password
    assert bad(call("smtps_save", {"idsmtp": relay, "auth": "true"})) == {
        "username": "is required when auth is true",
        "password": "is required when auth is true",
    }
    # a stored password satisfies auth=true on edit
    with_password = new_smtp(idapp, auth="false")["_id"]
    assert ok(call("smtps_save", {"idsmtp": with_password, "auth": "true"}))["auth"] is True
    # and a password sent now does too, creating the secret
    edited = ok(call("smtps_save", {"idsmtp": relay, "auth": "true", "username": "u", "password": "pw-1"}))
    assert edited["auth"] is True
    assert secret(aws, relay) == "pw-1"


def test_edit_reports_bad_values_and_does_not_write(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(idapp)
    fields = bad(
        call("smtps_save", {"idsmtp": created["_id"], "port": "99999", "host": "a b", "ssltls": "x"})
    )
    assert set(fields) == {"port", "host", "ssltls"}
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == created


def test_edit_can_move_a_server_to_another_of_the_owners_apps_only(aws: Any) -> None:
    first, second = new_app("First"), new_app("Second")
    idsmtp = new_smtp(first)["_id"]
    assert ok(call("smtps_save", {"idsmtp": idsmtp, "idapp": second}))["idapp"] == second
    assert ok(call("smtps_find_by_app", {"idapp": first})) == []
    assert [s["_id"] for s in ok(call("smtps_find_by_app", {"idapp": second}))] == [idsmtp]
    foreign = new_app("Theirs", account=ACCOUNT_B)
    error(call("smtps_save", {"idsmtp": idsmtp, "idapp": foreign}), 406, "APP_NOT_FOUND")
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["idapp"] == second


# --- ordering -----------------------------------------------------------------------------------------


def test_find_by_app_orders_by_priority_then_creation_and_follows_edits(aws: Any) -> None:
    idapp = new_app()
    other = new_app("Other")
    new_smtp(other, priority=0)  # another app's server never shows up
    a = new_smtp(idapp, priority=20, host="a.example.net")["_id"]
    b = new_smtp(idapp, priority=5, host="b.example.net")["_id"]
    c = new_smtp(idapp, priority=10, host="c.example.net")["_id"]
    d = new_smtp(idapp, priority=5, host="d.example.net")["_id"]
    e = new_smtp(idapp, host="e.example.net")["_id"]  # default priority 10, created after c

    def order() -> list[str]:
        return [s["_id"] for s in ok(call("smtps_find_by_app", {"idapp": idapp}))]

    assert order() == [b, d, c, e, a]
    ok(call("smtps_save", {"idsmtp": a, "priority": 1}))
    assert order() == [a, b, d, c, e]
    ok(call("smtps_save", {"idsmtp": b, "priority": 1_000_000}))
    assert order() == [a, d, c, e, b]
    ok(call("smtps_save", {"idsmtp": c, "host": "c2.example.net"}))  # not a priority change: same place
    assert order() == [a, d, c, e, b]


# --- tenancy ------------------------------------------------------------------------------------------


def test_another_accounts_servers_and_apps_are_not_found_and_untouched(aws: Any) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    before = items(aws)
    view = ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))

    def as_b(function: str, params: dict[str, Any]) -> Reply:
        return call(function, params, account=ACCOUNT_B)

    error(as_b("smtps_find_by_id", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    error(as_b("smtps_find_by_app", {"idapp": idapp}), 406, "APP_NOT_FOUND")
    error(
        as_b("smtps_save", {"idsmtp": idsmtp, "host": "evil.example.net", "password": "x"}),
        406,
        "SMTP_NOT_FOUND",
    )
    error(as_b("smtps_save", {**SERVER, "idapp": idapp}), 406, "APP_NOT_FOUND")
    error(as_b("smtps_remove", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    error(as_b("smtps_remove", {"idapp": idsmtp}), 406, "SMTP_NOT_FOUND")
    # B's own app cannot adopt A's server either
    theirs = new_app("Theirs", account=ACCOUNT_B)
    error(as_b("smtps_save", {"idsmtp": idsmtp, "idapp": theirs}), 406, "SMTP_NOT_FOUND")
    assert items(aws) == before
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp})) == view
    assert secret(aws, idsmtp) == PASSWORD
    assert not scheduled_for_deletion(aws, idsmtp)


# --- passwords ----------------------------------------------------------------------------------------


def everything_logged(captured_logs: Any, caplog: Any, json_logs: Any) -> str:
    """Every log line in every form: stdout, stderr, logging records with their extras, Powertools' JSON."""
    records = "".join(repr(vars(record)) for record in caplog.records)
    return captured_logs() + records + json.dumps(json_logs())


def test_passwords_are_never_answered_stored_in_dynamodb_or_logged(
    aws: Any, captured_logs: Any, caplog: Any, json_logs: Any
) -> None:
    second = "Second-pa55word-also-hidden"
    idapp = new_app()
    replies = []
    created = call("smtps_save", {**SERVER, "idapp": idapp})
    idsmtp = created.json["_id"]
    replies += [
        created,
        call("smtps_save", body=json.dumps({**SERVER, "idapp": idapp}), content_type="application/json"),
        call("smtps_save", {"idsmtp": idsmtp, "password": second, "port": 2525}),
        call("smtps_find_by_id", {"idsmtp": idsmtp}),
        call("smtps_find_by_app", {"idapp": idapp}),
        call("smtps_save", {"idsmtp": idsmtp, "password": second, "port": "bad"}),  # a 400 with a password
        call("smtps_save", {**SERVER, "idapp": MISSING_APP}),  # a 406 with a password
        call("smtps_remove", {"idsmtp": idsmtp}),
    ]
    for reply in replies:
        assert PASSWORD not in reply.text
        assert second not in reply.text
        assert "password" not in reply.text.replace('"password":"is required when auth is true"', "")
    for item in items(aws):
        assert "password" not in {name.lower() for name in item}
        assert PASSWORD not in json.dumps(item)
    logs = everything_logged(captured_logs, caplog, json_logs)
    assert "smtp created" in logs  # the capture does see the service's lines
    assert PASSWORD not in logs
    assert second not in logs


def test_a_password_is_one_tagged_secret_under_the_prefix(aws: Any) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    described = aws.secrets.describe_secret(SecretId=SECRET_PREFIX + idsmtp)
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags == {"smtp-hub:smtp": idsmtp, "smtp-hub:app": idapp, "smtp-hub:owner": ACCOUNT_A}
    assert PASSWORD not in described.get("Description", "")
    assert secret(aws, idsmtp) == PASSWORD
    (item,) = items(aws)
    assert item["hasPassword"] == {"BOOL": True}


def test_passwords_are_logged_by_nothing_even_at_debug_level_while_reading_them(
    aws: Any, captured_logs: Any, caplog: Any, json_logs: Any
) -> None:
    """botocore logs whole request and response bodies at DEBUG: reading a secret must not write it out."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    assert services.smtp_service().secrets.get(idsmtp) == PASSWORD
    assert PASSWORD not in everything_logged(captured_logs, caplog, json_logs)


# --- write order across DynamoDB and Secrets Manager ------------------------------------------------


def test_a_failing_secret_create_leaves_no_server(aws: Any, json_logs: Any) -> None:
    """Record first (hasPassword false), then the secret: the secret failing deletes the record again."""
    idapp = new_app()
    repo = services.smtp_service().secrets
    repo._client = Failing(aws.secrets, "create_secret", client_error("InternalServiceError", "CreateSecret"))
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    assert items(aws) == []
    assert secret_names(aws) == set()
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == []
    assert any(line["message"] == "unexpected error" for line in json_logs())


def test_a_failing_secret_update_leaves_the_server_as_it_was(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(idapp)
    repo = services.smtp_service().secrets
    repo._client = Failing(
        aws.secrets, "put_secret_value", client_error("InternalServiceError", "PutSecretValue")
    )
    error(
        call("smtps_save", {"idsmtp": created["_id"], "password": "new-one", "port": 25}),
        500,
        "INTERNAL_ERROR",
    )
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == created
    assert secret(aws, created["_id"]) == PASSWORD


def test_a_refused_transaction_leaves_no_record_and_no_secret(aws: Any) -> None:
    """The app is gone: the transaction's condition refuses the create (406) before any secret exists."""
    idapp = new_app()
    assert call("apps_remove", {"idapp": idapp}).status == 200
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 406, "APP_NOT_FOUND")
    assert items(aws) == []
    assert secret_names(aws) == set()


def test_a_failing_transaction_leaves_no_secret(aws: Any) -> None:
    idapp = new_app()
    service = services.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "transact_write_items", client_error("InternalServerError", "TransactWriteItems")
    )
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    assert items(aws) == []
    assert secret_names(aws) == set()


def create_with_the_last_step_failing(aws: Any) -> str:
    """A create with a password whose last step (hasPassword true) fails: its record and secret stay."""
    idapp = new_app()
    service = services.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "update_item", client_error("InternalServerError", "UpdateItem")
    )
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    service.smtps.client = aws.dynamodb
    (item,) = items(aws)
    return str(item["_id"]["S"])


def test_a_crash_after_the_secret_leaves_a_record_without_password_whose_removal_cleans_the_secret(
    aws: Any, stream: Stream
) -> None:
    """The last step (hasPassword true) fails: the record says it has no password, never the opposite; its
    secret is named after it, and goes when the record does."""
    idsmtp = create_with_the_last_step_failing(aws)
    assert stored(aws, idsmtp)["hasPassword"] == {"BOOL": False}  # type: ignore[index]
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_an_edit_after_a_crash_reuses_the_secret_left_behind(aws: Any) -> None:
    """CreateSecret finds the secret an earlier failure left (named after this server): it stores a new
    version of it instead."""
    idsmtp = create_with_the_last_step_failing(aws)
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "second-try"}))
    assert secret(aws, idsmtp) == "second-try"
    assert stored(aws, idsmtp)["hasPassword"] == {"BOOL": True}  # type: ignore[index]


def test_a_server_removed_during_its_create_leaves_no_secret(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removed between its record and its secret (the stream's cleanup found no secret yet): the create
    answers SMTP_NOT_FOUND and deletes the secret it made itself."""
    idapp = new_app()
    service = services.smtp_service()
    real_create = service.secrets.create

    def removed_first(smtp: Smtp, password: str) -> None:
        assert call("smtps_remove", {"idsmtp": smtp.id}).status == 200
        real_create(smtp, password)

    monkeypatch.setattr(service.secrets, "create", removed_first)
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 406, "SMTP_NOT_FOUND")
    assert items(aws) == []
    (name,) = secret_names(aws)
    assert scheduled_for_deletion(aws, name.removeprefix(SECRET_PREFIX))


def test_a_failing_record_write_that_adds_a_password_leaves_the_secret_to_the_record(
    aws: Any, stream: Stream
) -> None:
    """The secret stays (named after the record, which still says it has none) and goes with the record."""
    idapp = new_app()
    relay = new_smtp(idapp, auth="false", username=None, password=None)
    service = services.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "update_item", client_error("InternalServerError", "UpdateItem")
    )
    error(call("smtps_save", {"idsmtp": relay["_id"], "password": "pw", "port": 25}), 500, "INTERNAL_ERROR")
    service.smtps.client = aws.dynamodb
    assert ok(call("smtps_find_by_id", {"idsmtp": relay["_id"]})) == relay
    assert stored(aws, relay["_id"])["hasPassword"] == {"BOOL": False}  # type: ignore[index]
    assert secret_names(aws) == {SECRET_PREFIX + relay["_id"]}
    assert call("smtps_remove", {"idsmtp": relay["_id"]}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, relay["_id"])


def test_remove_makes_no_secrets_manager_call(aws: Any, stream: Stream) -> None:
    """One conditional DeleteItem; the secret is the stream's business."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    services.smtp_service().secrets._client = NoCalls()
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    assert items(aws) == []
    assert not scheduled_for_deletion(aws, idsmtp)
    services.smtp_service().secrets._client = aws.secrets
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_calls_per_request(aws: Any, aws_calls: list[str]) -> None:
    idapp = new_app()
    aws_calls.clear()
    idsmtp = new_smtp(idapp)["_id"]
    assert aws_calls == ["TransactWriteItems", "CreateSecret", "UpdateItem"]
    aws_calls.clear()
    relay = new_smtp(idapp, auth="false", username=None, password=None)["_id"]
    assert aws_calls == ["TransactWriteItems"]  # the app's check is a step of the transaction
    aws_calls.clear()
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "new"}))
    assert aws_calls == ["GetItem", "PutSecretValue", "UpdateItem"]
    aws_calls.clear()
    ok(call("smtps_save", {"idsmtp": relay, "password": "first"}))
    assert aws_calls == ["GetItem", "CreateSecret", "UpdateItem"]
    aws_calls.clear()
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    assert aws_calls == ["DeleteItem"]


# --- concurrent edits ---------------------------------------------------------------------------------


def stale_reads(monkeypatch: pytest.MonkeyPatch, stale: Smtp) -> None:
    """The service's next read returns `stale`, as if another edit landed between its read and its write."""
    repository = services.smtp_service().smtps
    real_get = repository.get
    monkeypatch.setattr(
        repository, "get", lambda smtp_id: replace(stale) if smtp_id == stale.id else real_get(smtp_id)
    )


def test_the_second_of_two_concurrent_edits_gets_conflict(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    read_by_both = services.smtp_service().smtps.get(idsmtp)
    assert read_by_both is not None
    winner = ok(call("smtps_save", {"idsmtp": idsmtp, "port": 2525}))
    stale_reads(monkeypatch, read_by_both)
    body = error(call("smtps_save", {"idsmtp": idsmtp, "priority": 1}), 406, "CONFLICT")
    assert body["message"]
    monkeypatch.undo()
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp})) == winner  # the winner's edit stands whole


def test_a_refused_edit_restores_the_previous_password(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    read_by_both = services.smtp_service().smtps.get(idsmtp)
    assert read_by_both is not None
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "winner-password"}))
    stale_reads(monkeypatch, read_by_both)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "loser-password"}), 406, "CONFLICT")
    assert secret(aws, idsmtp) == "winner-password"


def test_a_refused_edit_adding_a_password_leaves_its_secret_to_the_record(
    aws: Any, monkeypatch: pytest.MonkeyPatch, stream: Stream
) -> None:
    """The record still says it has no password; the secret is named after it and goes when it goes (deleting
    it now could race a concurrent edit that is about to say it has one)."""
    idapp = new_app()
    idsmtp = new_smtp(idapp, auth="false", username=None, password=None)["_id"]
    read_by_both = services.smtp_service().smtps.get(idsmtp)
    assert read_by_both is not None
    ok(call("smtps_save", {"idsmtp": idsmtp, "port": 2525}))
    stale_reads(monkeypatch, read_by_both)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "late"}), 406, "CONFLICT")
    monkeypatch.undo()
    (item,) = items(aws)
    assert item["hasPassword"] == {"BOOL": False}
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_a_loser_that_wrote_its_password_after_the_winner_does_not_undo_the_winners(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both send a password: loser's secret version first, winner's second, then the loser's write is refused.

    Undoing the loser must not make its own version current again over the winner's.
    """
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    service = services.smtp_service()
    read_by_both = service.smtps.get(idsmtp)
    assert read_by_both is not None
    real_update = service.smtps.update

    def winner_lands_first(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(service.smtps, "update", real_update)
        monkeypatch.setattr(service.smtps, "get", lambda smtp_id: replace(read_by_both))
        # the winner's whole edit runs between the loser's secret write and its record write
        ok(call("smtps_save", {"idsmtp": idsmtp, "password": "winner-password", "port": 2525}))
        real_update(*args, **kwargs)

    monkeypatch.setattr(service.smtps, "update", winner_lands_first)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "loser-password"}), 406, "CONFLICT")
    assert secret(aws, idsmtp) == "winner-password"
