"""`make run` end to end: the runtime as a subprocess, driven over real HTTP on 127.0.0.1.

Each test checks what template.yaml declares: a route, the authorizer, the login and the check are
exercised when the template has them, and shown to be absent (API Gateway's own answer) when it has not.
"""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests

from local_runtime import template
from tests.support.runtime import (
    Running,
    copy_template,
    gateway_status,
    has_authorizer,
    has_route,
)

pytestmark = pytest.mark.e2e
TIMEOUT = 30

# The form QueueMail's Java client posts to save an SMTP server (form-encoded, Bearer token).
JAVA_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
    "User-Agent": "Java-http-client/17.0.15",
    "Accept": "application/json",
}


def java_smtp_form(idapp: str, **overrides: str) -> dict[str, str]:
    form = {
        "idapp": idapp,
        "priority": "20",
        "host": "smtp.example.net",
        "port": "587",
        "username": "mailer@example.net",
        "password": "Java-client-secret-1",
        "auth": "true",
        "starttls": "true",
        "sslTls": "false",
        "debug": "false",
        "defaultfromemail": "info@example.net",
        "defaultfromname": "Info",
    }
    form.update(overrides)
    return form


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_contract_error(reply: requests.Response, status: int, error: str | None = None) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    if "error" in body:  # the contract's shape (the handlers' and the template's gateway responses)
        assert body["status"] == status
        assert body["requestId"] == reply.headers["x-amzn-RequestId"]
        if error is not None:
            assert body["error"] == error
    return body


# --- the banner and the routes ----------------------------------------------------------------------
def test_banner_names_every_route_the_account_the_sink_and_a_session(runtime: Running) -> None:
    routes = template.routes(template.load())
    for route in routes:
        assert f"{route.method} /api{route.path} " in runtime.output
    assert f"({len(routes)} routes from template.yaml)" in runtime.output
    assert "Account    " in runtime.output
    assert f"SMTP sink  127.0.0.1:{runtime.sink_port}" in runtime.output
    assert f"API={runtime.api}" in runtime.output
    assert ("/auth/login" in runtime.output.split("Try it")[1]) == has_route("POST", "/auth/login")
    assert ("smtps/check" in runtime.output.split("Try it")[1]) == has_route("POST", "/private/smtps/check")


def test_every_declared_route_is_answered_by_its_function(
    runtime: Running, session: requests.Session
) -> None:
    for route in template.routes(template.load()):
        reply = session.request(route.method, f"{runtime.api}{route.path}", timeout=TIMEOUT)
        # The function answered (a 400 for the missing parameters), not API Gateway.
        assert "x-amzn-ErrorType" not in reply.headers, (route.path, reply.text)
        # (a public page without its token: its own plain 404 page, the function's, no x-amzn-ErrorType)
        answers = (200, 400, 404) if route.path.startswith("/public/") else (200, 400)
        assert reply.status_code in answers, (route.path, reply.text)
        runtime.wait_for(
            lambda line, r=route: line.startswith(f"[api] {r.method} /api{r.path} -> ") and r.function in line
        )


def test_undeclared_paths_and_methods_get_api_gateways_answer(
    runtime: Running, session: requests.Session
) -> None:
    status = gateway_status("MISSING_AUTHENTICATION_TOKEN", 403)
    for method, path in (
        ("GET", "/private/nothing"),
        ("GET", "/private/smtps/save"),
        ("DELETE", "/private/apps/remove"),
    ):
        reply = session.request(method, f"{runtime.api}{path}", timeout=TIMEOUT)
        assert_contract_error(reply, status)
        assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    outside = session.get(runtime.api.rsplit("/", 1)[0] + "/other/private/apps/findAll", timeout=TIMEOUT)
    assert outside.status_code == 403
    assert outside.json() == {"message": "Forbidden"}


def test_a_body_over_api_gateways_10_mb_is_refused_before_the_function(runtime: Running) -> None:
    reply = requests.post(
        f"{runtime.api}/private/apps/save",
        data=b"x" * (10 * 1024 * 1024 + 1),
        headers={"Content-Type": "application/octet-stream"},
        timeout=TIMEOUT,
    )
    assert_contract_error(reply, gateway_status("REQUEST_TOO_LARGE", 413))
    assert reply.headers["x-amzn-ErrorType"] == "RequestTooLargeException"


def test_a_send_within_lambdas_payload_is_taken_and_one_past_it_is_api_gateways_413(
    runtime: Running, session: requests.Session
) -> None:
    """A multipart body arrives base64-encoded (BinaryMediaTypes), so Lambda's 6 MB synchronous payload takes
    about 4.5 MB of it, not API Gateway's 10 MB: past it, Lambda refuses the event and the answer is a 413
    before the function runs (README, "Sending", Limits)."""
    idapp, _ = _seeded(runtime, session)
    fields = {"idapp": idapp, "tos": "ana@example.net", "subject": "Big", "body": "See attached."}

    def send_file(size: int) -> requests.Response:
        files = {"attachments": ("big.bin", b"\xff" * size, "application/octet-stream")}
        return session.post(f"{runtime.api}/private/emails/send", data=fields, files=files, timeout=TIMEOUT)

    taken = send_file(4 * 1024 * 1024)
    assert taken.status_code == 200, taken.text
    assert taken.json()["attachments"] == ["big.bin"]
    refused = send_file(5 * 1024 * 1024)
    assert refused.status_code == 413
    assert refused.json() == {"message": "Request Too Long"}  # API Gateway's own: no gateway response applies
    assert refused.headers["x-amzn-ErrorType"] == "BadRequestException"


