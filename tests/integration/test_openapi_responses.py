"""What the handlers really answer validates against openapi.yaml.

Every operation is called through its real handler (events/<function>.json) with moto behind it, Cognito
for the login, and a real SMTP server on 127.0.0.1 for the check. Each answer must be documented for its
operation: the status, the body against the response's schema (closed objects: a password or an
undocumented member fails), the content type, and the documented headers' values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from smtphub.http.responses.smtps import smtp_json
from smtphub.smtps.models import Smtp
from tests.support import auth as auth_support
from tests.support.endpoints import Endpoint, endpoints
from tests.support.lambdas import ACCOUNT_B, Reply, call
from tests.support.openapi import JSON, deref, operations, response_schema_pointer, validator
from tests.support.smtp_peers import PASSWORD, USERNAME, running_smtpd

CHECKS_PER_MINUTE = 3


def endpoint_of(function: str) -> Endpoint:
    (found,) = (endpoint for endpoint in endpoints() if endpoint.function == function)
    return found


def described(function: str, reply: Reply, expected: int | None = None) -> Reply:
    """Fail unless the description documents this reply of `function`: status, body, headers (and unless
    its status is `expected`, when given)."""
    if expected is not None:
        assert reply.status == expected, f"{function}: {reply.status} {reply.text}"
    endpoint = endpoint_of(function)
    responses = operations()[(endpoint.method, endpoint.path)]["responses"]
    status = str(reply.status)
    assert status in responses, f"{function} answered an undocumented {reply.status}: {reply.text}"
    response = deref(responses[status])
    for name, spec in response.get("headers", {}).items():
        header = deref(spec)
        value = reply.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{function} {status}: no {name} header"
            continue
        schema = deref(header["schema"])
        if "const" in schema:
            assert value == schema["const"], f"{function} {status}: header {name}"
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{function} {status}: header {name} {value!r}"
    if JSON not in response["content"]:  # the empty 200
        (media,) = response["content"]
        assert reply.text == "", f"{function} {status} must have an empty body"
        # An explicit type that is not JSON: API Gateway would otherwise say application/json.
        assert reply.headers["Content-Type"].split(";")[0] == media
        return reply
    assert reply.headers.get("Content-Type", "").startswith(JSON)
    pointer = response_schema_pointer(endpoint.method, endpoint.path, status)
    problems = sorted(e.message for e in validator(pointer).iter_errors(reply.json))
    assert not problems, f"{function} {status} {reply.text}: {problems}"
    return reply


@pytest.fixture
def world(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[auth_support.Cognito]:
    """moto's tables and Cognito pool, checks allowed to loopback servers, a few checks a minute."""
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "2")
    monkeypatch.setenv("CHECKS_PER_MINUTE", str(CHECKS_PER_MINUTE))
    cognito = auth_support.create_cognito()
    with auth_support.use_pool(monkeypatch, cognito):
        yield cognito


def answer(function: str, expected: int, params: dict[str, Any] | None = None, **options: Any) -> Any:
    """Call `function`'s handler; its reply must have the status `expected` and be described. Its JSON."""
    reply = described(function, call(function, params, **options), expected)
    return reply.json if reply.text else None


def error_of(function: str, expected: int, params: dict[str, Any] | None = None, **options: Any) -> str:
    return str(answer(function, expected, params, **options)["error"])


def test_the_auth_operations_answer_as_described(world: auth_support.Cognito) -> None:
    world.add_user("alice@example.com", auth_support.PASSWORD)
    login = {"username": "alice@example.com", "password": auth_support.PASSWORD}
    assert answer("auth_login", 200, login, account=None)["token"].count(".") == 2
    answer("auth_login", 200, body=json.dumps(login), content_type=JSON, account=None)
    assert error_of("auth_login", 403, {**login, "password": "wrong"}, account=None) == "FORBIDDEN"
    assert answer("auth_login", 400, {"username": login["username"]}, account=None)["fields"] == {
        "password": "is required"
    }
    answer("auth_login", 415, body="<x/>", content_type="application/xml", account=None)
    answer("auth_login", 413, body="username=" + "x" * 70_000, account=None)
    world.add_user("bob@example.com", auth_support.PASSWORD, permanent=False)
    temporary = {"username": "bob@example.com", "password": auth_support.PASSWORD}
    assert answer("auth_login", 403, temporary, account=None)["challenge"] == "NEW_PASSWORD_REQUIRED"

    assert answer("auth_logout", 200, {}) is None
    assert answer("auth_logout", 400, body="[1]", content_type=JSON)["fields"] == {
        "body": "must be a JSON object"
    }
    assert error_of("auth_logout", 401, {}, account=None) == "UNAUTHORIZED"
    answer("auth_logout", 415, body="<x/>", content_type="application/xml")


