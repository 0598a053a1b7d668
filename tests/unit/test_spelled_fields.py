"""A 400 names each parameter as the client spelled it (issue 22, item 6).

Names are matched case-insensitively with the contract's aliases folded in (`sslTls`, `SSL_TLS`,
`ssl_tls` are `ssltls`; `defaulfromemail`, the upstream page's typo, is `defaultfromemail`), and the
models work on those canonical names. The 400's `fields` give back the client's own spelling: the one of
the occurrence whose value was judged (the body's over the query's, the last of a repeat). A parameter the
client did not send (a required one, `body`) keeps the canonical name. The log line keeps canonical names,
so that an operator counts one parameter's problems under one name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.lambdas import Reply, call, load_event

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
IDAPP = "6741f0a2c3d4e5f6a7b8c9d0"
BAD_BOOLEAN = "maybe"


def fields(reply: Reply) -> dict[str, str]:
    assert reply.status == 400, reply.text
    found: dict[str, str] = reply.json["fields"]
    return found


def multipart(*pairs: tuple[str, str], filename: str | None = None) -> str:
    parts = []
    for name, value in pairs:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n")
    return "".join(parts) + f"--{BOUNDARY}--\r\n"


def get(function: str, pairs: list[tuple[str, str]]) -> Reply:
    """A GET with exactly these query parameters, repeats kept (as API Gateway's multi-value map)."""
    event = load_event(function)
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    event["multiValueQueryStringParameters"] = multi
    event["queryStringParameters"] = {name: values[-1] for name, values in multi.items()}
    return call(function, event=event)


# --- each way of sending a parameter --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["sslTls", "SSL_TLS", "ssl_tls", "ssltls", "SslTls"])
def test_a_form_parameter_is_named_as_sent(aws: Any, spelling: str) -> None:
    reply = call("smtps_save", body=f"idapp={IDAPP}&host=h.example.net&port=25&{spelling}={BAD_BOOLEAN}")
    assert list(fields(reply)) == [spelling]


def test_the_upstream_typo_is_named_as_sent(aws: Any) -> None:
    reply = call("apps_save", body="name=Shop&defaulfromemail=not-an-address")
    assert list(fields(reply)) == ["defaulfromemail"]
    reply = call("apps_save", body="name=Shop&DefaultFromEmail=not-an-address")
    assert list(fields(reply)) == ["DefaultFromEmail"]


def test_a_json_member_is_named_as_sent(aws: Any) -> None:
    body = json.dumps({"idApp": IDAPP, "Host": "h.example.net", "port": 25, "sslTls": BAD_BOOLEAN})
    assert list(fields(call("smtps_save", body=body, content_type=JSON))) == ["sslTls"]


def test_a_multipart_field_is_named_as_sent(aws: Any) -> None:
    body = multipart(("idapp", IDAPP), ("host", "h.example.net"), ("port", "25"), ("SSL_TLS", BAD_BOOLEAN))
    assert list(fields(call("smtps_save", body=body, content_type=MULTIPART))) == ["SSL_TLS"]


def test_a_query_parameter_is_named_as_sent(aws: Any) -> None:
    assert list(fields(get("apps_find_all", [("Size", "1000")]))) == ["Size"]
    assert list(fields(get("smtps_find_by_id", [("IdSmtp", "nope")]))) == ["IdSmtp"]


def test_the_body_spelling_wins_as_the_body_value_does(aws: Any) -> None:
    event = load_event("apps_save")
    event["multiValueQueryStringParameters"] = {"TestEmail": ["ops@example.net"]}
    event["queryStringParameters"] = {"TestEmail": "ops@example.net"}
    reply = call("apps_save", body="name=Shop&testEMAIL=nope", content_type=FORM, event=event)
    assert list(fields(reply)) == ["testEMAIL"]


# --- problems found before the model ---------------------------------------------------------------------


def test_a_repeat_in_two_spellings_names_the_last_and_says_they_are_one(aws: Any) -> None:
    reply = call("smtps_save", body=f"idapp={IDAPP}&host=h.example.net&port=25&sslTls=true&ssl_tls=false")
    assert fields(reply) == {
        "ssl_tls": "is given more than once with different values (as sslTls and ssl_tls: one name)"
    }


def test_a_repeat_in_one_spelling_says_only_that(aws: Any) -> None:
    reply = call("smtps_save", body=f"idapp={IDAPP}&host=h.example.net&Port=25&Port=587")
    assert fields(reply) == {"Port": "is given more than once with different values"}


def test_a_nested_json_member_is_named_as_sent(aws: Any) -> None:
    body = json.dumps({"NAME": {"first": "Shop"}, "TestEmail": ["a@example.net"]})
    assert fields(call("apps_save", body=body, content_type=JSON)) == {
        "NAME": "must be a single value",
        "TestEmail": "must be a single value",
    }


def test_an_undecodable_value_is_named_as_sent(aws: Any) -> None:
    reply = call("apps_save", body="Name=Caf%E9", content_type=f"{FORM}; charset=UTF-8")
    assert fields(reply) == {"Name": "is not valid UTF-8 text"}


def test_a_file_part_is_named_as_sent(aws: Any) -> None:
    body = multipart(("Name", "Shop"), filename="name.txt")
    assert fields(call("apps_save", body=body, content_type=MULTIPART)) == {
        "Name": "must be a form field, not a file"
    }


# --- problems found by the model and the service ----------------------------------------------------------


def test_rules_across_parameters_name_each_as_sent(aws: Any) -> None:
    created = call("apps_save", body="name=Shop&testemail=ops@example.net")
    assert created.status == 200, created.text
    body = f"idapp={created.json['_id']}&host=h.example.net&port=587&STARTTLS=true&SSL_TLS=true"
    server = call("smtps_save", body=body.replace("&STARTTLS=true&SSL_TLS=true", ""))
    assert server.status == 200, server.text
    edit = call("smtps_save", body=f"idsmtp={server.json['_id']}&StartTls=true&sslTls=true")
    assert list(fields(edit)) == ["sslTls"]


def test_a_parameter_not_sent_keeps_its_canonical_name(aws: Any) -> None:
    reply = call("smtps_save", body="Host=h.example.net&PORT=0")
    assert fields(reply) == {"PORT": "must be an integer from 1 to 65535", "idapp": "is required"}


def test_the_log_line_keeps_canonical_names(aws: Any, json_logs: Any) -> None:
    call("smtps_save", body=f"idapp={IDAPP}&host=h.example.net&port=25&SSL_TLS={BAD_BOOLEAN}")
    (line,) = [line for line in json_logs() if line["message"] == "request"]
    assert line["fields"] == ["ssltls"]