# --- accounts ---------------------------------------------------------------------------------------
def test_login_with_the_demo_account(runtime: Running) -> None:
    url = f"{runtime.api}/auth/login"
    if not has_route("POST", "/auth/login"):
        assert_contract_error(
            requests.post(url, data={"username": "x"}, timeout=TIMEOUT),
            gateway_status("MISSING_AUTHENTICATION_TOKEN", 403),
        )
        return
    username = "demo@example.com"
    password = runtime.output.split(f"Account    {username}  password ", 1)[1].split()[0]
    ok = requests.post(
        url, data={"username": username, "password": password}, headers=JAVA_HEADERS, timeout=TIMEOUT
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["username"] == username
    assert body["role"] == "user"
    assert body["token"].count(".") == 2
    wrong = requests.post(url, data={"username": username, "password": "Wrong-password-1!"}, timeout=TIMEOUT)
    assert_contract_error(wrong, 403, "FORBIDDEN")
    missing = requests.post(url, json={"username": username}, timeout=TIMEOUT)
    assert_contract_error(missing, 400, "BAD_REQUEST")
    assert password not in runtime.output.split("Ctrl-C to stop.", 1)[1]


def test_private_routes_need_a_valid_token(runtime: Running, session: requests.Session) -> None:
    url = f"{runtime.api}/private/apps/findAll"
    if not has_authorizer():
        # No authorizer in the template: the local runtime runs every call as the demo account.
        assert requests.get(url, timeout=TIMEOUT).status_code == 200
        return
    for headers in ({}, {"Authorization": "Basic ZGVtbzpkZW1v"}, {"Authorization": "Bearer"}):
        reply = requests.get(url, headers=headers, timeout=TIMEOUT)
        assert_contract_error(reply, gateway_status("UNAUTHORIZED", 401), "UNAUTHORIZED")
    token = session.headers["Authorization"].split()[1]
    header, payload, signature = str(token).split(".")
    tampered = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature])
    for bad in ("Bearer not-a-jwt", f"Bearer {tampered}"):
        reply = requests.get(url, headers={"Authorization": bad}, timeout=TIMEOUT)
        assert_contract_error(reply, gateway_status("ACCESS_DENIED", 403), "FORBIDDEN")
    assert session.get(url, timeout=TIMEOUT).status_code == 200


# --- every endpoint, as QueueMail's Java client calls them ------------------------------------------
def test_the_java_clients_calls_end_to_end(runtime: Running, session: requests.Session) -> None:
    # given an app and two SMTP servers created as the Java client creates them
    idapp, smtp, first = _java_client_creates(runtime.api, session)
    # when it edits them, then the password stays bound to where it was given for
    _java_client_edits(runtime.api, session, idapp, smtp)
    # and its reads, bad input and removals answer as the contract says
    _java_client_reads_and_removes(runtime.api, session, idapp, smtp, first)


def _java_client_creates(api: str, session: requests.Session) -> tuple[str, dict[str, Any], Any]:
    app = session.post(
        f"{api}/private/apps/save",
        data={"name": "Java shop", "testemail": "ops@example.net", "strategy": "PRIORITY"},
        headers=JAVA_HEADERS,
        timeout=TIMEOUT,
    )
    assert app.status_code == 200, app.text
    idapp = app.json()["_id"]
    assert app.json()["strategy"] == "PRIORITY"

    saved = session.post(
        f"{api}/private/smtps/save", data=java_smtp_form(idapp), headers=JAVA_HEADERS, timeout=TIMEOUT
    )
    assert saved.status_code == 200, saved.text
    smtp = saved.json()
    expected = {
        "idapp": idapp,
        "priority": 20,
        "host": "smtp.example.net",
        "port": 587,
        "username": "mailer@example.net",
        "auth": True,
        "starttls": True,
        "sslTls": False,
        "debug": False,
        "defaultfromemail": "info@example.net",
        "defaultfromname": "Info",
        "status": "A",
        "numerrors": 0,
    }
    assert {key: smtp[key] for key in expected} == expected
    assert "password" not in smtp
    assert "Java-client-secret-1" not in saved.text

    first = session.post(
        f"{api}/private/smtps/save",
        data=java_smtp_form(
            idapp,
            priority="5",
            host="relay.example.net",
            auth="false",
            starttls="false",
            username="",
            password="",
        ),
        headers=JAVA_HEADERS,
        timeout=TIMEOUT,
    )
    assert first.status_code == 200, first.text
    listed = session.get(f"{api}/private/smtps/findByApp", params={"idapp": idapp}, timeout=TIMEOUT)
    assert [item["_id"] for item in listed.json()] == [
        first.json()["_id"],
        smtp["_id"],
    ]  # priority 5, then 20
    return idapp, smtp, first