def test_the_app_operations_answer_as_described(world: auth_support.Cognito) -> None:
    app = answer("apps_save", 200, {"name": "Shop", "testemail": "ops@example.net"})
    assert error_of("apps_save", 406, {"name": "shop"}) == "APP_NAME_TAKEN"
    assert set(answer("apps_save", 400, {"testemail": "nope"})["fields"]) == {"name", "testemail"}
    assert answer("apps_save", 200, {"idapp": app["_id"], "strategy": "priority"})["strategy"] == "PRIORITY"
    answer("apps_save", 415, body="<x/>", content_type="application/xml")
    answer("apps_save", 413, body="name=" + "x" * 70_000)
    assert error_of("apps_save", 401, {"name": "Shop"}, account=None) == "UNAUTHORIZED"
    assert answer("apps_find_all", 200, {"page": 0, "size": 1})["totalElements"] == 1
    answer("apps_find_all", 400, {"size": 0})
    assert answer("apps_find_all", 200, {"page": 5})["content"] == []  # past the end: an empty page
    answer("apps_find_by_id", 200, {"idapp": app["_id"]})
    assert error_of("apps_find_by_id", 406, {"idapp": app["_id"]}, account=ACCOUNT_B) == "APP_NOT_FOUND"
    answer("apps_find_by_id", 400, {"idapp": "not-an-id"})
    answer("apps_remove", 400, {})
    answer("apps_remove", 200, {"idapp": app["_id"]})
    assert error_of("apps_remove", 406, {"idapp": app["_id"]}) == "APP_NOT_FOUND"  # gone
    assert error_of("apps_save", 406, {"idapp": app["_id"], "name": "Gone"}) == "APP_NOT_FOUND"


def test_the_smtp_operations_answer_as_described(world: auth_support.Cognito) -> None:
    app = answer("apps_save", 200, {"name": "Shop", "testemail": "ops@example.net"})
    server = {"idapp": app["_id"], "host": "smtp.example.net", "port": 587, "auth": True}
    created = answer("smtps_save", 200, {**server, "username": "u@example.net", "password": "pw-1234-secret"})
    assert (created["lastcheck"], created["insecureauth"]) == (None, False)
    edit = {"idsmtp": created["_id"]}
    answer("smtps_save", 200, {**edit, "priority": 3, "debug": "yes", "insecureauth": "no"})
    assert answer("smtps_save", 400, {**edit, "host": "smtp2.example.net"})["fields"] == {
        "password": "must be given again when the server's address, user or encryption changes"
    }
    answer("smtps_save", 200, {**edit, "host": "smtp2.example.net", "password": "pw-2"})
    assert set(answer("smtps_save", 400, {**server, "port": 0, "starttls": "maybe"})["fields"]) == {
        "port",
        "starttls",
        "username",
        "password",
    }
    assert error_of("smtps_save", 406, {**server, "idapp": "a" * 24, "auth": False}) == "APP_NOT_FOUND"
    assert error_of("smtps_save", 406, {"idsmtp": "b" * 24}) == "SMTP_NOT_FOUND"
    assert answer("smtps_save", 400, {"defaultfromname": "Bell\u2028Line", **edit})["fields"] == {
        "defaultfromname": "must not contain control, format or line separator characters"
    }
    body = json.dumps({**server, "auth": False, "sslTls": True})
    assert answer("smtps_save", 200, body=body, content_type=JSON)["sslTls"] is True
    assert answer("smtps_save", 400, body='{"host": ["a"]}', content_type=JSON)["fields"]["host"]
    assert len(answer("smtps_find_by_app", 200, {"idapp": app["_id"]})) == 2
    assert error_of("smtps_find_by_app", 406, {"idapp": "c" * 24}) == "APP_NOT_FOUND"
    answer("smtps_find_by_app", 400, {})
    answer("smtps_find_by_id", 200, {"idsmtp": created["_id"]})
    assert error_of("smtps_find_by_id", 406, edit, account=ACCOUNT_B) == "SMTP_NOT_FOUND"
    answer("smtps_find_by_id", 400, {})
    assert answer("smtps_remove", 200, edit) is None
    assert error_of("smtps_remove", 406, {"idapp": created["_id"]}) == "SMTP_NOT_FOUND"  # gone
    answer("smtps_remove", 400, {})


