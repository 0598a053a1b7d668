"""POST /private/smtps/check through its handler (events/smtps_check.json) with moto and real servers.

State (status, numerrors, lastcheck), the one conditional write and its stale-result rule, the AWS
calls a check makes, the 406 body, the metric and the log line, and what the template grants.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest

from local_runtime import template
from smtphub import wiring
from smtphub.check import service as check_service
from smtphub.check.plan import CheckOutcome
from smtphub.observability import logger
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.models import Smtp
from smtphub.smtps.results import CheckResult
from tests.support.aws import SMTPS_TABLE
from tests.support.lambdas import ACCOUNT_B, call
from tests.support.smtp_peers import PASSWORD, USERNAME, free_port, running_raw, running_smtpd, silent


@pytest.fixture(autouse=True)
def private_addresses_allowed(monkeypatch):
    """As the local runtime: the test servers are on 127.0.0.1."""
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "1")


@pytest.fixture
def server():
    with running_smtpd() as running:
        yield running


def create_app(**values: Any) -> str:
    reply = call("apps_save", {"name": "Caf\u00e9 shop", "testemail": "ops@example.org", **values})
    assert reply.status == 200, reply.text
    return str(reply.json["_id"])


def create_smtp(idapp: str, port: int, **values: Any) -> str:
    params = {"idapp": idapp, "host": "127.0.0.1", "port": port, **values}
    if params.get("auth"):
        params.setdefault("username", USERNAME)
        params.setdefault("password", PASSWORD)
        # The test servers speak plain SMTP on loopback: AUTH in clear needs the explicit opt-in.
        params.setdefault("insecureauth", not (params.get("starttls") or params.get("ssltls")))
    reply = call("smtps_save", params)
    assert reply.status == 200, reply.text
    return str(reply.json["_id"])


def smtp_json(idsmtp: str) -> dict[str, Any]:
    reply = call("smtps_find_by_id", {"idsmtp": idsmtp})
    assert reply.status == 200, reply.text
    return dict(reply.json)


def stored(aws_fixture: Any, idsmtp: str) -> Smtp:
    item = aws_fixture.dynamodb.get_item(TableName=SMTPS_TABLE, Key={"_id": {"S": idsmtp}})["Item"]
    return SMTP_CODEC.decode(item)


def test_a_successful_check_is_200_with_an_empty_body_and_records_it(aws, server):
    idsmtp = create_smtp(create_app(defaultfromemail="shop@example.net"), server.port, auth=True)
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert (reply.status, reply.text) == (200, "")

    (received,) = server.sink.received
    assert received.mail_from == "shop@example.net"  # the app's, as the server has none
    assert received.rcpt_tos == ["ops@example.org"]
    assert received.authenticated
    smtp = smtp_json(idsmtp)
    assert (smtp["status"], smtp["numerrors"]) == ("A", 0)
    lastcheck = smtp["lastcheck"]
    assert lastcheck["ok"] is True
    assert (lastcheck["stage"], lastcheck["code"]) == (None, 250)
    assert lastcheck["at"].endswith("Z")
    assert isinstance(lastcheck["ms"], int)
    assert "accepted the test message" in lastcheck["message"]


def test_the_sample_event_works_as_is_with_its_ids(aws, server):
    event = json.loads(check_event_text())
    assert event["resource"] == "/private/smtps/check"
    assert event["httpMethod"] == "POST"
    reply = call("smtps_check", event=event)  # the sample's server does not exist for this account
    assert reply.status == 406
    assert reply.json["error"] == "SMTP_NOT_FOUND"


def check_event_text() -> str:
    from local_runtime.events import EVENTS_DIR

    return (EVENTS_DIR / "smtps_check.json").read_text()


def test_the_server_s_from_address_and_name_win_over_the_app_s(aws, server):
    idapp = create_app(defaultfromemail="shop@example.net", defaultfromname="Shop")
    idsmtp = create_smtp(idapp, server.port, defaultfromemail="relay@example.net", defaultfromname="Relay")
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    sender = server.sink.received[0].message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Relay", "relay@example.net")


def test_state_transitions_and_counters(aws, server):
    idsmtp = create_smtp(create_app(), server.port, auth=True, defaultfromemail="info@example.net")
    version = stored(aws, idsmtp).version

    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert (smtp_json(idsmtp)["status"], smtp_json(idsmtp)["numerrors"]) == ("A", 0)

    assert call("smtps_save", {"idsmtp": idsmtp, "password": "wrong-password"}).status == 200
    version = stored(aws, idsmtp).version
    for expected_errors in (1, 2):
        failed = call("smtps_check", {"idsmtp": idsmtp})
        assert failed.status == 406
        smtp = smtp_json(idsmtp)
        assert (smtp["status"], smtp["numerrors"]) == ("D", expected_errors)
        assert smtp["lastcheck"]["ok"] is False
        assert (smtp["lastcheck"]["stage"], smtp["lastcheck"]["code"]) == ("AUTH", 535)
        assert smtp["lastcheck"]["message"] == failed.json["message"]

    # A check is not an edit: it leaves version and modified alone.
    assert stored(aws, idsmtp).version == version
    assert smtp_json(idsmtp)["modified"] == stored(aws, idsmtp).modified

    assert call("smtps_save", {"idsmtp": idsmtp, "password": PASSWORD}).status == 200
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    smtp = smtp_json(idsmtp)
    assert (smtp["status"], smtp["numerrors"], smtp["lastcheck"]["ok"]) == ("A", 0, True)
    assert len(server.sink.received) == 2


def our_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What smtp-hub itself logged (its Powertools logger), with every extra field."""
    return [record for record in caplog.records if record.name == logger.name]