def _java_client_edits(api: str, session: requests.Session, idapp: str, smtp: dict[str, Any]) -> None:
    # An edit with the fields the client read back (no password) and a new priority: the stored password
    # is kept. Moving the server to another port without the password is refused (the password is bound
    # to where it was given for); with the password it goes through.
    edit = {**java_smtp_form(idapp, priority="30"), "idsmtp": smtp["_id"]}
    del edit["password"]
    edited = session.post(f"{api}/private/smtps/save", data=edit, headers=JAVA_HEADERS, timeout=TIMEOUT)
    assert edited.status_code == 200, edited.text
    assert edited.json()["priority"] == 30
    moved = session.post(
        f"{api}/private/smtps/save", data={**edit, "port": "2525"}, headers=JAVA_HEADERS, timeout=TIMEOUT
    )
    assert assert_contract_error(moved, 400, "BAD_REQUEST")["fields"] == {
        "password": "must be given again when the server's address, user or encryption changes"
    }
    moved = session.post(
        f"{api}/private/smtps/save",
        data={**java_smtp_form(idapp, port="2525"), "idsmtp": smtp["_id"]},
        headers=JAVA_HEADERS,
        timeout=TIMEOUT,
    )
    assert moved.status_code == 200, moved.text
    found = session.get(f"{api}/private/smtps/findById", params={"idsmtp": smtp["_id"]}, timeout=TIMEOUT)
    assert found.json()["port"] == 2525
    assert found.json()["auth"] is True


def _java_client_reads_and_removes(
    api: str, session: requests.Session, idapp: str, smtp: dict[str, Any], first: Any
) -> None:
    bad = session.post(
        f"{api}/private/smtps/save",
        data=java_smtp_form(idapp, port="70000", sslTls="maybe"),
        headers=JAVA_HEADERS,
        timeout=TIMEOUT,
    )
    fields = assert_contract_error(bad, 400, "BAD_REQUEST")["fields"]
    assert set(fields) == {"port", "sslTls"}  # as the Java client spells it (issue 22)

    page = session.get(f"{api}/private/apps/findAll", params={"page": "0", "size": "100"}, timeout=TIMEOUT)
    assert idapp in [item["_id"] for item in page.json()["content"]]
    assert (
        session.get(f"{api}/private/apps/findById", params={"idapp": idapp}, timeout=TIMEOUT).json()["name"]
        == "Java shop"
    )

    removed = session.post(
        f"{api}/private/smtps/remove",
        data={"idsmtp": first.json()["_id"]},
        headers=JAVA_HEADERS,
        timeout=TIMEOUT,
    )
    assert (removed.status_code, removed.text) == (200, "")
    gone = session.get(
        f"{api}/private/smtps/findById", params={"idsmtp": first.json()["_id"]}, timeout=TIMEOUT
    )
    assert_contract_error(gone, 406, "SMTP_NOT_FOUND")

    removed_app = session.post(
        f"{api}/private/apps/remove", data={"idapp": idapp}, headers=JAVA_HEADERS, timeout=TIMEOUT
    )
    assert (removed_app.status_code, removed_app.text) == (200, "")
    cascade = session.get(f"{api}/private/smtps/findById", params={"idsmtp": smtp["_id"]}, timeout=TIMEOUT)
    assert_contract_error(cascade, 406, "SMTP_NOT_FOUND")
    assert_contract_error(
        session.get(f"{api}/private/smtps/findByApp", params={"idapp": idapp}, timeout=TIMEOUT),
        406,
        "APP_NOT_FOUND",
    )


