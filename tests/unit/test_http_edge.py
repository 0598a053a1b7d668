"""smtphub.http: the contract's *Requests* rules on real API Gateway events, and the one error body.

Parsing is tested on `raw_params` (what every handler sees) and, where it matters, end to end through a
real handler; the wrapper's own behaviour (401, 500, headers, request ids) through the handlers.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest

from local_runtime.events import build_event
from local_runtime.loader import load_handler
from smtphub import wiring
from smtphub.errors import InvalidInput
from smtphub.http.body import MAX_BODY_BYTES
from smtphub.http.edge import read_params
from smtphub.http.errors import PayloadTooLarge, UnsupportedMediaType
from tests.support.lambdas import LambdaContext, call, code_uri, load_event

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SAVE = "/private/smtps/save"
PRIVATE_FUNCTIONS = [
    "apps_save",
    "apps_find_all",
    "apps_find_by_id",
    "apps_remove",
    "smtps_save",
    "smtps_find_by_app",
    "smtps_find_by_id",
    "smtps_remove",
]


def post(body: str | bytes | None, content_type: str | None = FORM, **kwargs: Any) -> dict[str, Any]:
    headers = [("Content-Type", content_type)] if content_type else []
    encoded = body.encode() if isinstance(body, str) else body
    return build_event("POST", SAVE, headers=headers, body=encoded, **kwargs)


class _Every:
    def __contains__(self, name: object) -> bool:
        return True


def raw_params(event: dict[str, Any], known: Any = None) -> dict[str, str]:
    """What the edge reads before any model: every parameter name unless `known` is given; its problems
    (a repeated or nested parameter) raise at once, as the edge would with the model's own."""
    params, problems = read_params(event, _Every() if known is None else known)
    if problems:
        raise InvalidInput(problems)
    return params


