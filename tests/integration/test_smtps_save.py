"""smtps/save through its real handler, on moto: how a request is read, what it must hold, and edits.

Request parsing end to end (JSON bodies, the query string on POST, spellings and aliases, booleans, base64,
unknown and empty parameters), validation (every bad parameter named at once, rules across fields, bounds),
and edits (partial, with and without a new password, validated on the server as it will be stored, moves
between the owner's apps).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import (
    PASSWORD,
    PASSWORD_AGAIN,
    SERVER,
    bad,
    error,
    items,
    labels,
    new_app,
    new_smtp,
    ok,
    pinned_password,
    secret,
    secret_names,
    versions_by_password,
)
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, call, load_event

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
        idapp,
        _id="f" * 24,
        iduser=ACCOUNT_B,
        numerrors=9,
        status="D",
        version=99,
        hasPassword="no",
        secretVersion="forged",
    )
    assert created["_id"] != "f" * 24
    assert (created["numerrors"], created["status"]) == (0, "A")
    (item,) = items(aws)
    assert item["iduser"] == {"S": ACCOUNT_A}
    assert item["version"] == {"N": "1"}
    # the record names the version its password was stored in, not what the request said
    assert item["secretVersion"] == {"S": versions_by_password(aws, created["_id"])[PASSWORD]}


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
        "sslTls",  # as sent (issue 22)
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
    assert fields == {"sslTls": "cannot be true together with starttls"}  # named as sent (issue 22)
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
    # given: a server with a password and optional fields set
    idapp = new_app()
    created = new_smtp(
        idapp, defaultfromemail="info@example.net", defaultfromname="Info", priority=7, debug=True
    )
    versions_before = labels(aws, created["_id"])
    # when: a new port without the password (the binding rule: the password must come with it)
    change = {"idsmtp": created["_id"], "port": 465, "starttls": "false", "sslTls": "true"}
    # then: refused, and nothing is written
    assert bad(call("smtps_save", change)) == PASSWORD_AGAIN
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == created
    # when: the same edit without the port (STARTTLS to implicit TLS is no weaker: not bound)
    del change["port"]
    edited = ok(call("smtps_save", change))
    # then: what was given changes, every omitted field stays
    assert edited["modified"] >= created["modified"]
    assert edited["created"] == created["created"]
    expected = {**created, "starttls": False, "sslTls": True, "modified": edited["modified"]}
    assert edited == expected
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == expected
    # the password was not sent: the secret is untouched, and still the one the record names
    assert secret(aws, created["_id"]) == PASSWORD
    assert pinned_password(aws, created["_id"]) == PASSWORD
    assert labels(aws, created["_id"]) == versions_before
    (item,) = items(aws)
    assert item["version"] == {"N": "2"}


def test_edit_with_a_new_password_replaces_the_secrets_value(aws: Any) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    edited = ok(call("smtps_save", {"idsmtp": idsmtp, "password": "  new password  "}))
    assert secret(aws, idsmtp) == "  new password  "  # verbatim
    assert pinned_password(aws, idsmtp) == "  new password  "  # and the version the record names
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
    # a stored password satisfies auth=true on edit: an edit of another field needs no password
    with_password = new_smtp(idapp)["_id"]
    assert ok(call("smtps_save", {"idsmtp": with_password, "defaultfromname": "Ops"}))["auth"] is True
    # turning auth on sends the stored password where it was not sent before: it must come again
    without_auth = new_smtp(idapp, auth="false")["_id"]
    assert bad(call("smtps_save", {"idsmtp": without_auth, "auth": "true"})) == PASSWORD_AGAIN
    edited = ok(call("smtps_save", {"idsmtp": without_auth, "auth": "true", "password": PASSWORD}))
    assert edited["auth"] is True
    assert pinned_password(aws, without_auth) == PASSWORD
    # and a password sent now does too, creating the secret
    edited = ok(call("smtps_save", {"idsmtp": relay, "auth": "true", "username": "u", "password": "pw-1"}))
    assert edited["auth"] is True
    assert secret(aws, relay) == "pw-1"
    assert pinned_password(aws, relay) == "pw-1"


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