def test_json_bodies_and_query_parameters_reach_the_function(
    runtime: Running, session: requests.Session
) -> None:
    api = runtime.api
    app = session.post(
        f"{api}/private/apps/save",
        json={"name": "JSON shop", "testemail": "json@example.net"},
        timeout=TIMEOUT,
    )
    assert app.status_code == 200, app.text
    # POST parameters may also come in the query string.
    found = session.get(f"{api}/private/apps/findById?idapp={app.json()['_id']}", timeout=TIMEOUT)
    assert found.json()["testemail"] == "json@example.net"
    unsupported = session.post(
        f"{api}/private/apps/save", data=b"<app/>", headers={"Content-Type": "text/xml"}, timeout=TIMEOUT
    )
    assert_contract_error(unsupported, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert (
        session.post(
            f"{api}/private/apps/remove", data={"idapp": app.json()["_id"]}, timeout=TIMEOUT
        ).status_code
        == 200
    )


# --- check ------------------------------------------------------------------------------------------
def _seeded(runtime: Running, session: requests.Session) -> tuple[str, str]:
    idapp = runtime.output.split("Demo data  app ", 1)[1].split()[0]
    idsmtp = runtime.output.split("SMTP server ", 1)[1].split()[0]
    smtp = session.get(
        f"{runtime.api}/private/smtps/findById", params={"idsmtp": idsmtp}, timeout=TIMEOUT
    ).json()
    assert (smtp["idapp"], smtp["host"], smtp["port"], smtp["auth"]) == (
        idapp,
        "127.0.0.1",
        runtime.sink_port,
        False,
    )
    return idapp, idsmtp


def test_check_of_the_demo_server_delivers_a_test_mail_to_the_sink(
    runtime: Running, session: requests.Session
) -> None:
    idapp, idsmtp = _seeded(runtime, session)
    url = f"{runtime.api}/private/smtps/check"
    if not has_route("POST", "/private/smtps/check"):
        assert_contract_error(
            session.post(url, data={"idsmtp": idsmtp}, timeout=TIMEOUT),
            gateway_status("MISSING_AUTHENTICATION_TOKEN", 403),
        )
        return
    reply = session.post(url, data={"idsmtp": idsmtp}, headers=JAVA_HEADERS, timeout=TIMEOUT)
    assert (reply.status_code, reply.text) == (200, ""), reply.text
    runtime.wait_for(
        lambda line: (
            line.startswith("=== SMTP sink: message from ") and line.endswith(" to inbox@example.com ===")
        )
    )
    runtime.wait_for(lambda line: line.startswith("Subject: "))
    smtp = session.get(
        f"{runtime.api}/private/smtps/findById", params={"idsmtp": idsmtp}, timeout=TIMEOUT
    ).json()
    assert smtp["lastcheck"]["ok"] is True
    assert (smtp["status"], smtp["numerrors"]) == ("A", 0)

    # A server where nothing listens: 406 at stage CONNECT, and the server is disabled.
    dead = session.post(
        f"{runtime.api}/private/smtps/save",
        data=java_smtp_form(idapp, host="127.0.0.1", port=str(closed_port()), auth="false", starttls="false"),
        timeout=TIMEOUT,
    ).json()
    failed = session.post(url, data={"idsmtp": dead["_id"]}, timeout=TIMEOUT)
    body = assert_contract_error(failed, 406, "SMTP_CHECK_FAILED")
    assert body["stage"] == "CONNECT"
    after = session.get(
        f"{runtime.api}/private/smtps/findById", params={"idsmtp": dead["_id"]}, timeout=TIMEOUT
    ).json()
    assert (after["status"], after["numerrors"], after["lastcheck"]["ok"]) == ("D", 1, False)


def test_removing_a_server_schedules_its_secret_for_deletion_through_the_stream(
    runtime: Running, session: requests.Session
) -> None:
    """smtps/remove deletes the record only; the emulated stream runs the cleanup function within seconds."""
    import re

    import boto3

    assert template.stream_sources(template.load()), "the template must declare the secrets' stream consumer"
    idapp, _ = _seeded(runtime, session)
    created = session.post(f"{runtime.api}/private/smtps/save", data=java_smtp_form(idapp), timeout=TIMEOUT)
    assert created.status_code == 200, created.text
    idsmtp = created.json()["_id"]
    endpoint = re.search(r"AWS        moto on (\S+)", runtime.output).group(1)  # type: ignore[union-attr]
    secrets = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = f"smtp-hub-local/api/smtp/{idsmtp}"
    assert "DeletedDate" not in secrets.describe_secret(SecretId=name)
    removed = session.post(f"{runtime.api}/private/smtps/remove", data={"idsmtp": idsmtp}, timeout=TIMEOUT)
    assert (removed.status_code, removed.text) == (200, "")
    deadline = time.monotonic() + 5
    while "DeletedDate" not in secrets.describe_secret(SecretId=name):
        assert time.monotonic() < deadline, runtime.output[-3000:]
        time.sleep(0.1)
    runtime.wait_for(lambda line: line.startswith("[stream] SmtpsTable -> SecretsCleanupFunction: "))


def test_removing_an_app_reaches_the_apps_cleanup_through_the_apps_tables_stream(
    runtime: Running, session: requests.Session
) -> None:
    """The apps table's stream feeds AppsCleanupFunction (the servers a removal missed) as in AWS: the
    records of the removed app (with those of other tests' apps, in the same batch or not) are delivered
    and answered without failures, once the function's wait is over."""
    prefix = "[stream] AppsTable -> AppsCleanupFunction: "
    before = len(runtime.lines)
    created = session.post(
        f"{runtime.api}/private/apps/save", data={"name": "Short-lived"}, timeout=TIMEOUT
    ).json()
    removed = session.post(
        f"{runtime.api}/private/apps/remove", data={"idapp": created["_id"]}, timeout=TIMEOUT
    )
    assert removed.status_code == 200, removed.text
    deadline = time.monotonic() + 20
    while not any(line.startswith(prefix) for line in runtime.lines[before:]):
        assert time.monotonic() < deadline, runtime.output[-3000:]
        time.sleep(0.1)
    delivered = [line for line in runtime.lines[before:] if line.startswith(prefix)]
    assert all(" record(s) -> ok (" in line for line in delivered), delivered


# --- start-up failures ------------------------------------------------------------------------------
def test_a_taken_port_is_one_clear_line_and_a_non_zero_exit(runtime: Running) -> None:
    api_port = runtime.api.split(":")[2].split("/")[0]
    for args, variable in (
        (["--port", api_port, "--sink-port", "0"], "PORT"),
        (["--port", "0", "--sink-port", str(runtime.sink_port)], "SMTP_SINK_PORT"),
    ):
        taken = Running(args)
        assert taken.process.wait(TIMEOUT) == 1
        taken.stop()
        assert len(taken.lines) == 1, taken.output
        assert taken.lines[0].startswith("error: ")
        assert "already in use" in taken.lines[0]
        assert variable in taken.lines[0]


def test_a_local_user_the_pool_refuses_is_one_clear_line() -> None:
    running = Running(
        ["--port", "0", "--sink-port", "0", "--quiet"], env={"LOCAL_USERS": "x@example.com:short"}
    )
    if not template.resources(template.load(), "AWS::Cognito::UserPool"):
        running.wait_ready()
        assert "LOCAL_USERS ignored" in running.output
        assert running.stop() == 0
        return
    assert running.process.wait(TIMEOUT) == 1
    running.stop()
    assert running.lines[-1].startswith("error: LOCAL_USERS: cannot create x@example.com: "), running.output


# --- a copy of the template: a route of its own, an authorizer of its own, users, a parameter -------
ECHO = """
import base64, json, os, time


def lambda_handler(event, context):
    name = (event.get("pathParameters") or {}).get("name")
    if name == "binary":
        body = base64.b64encode(b"\\x00\\xffbytes").decode()
        headers = {"Content-Type": "application/octet-stream"}
        return {"statusCode": 200, "headers": headers, "body": body, "isBase64Encoded": True}
    if name == "crash":
        raise ValueError("the test function fails on purpose")
    if name == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if name == "slow":
        time.sleep(3)
    names = ("ECHO_SUB", "APPS_TABLE", "SECRET_PREFIX", "ALLOW_PRIVATE_ADDRESSES", "AWS_ENDPOINT_URL")
    names += ("SSL_CERT_FILE",)
    env = {key: os.environ.get(key) for key in names}
    return {
        "statusCode": 201,
        "multiValueHeaders": {"X-Echo": ["one", "two"]},
        "body": json.dumps({"event": event, "env": env, "function": context.function_name,
                            "remaining": context.get_remaining_time_in_millis()}),
    }
"""

FAKE_AUTHORIZER = """
import os


def lambda_handler(event, context):
    with open(os.environ["CALLS_FILE"], "a") as calls:
        calls.write(event["authorizationToken"] + "\\n")
    token = event["authorizationToken"].split(" ", 1)[1]
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "boom":
        raise RuntimeError("the authorizer fails on purpose")
    effect = "Deny" if token == "deny" else "Allow"
    # The answer is cached per token for every route: allow the whole API (or only another route).
    api = event["methodArn"].split("/", 1)[0]
    resource = api + ("/*/GET/elsewhere" if token == "other-route" else "/*")
    return {
        "principalId": "user-" + token,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"accountId": "account-" + token, "number": 7, "flag": True},
    }
"""

USERS = {"alice@example.com": "Alice-password-1!", "bob@example.com": "Bob-password-1!"}


def _add_test_routes(document: dict[str, Any], folder: Any, calls: Any) -> None:
    """The custom template: two fake authorizers, a throttled route and an echo function on four routes."""
    resources = document["Resources"]
    api = resources["Api"]["Properties"]
    auth = api.setdefault("Auth", {})
    authorizers = auth.setdefault("Authorizers", {})
    for name, ttl in (("FakeAuthorizer", 300), ("FakeUncached", 0)):
        authorizers[name] = {
            "FunctionArn": {"Fn::GetAtt": ["FakeAuthorizerFunction", "Arn"]},
            "Identity": {
                "Header": "X-Token",
                "ValidationExpression": "^Token [a-z-]+$",
                "ReauthorizeEvery": ttl,
            },
        }
    api.setdefault("MethodSettings", []).append(
        {
            "ResourcePath": "/~1test~1throttled",
            "HttpMethod": "GET",
            "ThrottlingRateLimit": 0.01,
            "ThrottlingBurstLimit": 2,
        }
    )
    _add_echo_functions(resources, folder, calls)


def _add_echo_functions(resources: dict[str, Any], folder: Any, calls: Any) -> None:
    events = {
        "Echo": {"Path": "/test/echo/{name}", "Method": "ANY", "Auth": {"Authorizer": "FakeAuthorizer"}},
        "Uncached": {"Path": "/test/uncached", "Method": "GET", "Auth": {"Authorizer": "FakeUncached"}},
        "Public": {"Path": "/test/public/{proxy+}", "Method": "GET", "Auth": {"Authorizer": "NONE"}},
        "Throttled": {"Path": "/test/throttled", "Method": "GET", "Auth": {"Authorizer": "NONE"}},
    }
    resources["EchoFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(folder / "echo"),
            "Timeout": 1,
            "Environment": {
                "Variables": {"ECHO_SUB": {"Fn::Sub": "${AWS::StackName}-${StageName}-${AppsTable}"}}
            },
            "Events": {
                name: {"Type": "Api", "Properties": {"RestApiId": {"Ref": "Api"}, **event}}
                for name, event in events.items()
            },
        },
    }
    resources["FakeAuthorizerFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(folder / "fake_authorizer"),
            "Environment": {"Variables": {"CALLS_FILE": str(calls)}},
        },
    }


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("custom")
    for name, code in (("echo", ECHO), ("fake_authorizer", FAKE_AUTHORIZER)):
        (folder / name).mkdir()
        (folder / name / "app.py").write_text(code)
    calls = folder / "calls.txt"
    calls.write_text("")

    path = copy_template(folder, lambda document: _add_test_routes(document, folder, calls))
    users = ",".join(f"{user}:{password}" for user, password in USERS.items())
    running = Running(
        [
            "--template",
            str(path),
            "--port",
            "0",
            "--sink-port",
            "0",
            "--parameter",
            "StageName=v1",
            "--quiet",
        ],
        env={"LOCAL_USERS": users, "SSL_CERT_FILE": certifi.where()},
    )
    try:
        yield running.wait_ready(), calls
    finally:
        code = running.stop()
    assert code == 0, running.output[-3000:]