def test_the_check_answers_as_described(world: auth_support.Cognito) -> None:
    app = answer(
        "apps_save",
        200,
        {"name": "Shop", "testemail": "ops@example.net", "defaultfromemail": "a@example.net"},
    )
    # An account without an e-mail address in its token: its app has no testemail to fall back on.
    silent = answer("apps_save", 200, {"name": "Silent"}, username="bare-account")
    with running_smtpd() as peer:
        base = {
            "host": "127.0.0.1",
            "port": peer.port,
            "auth": True,
            "username": USERNAME,
            "insecureauth": True,
        }
        good = answer("smtps_save", 200, {"idapp": app["_id"], **base, "password": PASSWORD})["_id"]
        bad = answer("smtps_save", 200, {"idapp": app["_id"], **base, "password": "wrong"})["_id"]
        nowhere = answer("smtps_save", 200, {"idapp": silent["_id"], **base, "password": PASSWORD})["_id"]
        assert answer("smtps_check", 200, {"idsmtp": good}) is None
        failed = answer("smtps_check", 406, {"idapp": bad})  # upstream's name for the SMTP id
        assert (failed["error"], failed["stage"], failed["code"]) == ("SMTP_CHECK_FAILED", "AUTH", 535)
        assert set(answer("smtps_check", 400, {"idsmtp": nowhere})["fields"]) == {
            "testemail",
            "defaultfromemail",
        }
        throttled = described("smtps_check", call("smtps_check", {"idsmtp": good}), 429)
        assert throttled.json["error"] == "TOO_MANY_REQUESTS"
        assert int(throttled.headers["Retry-After"]) >= 1
    assert error_of("smtps_check", 406, {"idsmtp": "d" * 24}, account=ACCOUNT_B) == "SMTP_NOT_FOUND"
    answer("smtps_check", 400, {})
    answer("smtps_check", 415, body="<x/>", content_type="text/xml")
    stored = answer("smtps_find_by_id", 200, {"idsmtp": bad})
    assert (stored["status"], stored["numerrors"], stored["lastcheck"]["ok"]) == ("D", 1, False)
    assert stored["lastcheck"]["stage"] == "AUTH"


def test_the_blacklist_operations_answer_as_described(world: auth_support.Cognito) -> None:
    app = answer("apps_save", 200, {"name": "Shop", "testemail": "ops@example.net"})
    entry = {"idapp": app["_id"], "email": "gone@example.org"}
    assert answer("blacklist_add", 200, entry)["addedby"] == "ACCOUNT"
    answer("blacklist_add", 400, {"idapp": app["_id"], "email": "nobody"})
    assert error_of("blacklist_add", 406, entry, account=ACCOUNT_B) == "APP_NOT_FOUND"
    assert answer("blacklist_is_black_listed", 200, entry) is True
    answer("blacklist_is_black_listed", 400, {"idapp": app["_id"]})
    assert answer("blacklist_find_by_app", 200, {"idapp": app["_id"]})["totalElements"] == 1
    answer("blacklist_find_by_app", 400, {"idapp": app["_id"], "size": "500"})
    assert error_of("blacklist_find_by_app", 406, {"idapp": app["_id"]}, account=ACCOUNT_B) == "APP_NOT_FOUND"
    assert answer("blacklist_remove", 200, entry) is None
    assert error_of("blacklist_remove", 406, entry) == "EMAIL_NOT_FOUND"
    answer("blacklist_remove", 400, {"idapp": app["_id"]})


def test_tracking_find_by_email_answers_as_described(world: auth_support.Cognito) -> None:
    assert error_of("tracking_find_by_email", 406, {"idemail": "e" * 24}) == "EMAIL_NOT_FOUND"
    answer("tracking_find_by_email", 400, {"idemail": "42"})


def test_the_history_answers_as_described(world: auth_support.Cognito) -> None:
    app = answer("apps_save", 200, {"name": "Shop", "testemail": "ops@example.net"})
    with running_smtpd() as peer:
        params = {
            "idapp": app["_id"],
            "host": "127.0.0.1",
            "port": peer.port,
            "defaultfromemail": "a@example.net",
        }
        idsmtp = answer("smtps_save", 200, params)["_id"]
        assert answer("smtps_history", 200, {"idsmtp": idsmtp}) == []
        assert answer("smtps_check", 200, {"idsmtp": idsmtp, "mode": "probe"}) is None
        assert answer("smtps_check", 200, {**params, "mode": "probe"}) is None  # tried, not stored
        tried = answer("smtps_save", 200, {**params, "verify": True})
        assert tried["lastcheck"] is None
    (entry,) = answer("smtps_history", 200, {"idsmtp": idsmtp, "limit": 5})
    assert (entry["mode"], entry["trigger"], entry["status"]) == ("probe", "manual", "A")
    assert error_of("smtps_history", 406, {"idsmtp": idsmtp}, account=ACCOUNT_B) == "SMTP_NOT_FOUND"
    answer("smtps_history", 400, {"idsmtp": idsmtp, "limit": "0"})