def bad_fields(event: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as error:
        raw_params(event)
    return error.value.fields


# --- where parameters come from ---------------------------------------------------------------------


def test_form_body() -> None:
    event = post("host=smtp.example.net&port=587&defaultfromname=Info+Desk&username=a%40b.net")
    assert raw_params(event) == {
        "host": "smtp.example.net",
        "port": "587",
        "defaultfromname": "Info Desk",
        "username": "a@b.net",
    }


def test_json_body_with_native_types() -> None:
    body = json.dumps({"host": "h.example.net", "port": 587, "auth": True, "debug": False, "username": None})
    assert raw_params(post(body, JSON)) == {
        "host": "h.example.net",
        "port": "587",
        "auth": "true",
        "debug": "false",
    }


@pytest.mark.parametrize(
    "content_type",
    [FORM, f"{FORM}; charset=UTF-8", FORM.upper(), f" {FORM} ;charset=utf-8"],
)
def test_form_media_type_with_parameters_and_any_case(content_type: str) -> None:
    assert raw_params(post("port=25", content_type)) == {"port": "25"}


def test_get_reads_the_query_and_never_a_body() -> None:
    event = build_event(
        "GET", "/private/smtps/findById", query=[("idsmtp", "abc")], headers=[("Content-Type", FORM)]
    )
    event["body"] = "idsmtp=other"
    assert raw_params(event) == {"idsmtp": "abc"}


def test_post_reads_the_query_too_and_the_body_wins() -> None:
    event = post("port=465", query=[("PORT", "25"), ("host", "smtp.example.net")])
    assert raw_params(event) == {"port": "465", "host": "smtp.example.net"}
    json_event = post(json.dumps({"Port": 2525}), JSON, query=[("port", "25")])
    assert raw_params(json_event) == {"port": "2525"}


def test_names_are_case_insensitive_and_aliases_fold_in() -> None:
    event = post("IDAPP=1&Host=h&sslTls=true&DefaulFromEmail=a%40b.net", query=[("SSL_TLS", "true")])
    assert raw_params(event) == {"idapp": "1", "host": "h", "ssltls": "true", "defaultfromemail": "a@b.net"}


def test_an_empty_value_is_absent_and_does_not_hide_the_query() -> None:
    event = post("port=&host=", query=[("port", "25"), ("priority", "")])
    assert raw_params(event) == {"port": "25"}
    assert raw_params(post(json.dumps({"port": "", "host": None}), JSON, query=[("port", "25")])) == {
        "port": "25"
    }


def test_one_name_twice_must_agree() -> None:
    assert raw_params(post("port=25&PORT=25")) == {"port": "25"}
    assert bad_fields(post("port=25&port=587")) == {"port": "is given more than once with different values"}
    assert "ssltls" in bad_fields(post("sslTls=true&ssl_tls=false"))
    assert "port" in bad_fields(build_event("GET", SAVE, query=[("port", "1"), ("Port", "2")]))


def test_unknown_parameters_pass_through_for_the_spec_to_ignore() -> None:
    assert raw_params(post("utm_source=mail&port=25")) == {"utm_source": "mail", "port": "25"}


# --- bodies -----------------------------------------------------------------------------------------


def test_base64_bodies_are_decoded() -> None:
    event = post(None)
    event["body"] = base64.b64encode(b"host=smtp.example.net&port=587").decode()
    event["isBase64Encoded"] = True
    assert raw_params(event) == {"host": "smtp.example.net", "port": "587"}


def test_invalid_base64_and_invalid_utf8_are_400() -> None:
    event = post(None)
    event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True
    assert bad_fields(event) == {"body": "is not valid base64"}
    # build_event sends a non-UTF-8 body base64-encoded, as API Gateway does
    assert bad_fields(post(b"host=\xff\xfe")) == {"body": "must be UTF-8"}


@pytest.mark.parametrize("document", ["[1, 2]", '"text"', "42", "null", "true", "{not json", ""])
def test_a_json_body_must_be_an_object(document: str) -> None:
    event = post(document, JSON)
    if not document:
        assert raw_params(event) == {}  # no body at all
        return
    assert bad_fields(event) == {"body": "must be a JSON object"}


def test_a_nested_json_value_is_a_400_naming_the_field() -> None:
    body = json.dumps({"Port": [25], "sslTls": {"on": True}, "host": "h"})
    assert bad_fields(post(body, JSON)) == {
        "port": "must be a single value",
        "ssltls": "must be a single value",
    }


def test_64_kib_is_accepted_and_one_byte_more_is_413() -> None:
    filler = "x=" + "a" * (MAX_BODY_BYTES - len("x=&port=25")) + "&port=25"
    assert len(filler) == MAX_BODY_BYTES
    assert raw_params(post(filler))["port"] == "25"
    with pytest.raises(PayloadTooLarge):
        raw_params(post(filler + "5"))


def test_the_limit_counts_bytes_not_characters_and_decoded_base64() -> None:
    with pytest.raises(PayloadTooLarge):
        raw_params(post("x=" + "é" * (MAX_BODY_BYTES // 2)))  # 2 bytes each
    event = post(None)
    event["body"] = base64.b64encode(b"x=" + b"a" * MAX_BODY_BYTES).decode()
    event["isBase64Encoded"] = True
    with pytest.raises(PayloadTooLarge):
        raw_params(event)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/mixed; boundary=x", "application/xml", None]
)
def test_other_media_types_with_a_body_are_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post("port=25", content_type))


def test_any_media_type_without_a_body_is_fine() -> None:
    assert raw_params(post(None, "text/plain", query=[("port", "25")])) == {"port": "25"}


def test_too_many_form_fields_is_a_400_not_a_500() -> None:
    body = "&".join(f"f{i}=1" for i in range(1500))
    assert len(body) < MAX_BODY_BYTES
    assert bad_fields(post(body)) == {"body": "has too many parameters"}


# --- through the handlers: the wrapper ----------------------------------------------------------------


def error_shape(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"] == JSON
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    body: dict[str, Any] = reply.json
    assert body["status"] == status
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # the event's
    return body


@pytest.mark.parametrize("function", PRIVATE_FUNCTIONS)
def test_every_private_function_answers_401_without_the_authorizers_account(aws: Any, function: str) -> None:
    body = error_shape(call(function, account=None), 401, "UNAUTHORIZED")
    assert set(body) == {"status", "error", "message", "requestId"}
    # an authorizer context without the account id is no better
    event = load_event(function)
    event["requestContext"]["authorizer"] = {
        "principalId": "x",
        "accountId": "",
        "username": "demo@example.com",
    }
    response = load_handler(code_uri(function))(event, LambdaContext())
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"] == "UNAUTHORIZED"


def test_415_and_413_through_a_handler(aws: Any) -> None:
    error_shape(call("smtps_save", body="port=25", content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
    error_shape(call("apps_save", body="name=" + "a" * MAX_BODY_BYTES), 413, "PAYLOAD_TOO_LARGE")


def test_unknown_parameters_are_ignored_even_repeated_or_nested(aws: Any) -> None:
    """Only the endpoint's own parameters are judged: a tracking parameter given twice, or an unknown
    JSON member holding an object, changes nothing."""
    app = call("apps_save", body="name=Shop&utm=a&utm=b")
    assert app.status == 200, app.text
    body = json.dumps({"name": "Other", "meta": {"source": "import"}, "tags": ["x"]})
    assert call("apps_save", body=body, content_type=JSON).status == 200


def test_a_repeated_parameter_is_named_beside_every_other_bad_one(aws: Any) -> None:
    reply = call("smtps_save", body="port=25&port=587&host=http://x&priority=-1", content_type=FORM)
    assert error_shape(reply, 400, "BAD_REQUEST")["fields"] == {
        "host": "must be a host name or IP address (no scheme, port or path)",
        "idapp": "is required",
        "port": "is given more than once with different values",
        "priority": "must be an integer from 0 to 1000000",
    }


def test_a_400_through_a_handler_has_fields(aws: Any) -> None:
    body = error_shape(call("smtps_find_by_id", {"idsmtp": "nope"}), 400, "BAD_REQUEST")
    assert body["fields"] == {"idsmtp": "must be a 24-character hexadecimal id"}
    assert body["message"] == "Missing or invalid parameters"
    assert "nope" not in json.dumps(body)


def test_an_unexpected_error_is_a_bare_500_logged_with_its_stack_trace(
    aws: Any, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    def explode(*_: Any) -> None:
        raise RuntimeError("internal detail: table smtp-hub-prod-SmtpsTable is on fire")

    monkeypatch.setattr(wiring.smtp_service(), "find", explode)
    reply = call("smtps_find_by_id", {"idsmtp": "6741f0b7d1e2f3a4b5c6d7e8"})
    body = error_shape(reply, 500, "INTERNAL_ERROR")
    assert body == {
        "status": 500,
        "error": "INTERNAL_ERROR",
        "message": "Internal server error",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    }
    assert "fire" not in reply.text
    (logged,) = [line for line in json_logs() if line["message"] == "unexpected error"]
    assert logged["level"] == "ERROR"
    assert logged["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # find the logs by requestId
    assert "Traceback" in logged["exception"]
    assert "RuntimeError: internal detail" in logged["exception"]
    assert "explode" in logged["exception"]
    (request,) = [line for line in json_logs() if line["message"] == "request"]
    assert request["status"] == 500


def test_every_request_is_logged_once_without_its_values(aws: Any, json_logs: Any) -> None:
    call("smtps_find_by_id", {"idsmtp": "not-an-id", "host": "secret-host.example.net"})
    (line,) = [line for line in json_logs() if line["message"] == "request"]
    assert line["route"] == "GET /private/smtps/findById"
    assert line["status"] == 400
    assert line["error"] == "BAD_REQUEST"
    assert line["fields"] == ["idsmtp"]
    assert isinstance(line["ms"], float | int)
    assert "not-an-id" not in json.dumps(json_logs())


def test_the_request_id_falls_back_to_lambdas(aws: Any) -> None:
    event = load_event("smtps_find_by_id")
    del event["requestContext"]["requestId"]
    reply = call("smtps_find_by_id", {"idsmtp": "x"}, event=event)
    assert reply.json["requestId"] == LambdaContext.aws_request_id


def test_a_success_has_the_json_headers(aws: Any) -> None:
    reply = call("apps_find_all", {})
    assert reply.status == 200
    assert reply.headers == {
        "Content-Type": JSON,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def test_the_handlers_read_json_form_and_query_alike(aws: Any) -> None:
    as_json = call(
        "apps_save", body=json.dumps({"NAME": "One", "testEmail": "a@example.net"}), content_type=JSON
    )
    assert as_json.status == 200, as_json.text
    event = load_event("apps_save")
    event["queryStringParameters"] = {"name": "from-query", "TestEmail": "q@example.net"}
    event["multiValueQueryStringParameters"] = {"name": ["from-query"], "TestEmail": ["q@example.net"]}
    both = call("apps_save", event=event, body=urlencode({"Name": "Two"}))
    assert both.status == 200, both.text
    assert (both.json["name"], both.json["testemail"]) == ("Two", "q@example.net")


# --- what a function builds at init ------------------------------------------------------------------

BUILT_AT_INIT = """
import json, sys
from local_runtime.loader import load_handler
from smtphub.http.requests import smtps
handler = load_handler(sys.argv[1])
print(json.dumps({
    "own": handler.request_model.__pydantic_complete__,
    "smtp_save": smtps.SmtpSave.__pydantic_complete__,
}))
"""


@pytest.mark.parametrize(
    ("function", "save_built"), [("smtps_save", True), ("smtps_check", False), ("smtps_find_by_id", False)]
)
def test_a_function_builds_its_own_model_at_import_not_the_others(function: str, save_built: bool) -> None:
    """The route's model is built in the init phase, not on the first request; smtps/save's large model
    (declared with defer_build) is built by smtps/save alone. A fresh interpreter: no earlier test built
    a model."""
    import subprocess
    import sys

    from local_runtime.events import ROOT

    done = subprocess.run(
        [sys.executable, "-c", BUILT_AT_INIT, code_uri(function)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/common")])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"own": True, "smtp_save": save_built}