def _assert_proxy_event(event: dict[str, Any], reply: requests.Response) -> None:
    """The event a Lambda proxy integration hands the function for the echo route's POST."""
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/test/echo/{name}",
        "/test/echo/hello%20world",
        "POST",
    )
    assert event["pathParameters"] == {"name": "hello world"}
    assert event["queryStringParameters"] == {"tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""]}
    assert event["headers"]["X-Token"] == "Token alice"
    assert event["multiValueHeaders"]["X-Dup"] == ["1"]
    # BinaryMediaTypes */* (the open pixel's GIF needs it): API Gateway hands every body over base64-encoded.
    assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(b"name=Shop&x=1").decode(), True)
    context = event["requestContext"]
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert (context["stage"], context["resourcePath"], context["identity"]["sourceIp"]) == (
        "v1",
        "/test/echo/{name}",
        "127.0.0.1",
    )
    assert context["authorizer"] == {
        "accountId": "account-alice",
        "number": "7",
        "flag": "true",
        "principalId": "user-alice",
        "integrationLatency": 0,
    }


def _assert_function_env(answer: dict[str, Any]) -> None:
    """The function's environment, name and remaining time, as the echo function saw them."""
    env = answer["env"]
    assert env["ECHO_SUB"] == "smtp-hub-local-v1-smtp-hub-local-AppsTable"
    assert env["APPS_TABLE"] == "smtp-hub-local-AppsTable"
    assert env["SECRET_PREFIX"] == "smtp-hub-local/v1/smtp/"
    assert env["ALLOW_PRIVATE_ADDRESSES"] == "true"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    # The CAs given to make run reach the functions, as a deployment sets a private CA for the check; the
    # runtime adds its own token endpoint's CA to them (local_runtime/token_endpoint.py).
    trusted = Path(env["SSL_CERT_FILE"]).read_bytes()
    assert Path(certifi.where()).read_bytes().strip() in trusted
    assert answer["function"] == "smtp-hub-local-EchoFunction"
    assert 0 < answer["remaining"] <= 1000


