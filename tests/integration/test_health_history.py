"""GET /private/smtps/history (the last 50 results, newest first, owned like every read) and the alerts on
the default bus: status changes, and an expiring certificate once (issue 13)."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest

from smtphub.health.history import KEEP, TTL_DAYS
from tests.support.aws import HISTORY_TABLE
from tests.support.health import create_server, history
from tests.support.lambdas import ACCOUNT_B, call
from tests.support.smtp_peers import running_smtpd


@pytest.fixture(autouse=True)
def _moto_health(health):
    return health


def test_history_is_newest_first_with_a_limit(health, flaky):
    idsmtp = create_server(flaky.port)
    assert history(idsmtp) == []
    for mode in ("send", "probe", "probe"):
        assert call("smtps_check", {"idsmtp": idsmtp, "mode": mode}).status == 200
    entries = history(idsmtp)
    assert [entry["mode"] for entry in entries] == ["probe", "probe", "send"]
    assert entries[0]["at"] >= entries[1]["at"] >= entries[2]["at"]
    assert [entry["mode"] for entry in history(idsmtp, limit=2)] == ["probe", "probe"]
    first = entries[-1]
    assert set(first) >= {
        "at",
        "ok",
        "stage",
        "code",
        "message",
        "ms",
        "mode",
        "stages",
        "tls",
        "capabilities",
    }
    assert (first["trigger"], first["status"]) == ("manual", "A")


def test_history_keeps_the_last_50_and_each_expires_in_30_days(health, flaky, aws):
    idsmtp = create_server(flaky.port)
    for _ in range(KEEP + 3):
        assert call("smtps_check", {"idsmtp": idsmtp, "mode": "probe"}).status == 200
    items = aws.dynamodb.query(
        TableName=HISTORY_TABLE,
        KeyConditionExpression="idsmtp = :id",
        ExpressionAttributeValues={":id": {"S": idsmtp}},
    )["Items"]
    assert sorted(int(item["seq"]["N"]) for item in items) == list(range(4, KEEP + 4))
    expires = int(items[0]["expires"]["N"])
    assert expires == int(health.clock.now) + TTL_DAYS * 86400
    assert len(history(idsmtp, limit=50)) == 50


def test_another_account_s_server_has_no_history(health, flaky):
    idsmtp = create_server(flaky.port)
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    reply = call("smtps_history", {"idsmtp": idsmtp}, account=ACCOUNT_B)
    assert (reply.status, reply.json["error"]) == (406, "SMTP_NOT_FOUND")
    missing = call("smtps_history", {"idsmtp": "0" * 24})
    assert (missing.status, missing.json["error"]) == (406, "SMTP_NOT_FOUND")


@pytest.mark.parametrize("limit", ["0", "51", "ten"])
def test_the_limit_is_1_to_50(health, limit):
    reply = call("smtps_history", {"idsmtp": "0" * 24, "limit": limit})
    assert (reply.status, list(reply.json["fields"])) == (400, ["limit"])


def expiring_peer(ca, days: int):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=days, hours=1)
    ca.issue_cert("localhost", not_after=not_after).configure_cert(context)
    return running_smtpd(tls_context=context, require_starttls=True)


def test_a_certificate_expiring_within_14_days_is_announced_once(health, ca, trust_test_ca):
    with expiring_peer(ca, 5) as server:
        idsmtp = create_server(server.port, host="localhost", starttls=True)
        for _ in range(2):
            assert call("smtps_check", {"idsmtp": idsmtp, "mode": "probe"}).status == 200
    (event,) = health.events()
    assert event["type"] == "SMTP certificate expiring"
    assert (event["idsmtp"], event["host"], event["port"], event["daysLeft"]) == (
        idsmtp,
        "localhost",
        server.port,
        5,
    )
    assert event["notAfter"].endswith("Z")
    assert history(idsmtp)[0]["tls"]["daysLeft"] == 5


def test_a_certificate_with_time_left_is_not_announced(health, ca, trust_test_ca):
    with expiring_peer(ca, 60) as server:
        idsmtp = create_server(server.port, host="localhost", starttls=True)
        assert call("smtps_check", {"idsmtp": idsmtp, "mode": "probe"}).status == 200
    assert health.events() == []


def test_events_carry_no_secret(health, flaky):
    password = "Pw-s3cret-alert-1234"
    idsmtp = create_server(
        flaky.port, auth=True, username="u@example.net", password=password, insecureauth=True
    )
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    events = health.events()
    assert [event["type"] for event in events] == ["SMTP server disabled"]
    assert password not in str(events)
    assert set(events[0]) == {
        "type", "idsmtp", "idapp", "iduser", "host", "port", "status", "trigger", "mode", "stage", "code",
        "message", "at",
    }  # fmt: skip