def test_the_email_operations_answer_as_described(
    world: auth_support.Cognito, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import emails

    mail = emails.make_mail(aws, monkeypatch)
    params = emails.basic(mail, tos="ana@example.net,not-an-address", tonames="Ana")
    sent = answer("emails_send", 200, params)
    assert sent["notvalidrecipients"] == ["not-an-address"]
    body, content_type = emails.multipart_body(
        [("idapp", mail.app), ("tos", emails.TO), ("subject", "S"), ("body", "B")],
        [emails.FileField("attachments", "a.pdf", b"%PDF-1.7\x00\xff")],
    )
    reply = call("emails_send", event=emails.multipart_event(body, content_type))
    assert described("emails_send", reply, 200).json["attachments"] == ["a.pdf"]
    assert error_of("emails_send", 406, {**params, "idapp": mail.app}, account=ACCOUNT_B) == "APP_NOT_FOUND"
    assert error_of("emails_send", 406, {**params, "tos": "nope"}) == "INVALID_TO"
    assert set(answer("emails_send", 400, {"idapp": mail.app})["fields"]) == {"tos", "subject", "body"}
    answer("emails_send", 415, body="<x/>", content_type="application/xml")
    answer("emails_send", 413, body="body=" + "x" * (10 * 1024 * 1024))
    assert error_of("emails_send", 401, params, account=None) == "UNAUTHORIZED"

    email = {"idemail": sent["id"]}
    assert answer("emails_info", 200, email)["log"] == []
    assert error_of("emails_info", 406, email, account=ACCOUNT_B) == "EMAIL_NOT_FOUND"
    answer("emails_info", 400, {"idemail": "x"})
    assert answer("logs_find_by_email", 200, email) == []
    assert error_of("logs_find_by_email", 406, email, account=ACCOUNT_B) == "EMAIL_NOT_FOUND"
    assert error_of("emails_remove", 406, email) == "EMAIL_NOT_REMOVABLE"
    assert answer("emails_cancel", 200, email)["status"] == "C"
    assert error_of("emails_cancel", 406, email) == "EMAIL_NOT_CANCELLABLE"
    assert answer("emails_remove", 200, email) is None
    assert error_of("emails_remove", 406, email) == "EMAIL_NOT_FOUND"
    answer("emails_cancel", 400, {})


def test_every_operation_was_checked_here() -> None:
    """The routes this module drives are every route of the template (a new one needs its calls above)."""
    driven = {
        "auth_login",
        "auth_logout",
        "apps_save",
        "apps_find_all",
        "apps_find_by_id",
        "apps_remove",
        "smtps_save",
        "smtps_find_by_app",
        "smtps_find_by_id",
        "smtps_remove",
        "smtps_check",
        "smtps_history",
        "emails_send",
        "emails_info",
        "emails_cancel",
        "emails_remove",
        "logs_find_by_email",
        "blacklist_add",
        "blacklist_find_by_app",
        "blacklist_is_black_listed",
        "blacklist_remove",
        "tracking_find_by_email",
    }
    assert {endpoint.function for endpoint in endpoints()} == driven


SMTP_JSON = smtp_json(
    Smtp(
        id="6741f0b7d1e2f3a4b5c6d7e8",
        app_id="6741f0a2c3d4e5f6a7b8c9d0",
        account_id=ACCOUNT_B,
        host="smtp.example.net",
        port=587,
        created="2026-11-23T10:00:00.000Z",
        modified="2026-11-23T10:00:00.000Z",
    )
)
HEADERS = {"Content-Type": JSON, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def test_an_undocumented_answer_fails_the_check() -> None:
    """The check above is not vacuous: a password, a new member, a status or a code it does not document,
    or a missing header fail it."""
    described("smtps_find_by_id", Reply(200, HEADERS, json.dumps(SMTP_JSON)))
    with pytest.raises(AssertionError, match="password"):
        described("smtps_find_by_id", Reply(200, HEADERS, json.dumps({**SMTP_JSON, "password": "pw"})))
    with pytest.raises(AssertionError, match="insecureauth"):
        described(
            "smtps_find_by_id",
            Reply(200, HEADERS, json.dumps({k: v for k, v in SMTP_JSON.items() if k != "insecureauth"})),
        )
    with pytest.raises(AssertionError, match="undocumented 409"):
        described("smtps_find_by_id", Reply(409, HEADERS, "{}"))
    wrong_code = {"status": 406, "error": "APP_NOT_FOUND", "message": "m", "requestId": "r"}
    with pytest.raises(AssertionError, match="APP_NOT_FOUND"):
        described("smtps_find_by_id", Reply(406, HEADERS, json.dumps(wrong_code)))
    with pytest.raises(AssertionError, match="Cache-Control"):
        described("smtps_find_by_id", Reply(200, {"Content-Type": JSON}, json.dumps(SMTP_JSON)))
    with pytest.raises(AssertionError, match="empty body"):
        described("smtps_remove", Reply(200, HEADERS, "{}"))