def _assert_binary_raw_and_proxy_routes(api: str) -> None:
    """A binary answer, a body that is not text (base64 in the event) and a greedy {proxy+} route."""
    binary = requests.get(f"{api}/test/echo/binary", headers={"X-Token": "Token alice"}, timeout=TIMEOUT)
    assert binary.content == b"\x00\xffbytes"
    raw = requests.put(
        f"{api}/test/echo/raw", data=b"\xff\xfe", headers={"X-Token": "Token alice"}, timeout=TIMEOUT
    ).json()["event"]
    assert (raw["httpMethod"], raw["body"], raw["isBase64Encoded"]) == ("PUT", "//4=", True)
    public = requests.get(f"{api}/test/public/a/b/c", timeout=TIMEOUT).json()["event"]
    assert public["pathParameters"] == {"proxy": "a/b/c"}
    assert "authorizer" not in public["requestContext"]


def test_a_route_added_to_the_template_is_served_with_the_proxy_event(custom: Any) -> None:
    running, _ = custom
    assert running.api.endswith("/v1")  # --parameter StageName=v1
    reply = requests.post(
        f"{running.api}/test/echo/hello%20world?tag=a&tag=b&empty=",
        data="name=Shop&x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Token": "Token alice", "X-Dup": "1"},
        timeout=TIMEOUT,
    )
    assert reply.status_code == 201, reply.text
    assert reply.headers["X-Echo"] == "one, two"  # multiValueHeaders, sent as two header lines
    assert reply.headers["Content-Type"] == "application/json"  # API Gateway's default
    answer = reply.json()
    _assert_proxy_event(answer["event"], reply)
    _assert_function_env(answer)
    _assert_binary_raw_and_proxy_routes(running.api)