def as_text(record: logging.LogRecord) -> str:
    return json.dumps(vars(record), default=str, ensure_ascii=False)


def test_a_failed_check_is_406_with_stage_code_message_and_never_the_password(aws, server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    idsmtp = create_smtp(
        create_app(), server.port, auth=True, defaultfromemail="info@example.net", debug=True
    )
    assert call("smtps_save", {"idsmtp": idsmtp, "password": "Wrong-" + PASSWORD}).status == 200
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert reply.status == 406
    body = reply.json
    assert body["status"] == 406
    assert body["error"] == "SMTP_CHECK_FAILED"
    assert (body["stage"], body["code"]) == ("AUTH", 535)
    assert body["message"] == "The server rejected the username or password (535)"
    assert body["requestId"]
    ok = call("smtps_save", {"idsmtp": idsmtp, "password": PASSWORD})
    assert ok.status == 200
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200

    records = our_records(caplog)
    checks = [record for record in records if record.getMessage() == "smtp check"]
    assert len(checks) == 2
    # debug is on: the transcript is logged, with the credentials redacted
    assert all("C: AUTH PLAIN ***" in record.transcript for record in checks)  # type: ignore[attr-defined]
    everything = [reply.text, ok.text, json.dumps(smtp_json(idsmtp)), capsys.readouterr().out]
    everything += [as_text(record) for record in records]
    for password in (PASSWORD, "Wrong-" + PASSWORD):
        token = base64.b64encode(f"\0{USERNAME}\0{password}".encode()).decode()
        for text in everything:
            assert password not in text
            assert token not in text


def test_one_log_line_and_one_metric_per_check(aws, server, caplog, capsys):
    caplog.set_level(logging.INFO)
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    idbad = create_smtp(
        create_app(name="Other"), server.port, starttls=True, defaultfromemail="i@example.net"
    )
    assert call("smtps_check", {"idsmtp": idbad}).status == 406

    checks = [vars(r) for r in our_records(caplog) if r.getMessage() == "smtp check"]
    assert [(r["idsmtp"], r["ok"], r["stage"], r["code"]) for r in checks] == [
        (idsmtp, True, None, 250),
        (idbad, False, "TLS", None),
    ]
    for record in checks:
        assert record["recorded"] == "yes"
        assert record["ms"] >= 0
        assert record["total_ms"] >= record["ms"]
        assert {"DNS", "CONNECT", "EHLO"} <= set(record["stages_ms"])
        assert "transcript" not in record  # only with debug on

    printed = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')
    ]
    assert [metric["outcome"] for metric in printed] == ["OK", "TLS"]
    for metric in printed:
        (directive,) = metric["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "smtp-hub"
        assert directive["Metrics"][0]["Name"] == "SmtpCheck"
        assert directive["Metrics"][0]["Unit"] == "Count"
        assert "outcome" in directive["Dimensions"][0]
        assert metric["SmtpCheck"] in (1, 1.0, [1.0])


def test_the_upstream_idapp_spelling_names_the_smtp_server(aws, server):
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    assert call("smtps_check", {"idapp": idsmtp}).status == 200


def test_another_account_s_server_is_not_found_and_not_contacted(aws, server):
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    reply = call("smtps_check", {"idsmtp": idsmtp}, account=ACCOUNT_B)
    assert (reply.status, reply.json["error"]) == (406, "SMTP_NOT_FOUND")
    assert server.sink.received == []
    assert smtp_json(idsmtp)["lastcheck"] is None


def test_a_missing_id_is_a_400(aws):
    reply = call("smtps_check", {})
    assert (reply.status, reply.json["fields"]) == (400, {"idsmtp": "is required"})


def test_no_testemail_or_no_from_address_is_a_400_and_nothing_is_contacted_or_recorded(aws):
    with running_raw(silent) as listener:
        # An account without an e-mail address in its token: its app has no defaults to fall back on.
        idapp = call("apps_save", {"name": "Bare"}, username="bare-account").json["_id"]
        idsmtp = create_smtp(idapp, listener.port)
        reply = call("smtps_check", {"idsmtp": idsmtp})
        assert reply.status == 400
        assert set(reply.json["fields"]) == {"testemail", "defaultfromemail"}
        assert listener.accepted == 0
    smtp = smtp_json(idsmtp)
    assert (smtp["status"], smtp["numerrors"], smtp["lastcheck"]) == ("A", 0, None)


def test_private_addresses_are_refused_at_dns_by_default(aws, monkeypatch):
    monkeypatch.delenv("ALLOW_PRIVATE_ADDRESSES")
    with running_raw(silent) as listener:
        idsmtp = create_smtp(create_app(), listener.port, defaultfromemail="info@example.net")
        reply = call("smtps_check", {"idsmtp": idsmtp})
        assert listener.accepted == 0
    assert (reply.status, reply.json["error"], reply.json["stage"]) == (406, "SMTP_CHECK_FAILED", "DNS")
    assert reply.json["code"] is None
    assert "not publicly routable" in reply.json["message"]
    assert smtp_json(idsmtp)["status"] == "D"


def test_a_server_that_never_greets_is_406_within_the_configured_bound(aws):
    with running_raw(silent) as listener:
        idsmtp = create_smtp(create_app(), listener.port, defaultfromemail="info@example.net")
        started = time.monotonic()
        reply = call("smtps_check", {"idsmtp": idsmtp})
        took = time.monotonic() - started
    assert (reply.status, reply.json["stage"]) == (406, "CONNECT")
    assert took < 1.5, took  # CHECK_DEADLINE_SECONDS=1, AWS reads and the write included


def test_nothing_listening_is_406_at_connect(aws):
    idsmtp = create_smtp(create_app(), free_port(), defaultfromemail="info@example.net")
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert (reply.status, reply.json["stage"], reply.json["code"]) == (406, "CONNECT", None)


# --- The one conditional write ---------------------------------------------------------------------


@pytest.fixture
def during_check(monkeypatch):
    """Run `action()` while the SMTP conversation is under way (after the reads, before the write)."""
    actions: list[Any] = []
    original = check_service.converse

    def converse(*args: Any, **kwargs: Any) -> CheckOutcome:
        outcome = original(*args, **kwargs)
        for action in actions:
            action()
        return outcome

    monkeypatch.setattr(check_service, "converse", converse)
    return actions.append


def test_an_edit_during_the_check_wins_and_the_result_is_not_recorded(aws, server, during_check):
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    during_check(lambda: call("smtps_save", {"idsmtp": idsmtp, "priority": 3}))
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert (reply.status, reply.json["error"]) == (406, "CONFLICT")
    assert "not recorded" in reply.json["message"]
    smtp = smtp_json(idsmtp)
    assert (smtp["priority"], smtp["lastcheck"], smtp["status"]) == (3, None, "A")


def test_a_removal_during_the_check_is_not_found(aws, server, during_check):
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    during_check(lambda: call("smtps_remove", {"idsmtp": idsmtp}))
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert (reply.status, reply.json["error"]) == (406, "SMTP_NOT_FOUND")
    assert call("smtps_find_by_id", {"idsmtp": idsmtp}).status == 406  # not re-created by the write


def test_concurrent_failed_checks_each_count(aws, during_check):
    idsmtp = create_smtp(create_app(), free_port(), defaultfromemail="info@example.net")
    # Another check of the same server finishes while this one runs: both failures count.
    during_check(
        lambda: wiring.smtp_repository().record_check(
            stored(aws, idsmtp), CheckResult("2026-11-23T10:00:00.000Z", False, "RCPT", 550, "refused")
        )
    )
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    assert smtp_json(idsmtp)["numerrors"] == 2


# --- AWS calls ----------------------------------------------------------------------------------


def test_without_auth_a_check_makes_three_round_trips_to_aws(aws, server, aws_calls):
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    aws_calls.clear()
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    # The account's check counter (UpdateItem on the accounts table) alongside the server's GetItem,
    # then the app, then the one write of the result, then its history entry (issue 13).
    assert sorted(aws_calls[:2]) == ["GetItem", "UpdateItem"]
    assert aws_calls[2:] == ["GetItem", "UpdateItem", "BatchWriteItem"]


def test_with_auth_the_password_is_read_alongside_the_app(aws, server, aws_calls):
    idsmtp = create_smtp(create_app(), server.port, auth=True, defaultfromemail="info@example.net")
    aws_calls.clear()
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert sorted(aws_calls[:2]) == ["GetItem", "UpdateItem"]  # the server and the check counter
    assert sorted(aws_calls[2:4]) == ["GetItem", "GetSecretValue"]  # one round trip, concurrently
    assert aws_calls[4:] == ["UpdateItem", "BatchWriteItem"]  # the result, then its history entry


# --- Template ------------------------------------------------------------------------------------


def test_the_template_bounds_and_confines_the_check_function():
    resource = template.default()["Resources"]["SmtpsCheckFunction"]
    props = resource["Properties"]
    env = props["Environment"]["Variables"]
    deadline = float(env["CHECK_DEADLINE_SECONDS"])
    assert deadline + 3 <= props["Timeout"] < 29  # room for the final write, inside API Gateway's 29 s
    assert env["ALLOW_PRIVATE_ADDRESSES"] == "false"
    assert "POWERTOOLS_METRICS_NAMESPACE" in env
    api = props["Events"]["Api"]["Properties"]
    assert (api["Method"], api["Path"]) == ("POST", "/private/smtps/check")

    statements = [s for policy in props["Policies"] for s in policy["Statement"]]
    granted = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            granted.setdefault(action, []).extend(json.dumps(r) for r in resources)
    assert set(granted) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        "dynamodb:BatchWriteItem",  # the result's history entry (issue 13)
        "events:PutEvents",  # a change of status, an expiring certificate (issue 13)
    }
    assert granted["dynamodb:BatchWriteItem"] == [json.dumps({"Fn::GetAtt": ["HistoryTable", "Arn"]})]
    assert granted["events:PutEvents"] == [
        json.dumps(
            {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
        )
    ]
    assert sorted(granted["dynamodb:GetItem"]) == sorted(
        [json.dumps({"Fn::GetAtt": ["AppsTable", "Arn"]}), json.dumps({"Fn::GetAtt": ["SmtpsTable", "Arn"]})]
    )
    assert sorted(granted["dynamodb:UpdateItem"]) == sorted(
        [
            json.dumps({"Fn::GetAtt": ["SmtpsTable", "Arn"]}),
            json.dumps({"Fn::GetAtt": ["AccountsTable", "Arn"]}),
        ]
    )  # the result, and the account's check counter
    (secrets,) = granted["secretsmanager:GetSecretValue"]
    assert secrets.endswith(':secret:${AWS::StackName}/${StageName}/smtp/*"}')


# --- Credentials stay where they were given (issue: stored SMTP credentials) --------------------------


def auth_attempts(sink: Any) -> list[str]:
    return [line for line in sink.commands if line.upper().startswith("AUTH ")]


def test_a_redirected_server_never_receives_the_stored_password(aws):
    """Read-back by redirect: an edit pointing a server with a stored password at another host, without the
    password, is refused; nothing the caller does afterwards sends the password to that host."""
    with running_smtpd() as real, running_smtpd() as attacker:
        # given a server with a stored password
        idsmtp = create_smtp(create_app(), real.port, auth=True, defaultfromemail="info@example.net")
        # when its address is changed without the password
        edit = call("smtps_save", {"idsmtp": idsmtp, "port": attacker.port})
        # then the edit is refused, naming the password, and the server still points at the real host
        assert (edit.status, edit.json["fields"]) == (
            400,
            {"password": "must be given again when the server's address, user or encryption changes"},
        )
        assert smtp_json(idsmtp)["port"] == real.port
        assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
        assert auth_attempts(attacker.sink) == []
        assert attacker.sink.commands == []
        assert [line.split()[:2] for line in auth_attempts(real.sink)] == [["AUTH", "PLAIN"]]


def test_auth_over_a_plain_connection_is_refused_before_any_credential_is_sent(aws, server):
    # given a server with auth on, no encryption and no opt-in to clear-text AUTH
    idsmtp = create_smtp(
        create_app(), server.port, auth=True, insecureauth=False, defaultfromemail="i@example.net"
    )
    # when it is checked
    reply = call("smtps_check", {"idsmtp": idsmtp})
    # then the check fails at AUTH, says how to fix it, and the server saw no AUTH at all
    assert (reply.status, reply.json["stage"], reply.json["code"]) == (406, "AUTH", None)
    assert "insecureauth" in reply.json["message"]
    assert auth_attempts(server.sink) == []
    assert PASSWORD not in "".join(server.sink.commands)
    assert smtp_json(idsmtp)["status"] == "D"


def test_the_check_uses_the_pinned_secret_version_not_whatever_is_current(aws, server):
    # given a server whose record names its secret version
    idsmtp = create_smtp(create_app(), server.port, auth=True, defaultfromemail="info@example.net")
    pinned = stored(aws, idsmtp).secret_version
    assert pinned is not None
    # when someone makes another version current behind the record's back
    name = aws.secrets.list_secrets()["SecretList"][0]["Name"]
    aws.secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"password": "not-the-one"}))
    assert (
        json.loads(aws.secrets.get_secret_value(SecretId=name)["SecretString"])["password"] == "not-the-one"
    )
    # then the check still authenticates with the record's own password
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert server.sink.received[0].authenticated


def test_checks_are_limited_per_account_and_minute_with_retry_after(aws, server, monkeypatch):
    monkeypatch.setenv("CHECKS_PER_MINUTE", "2")
    wiring.reset()
    idsmtp = create_smtp(create_app(), server.port, defaultfromemail="info@example.net")
    assert [call("smtps_check", {"idsmtp": idsmtp}).status for _ in range(2)] == [200, 200]
    limited = call("smtps_check", {"idsmtp": idsmtp})
    assert (limited.status, limited.json["error"]) == (429, "TOO_MANY_REQUESTS")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert len(server.sink.received) == 2  # the third never reached the server
    # Another account has its own allowance, and a missing server counts too (no free probing).
    other = call("smtps_check", {"idsmtp": "6741f0a2c3d4e5f6a7b8c9d0"}, account=ACCOUNT_B)
    assert other.json["error"] == "SMTP_NOT_FOUND"
    assert call("smtps_check", {"idsmtp": "6741f0a2c3d4e5f6a7b8c9d0"}).json["error"] == "TOO_MANY_REQUESTS"