def test_the_token_authorizer_runs_as_api_gateway_runs_it(custom: Any) -> None:
    running, calls = custom
    url = f"{running.api}/test/echo/x"

    def call(token: str | None, target: str = url) -> requests.Response:
        return requests.get(target, headers={"X-Token": token} if token else {}, timeout=TIMEOUT)

    def invocations() -> list[str]:
        return calls.read_text().splitlines()

    before = len(invocations())
    # Identity source missing or not matching the validation expression: 401, the function is not called.
    for token in (None, "Bearer alice", "Token UPPER"):
        assert_contract_error(call(token), gateway_status("UNAUTHORIZED", 401), "UNAUTHORIZED")
    assert len(invocations()) == before
    # Allowed, then cached for ReauthorizeEvery: a second call does not invoke the authorizer.
    assert call("Token cached").status_code == 201
    assert call("Token cached").status_code == 201
    assert invocations()[before:] == ["Token cached"]
    # TTL 0: every call invokes it.
    uncached = f"{running.api}/test/uncached"
    assert [call("Token fresh", uncached).status_code for _ in range(2)] == [201, 201]
    assert invocations()[before + 1 :] == ["Token fresh", "Token fresh"]
    # Deny, or an Allow for another resource: 403. "Unauthorized" raised: 401. Any other error: 500.
    denied = call("Token deny")
    assert_contract_error(denied, gateway_status("ACCESS_DENIED", 403))
    assert denied.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert_contract_error(call("Token other-route"), gateway_status("ACCESS_DENIED", 403))
    assert_contract_error(call("Token unauthorized"), gateway_status("UNAUTHORIZED", 401), "UNAUTHORIZED")
    failed = call("Token boom")
    assert_contract_error(failed, gateway_status("AUTHORIZER_FAILURE", 500))
    assert failed.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_function_errors_timeouts_and_throttling_are_api_gateways_answers(custom: Any) -> None:
    running, _ = custom
    token = {"X-Token": "Token errors"}
    for name, kind, default in (
        ("crash", "DEFAULT_5XX", 502),
        ("malformed", "DEFAULT_5XX", 502),
        ("slow", "INTEGRATION_TIMEOUT", 504),
    ):
        started = time.monotonic()
        reply = requests.get(f"{running.api}/test/echo/{name}", headers=token, timeout=TIMEOUT)
        assert_contract_error(reply, gateway_status(kind, default))
        assert time.monotonic() - started < 2.5  # the 1 s timeout, not the function's 3 s sleep
    throttled = [requests.get(f"{running.api}/test/throttled", timeout=TIMEOUT).status_code for _ in range(3)]
    assert throttled[:2] == [201, 201]
    assert throttled[2] == gateway_status("THROTTLED", 429)


def test_local_users_each_get_an_account_of_their_own(custom: Any) -> None:
    running, _ = custom
    if not has_route("POST", "/auth/login"):
        assert "LOCAL_USERS ignored" in running.output
        return
    assert "Demo data" not in running.output
    tokens = {}
    for user, password in USERS.items():
        assert f"Account    {user}  password {password}" in running.output
        reply = requests.post(
            f"{running.api}/auth/login", data={"username": user, "password": password}, timeout=TIMEOUT
        )
        assert reply.status_code == 200, reply.text
        tokens[user] = {"Authorization": f"Bearer {reply.json()['token']}"}
    alice, bob = tokens["alice@example.com"], tokens["bob@example.com"]
    app = requests.post(
        f"{running.api}/private/apps/save", data={"name": "Alice's"}, headers=alice, timeout=TIMEOUT
    ).json()
    assert (
        requests.get(f"{running.api}/private/apps/findAll", headers=bob, timeout=TIMEOUT).json()["content"]
        == []
    )
    theirs = requests.get(
        f"{running.api}/private/apps/findById", params={"idapp": app["_id"]}, headers=bob, timeout=TIMEOUT
    )
    assert_contract_error(theirs, 406, "APP_NOT_FOUND")
    mine = requests.get(
        f"{running.api}/private/apps/findById", params={"idapp": app["_id"]}, headers=alice, timeout=TIMEOUT
    )
    assert mine.json()["name"] == "Alice's"


def test_the_template_copy_keeps_the_real_routes(custom: Any) -> None:
    running, _ = custom
    for route in template.routes(template.load()):
        assert f"{route.method} /v1{route.path} " in running.output
    assert "GET /v1/test/uncached " in running.output
    assert Path(running.output.split("routes from ", 1)[1].split(")")[0]).name == "template.yaml"
    # The real stage name is not served once StageName is overridden.
    assert (
        requests.get(
            running.api.replace("/v1", "/api") + "/private/apps/findAll", timeout=TIMEOUT
        ).status_code
        == 403
    )


def test_without_accounts_in_the_template_every_call_runs_as_the_demo_account(tmp_path: Path) -> None:
    def strip_accounts(document: dict[str, Any]) -> None:
        resources = document["Resources"]
        resources["Api"]["Properties"].pop("Auth", None)
        for name, resource in list(resources.items()):
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if resource["Type"].startswith("AWS::Cognito::") or "USER_POOL_ID" in variables:
                del resources[name]

    path = copy_template(tmp_path, strip_accounts)
    running = Running(
        ["--template", str(path), "--port", "0", "--sink-port", "0", "--quiet"],
        env={"LOCAL_USERS": "a@b.c:pw"},
    )
    try:
        running.wait_ready()
        assert "LOCAL_USERS ignored: the template declares no user pool" in running.output
        assert "demo identity (no authorizer in the template)" in running.output
        apps = requests.get(f"{running.api}/private/apps/findAll", timeout=TIMEOUT)
        assert [app["name"] for app in apps.json()["content"]] == ["Demo shop"]
        login = requests.post(f"{running.api}/auth/login", data={"username": "a@b.c"}, timeout=TIMEOUT)
        assert_contract_error(login, gateway_status("MISSING_AUTHENTICATION_TOKEN", 403))
        assert "TOKEN=" not in running.output
    finally:
        assert running.stop() == 0, running.output[-3000:]


# --- sending (issue 24): the banner's session sends, the sender delivers to the sink ----------------------
# Written against the design's names. Until emails_send and EmailsSenderFunction are in template.yaml this
# is an expected failure (strict): once they are, the condition is false and it runs as any other test.
SEND_BOUND = 15  # seconds: generous (2 CPUs shared); queued to delivered is make bench's figure


def test_a_send_from_the_banner_s_session_lands_in_the_sink_within_seconds(
    runtime: Running, session: requests.Session
) -> None:
    tried = runtime.output.split("Try it")[1]
    assert "/private/emails/send" in tried
    assert "/private/emails/info" in tried
    idapp = session.get(f"{runtime.api}/private/apps/findAll", timeout=TIMEOUT).json()["content"][0]["_id"]
    subject = f"e2e {time.time_ns()}"
    sent = session.post(
        f"{runtime.api}/private/emails/send",
        data={"idapp": idapp, "tos": "inbox@example.com", "subject": subject, "body": "Hello from make run."},
        timeout=TIMEOUT,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "Q"
    runtime.wait_for(lambda line: line == f"Subject: {subject}", SEND_BOUND)
    deadline = time.monotonic() + SEND_BOUND
    info: dict[str, Any] = {}
    while info.get("status") != "F" and time.monotonic() < deadline:
        info = session.get(
            f"{runtime.api}/private/emails/info", params={"idemail": sent.json()["id"]}, timeout=TIMEOUT
        ).json()
        time.sleep(0.2)
    assert info["status"] == "F", info


def test_a_senddate_e_mail_reaches_the_sink_no_earlier_than_asked(
    runtime: Running, session: requests.Session
) -> None:
    """Issue 24: `senddate` holds the e-mail until then (a delayed SQS message here, as deployed)."""
    idapp = session.get(f"{runtime.api}/private/apps/findAll", timeout=TIMEOUT).json()["content"][0]["_id"]
    subject = f"e2e later {time.time_ns()}"
    due = int(time.time()) + 8  # senddate has whole seconds
    senddate = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(due))
    sent = session.post(
        f"{runtime.api}/private/emails/send",
        data={
            "idapp": idapp,
            "tos": "inbox@example.com",
            "subject": subject,
            "body": "Later.",
            "senddate": senddate,
        },
        timeout=TIMEOUT,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "Q"
    runtime.wait_for(lambda line: line == f"Subject: {subject}", SEND_BOUND + 8)
    assert time.time() >= due, "the sink printed the e-mail before its senddate"


def test_an_unsubscribable_send_points_its_links_at_the_runtime_itself(
    runtime: Running, session: requests.Session
) -> None:
    """PUBLIC_BASE_URL is the runtime's own base URL (not the template's execute-api one): the one-click
    header of the copy in the sink names it, and the link's page answers there."""
    idapp = session.get(f"{runtime.api}/private/apps/findAll", timeout=TIMEOUT).json()["content"][0]["_id"]
    sent = session.post(
        f"{runtime.api}/private/emails/send",
        data={"idapp": idapp, "tos": "leaver@example.com", "subject": f"news {time.time_ns()}",
              "body": "<p>News</p>", "mimetype": "text/html", "includeunregisterlink": "true"},
        timeout=TIMEOUT,
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    prefix = f"List-Unsubscribe: <{runtime.api}/public/blacklist/unsubscribe?t="
    line = runtime.wait_for(lambda line: line.startswith(prefix), SEND_BOUND)
    page = requests.get(line.removeprefix("List-Unsubscribe: <").rstrip(">"), timeout=TIMEOUT)
    assert page.status_code == 200, page.text
