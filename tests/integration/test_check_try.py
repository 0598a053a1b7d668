"""Try before you save (issue 13): smtps/check with a server's settings stores nothing; smtps/save with
verify=true stores only when a probe of the new settings passes. Both count as the account's checks."""

from __future__ import annotations

from typing import Any

import pytest

from smtphub.check.service import VERIFY_NEEDS
from tests.support.health import create_server, history, server_json
from tests.support.lambdas import ACCOUNT_B, call
from tests.support.smtp_peers import PASSWORD, USERNAME, running_smtpd


@pytest.fixture(autouse=True)
def _moto_health(health):
    return health


def new_app(name: str = "Try shop", **values: Any) -> str:
    reply = call("apps_save", {"name": name, "testemail": "ops@example.org", **values})
    assert reply.status == 200, reply.text
    return str(reply.json["_id"])


def settings(idapp: str, port: int, **values: Any) -> dict[str, Any]:
    return {"idapp": idapp, "host": "127.0.0.1", "port": port, "defaultfromemail": "i@example.net", **values}


def servers_of(idapp: str) -> list[dict[str, Any]]:
    reply = call("smtps_find_by_app", {"idapp": idapp})
    assert reply.status == 200, reply.text
    return list(reply.json)


def test_settings_are_tried_and_nothing_is_stored(flaky):
    idapp = new_app()
    reply = call("smtps_check", settings(idapp, flaky.port, mode="probe"))
    assert (reply.status, reply.text) == (200, "")
    assert flaky.sink.rcpts == 1
    assert flaky.sink.received == []  # probe: no message
    assert servers_of(idapp) == []
    assert call("smtps_check", settings(idapp, flaky.port)).status == 200  # send, the default
    assert len(flaky.sink.received) == 1


def test_a_failed_try_is_a_406_and_stores_nothing(flaky):
    idapp = new_app()
    flaky.sink.failing = True
    reply = call("smtps_check", settings(idapp, flaky.port, mode="probe"))
    assert (reply.status, reply.json["error"], reply.json["stage"], reply.json["code"]) == (
        406,
        "SMTP_CHECK_FAILED",
        "RCPT",
        550,
    )
    assert servers_of(idapp) == []


def test_a_try_takes_save_s_rules():
    idapp = new_app()
    reply = call("smtps_check", {"idapp": idapp, "host": "127.0.0.1", "auth": True, "username": USERNAME})
    assert reply.status == 400
    assert set(reply.json["fields"]) == {"port", "password"}


def test_another_account_s_app_is_not_found(flaky):
    idapp = new_app()
    reply = call("smtps_check", settings(idapp, flaky.port), account=ACCOUNT_B)
    assert (reply.status, reply.json["error"]) == (406, "APP_NOT_FOUND")
    assert flaky.sink.rcpts == 0


def test_idapp_alone_is_still_the_smtp_id_as_upstream_names_it(flaky):
    idsmtp = create_server(flaky.port)
    assert call("smtps_check", {"idapp": idsmtp}).status == 200
    assert history(idsmtp)[0]["trigger"] == "manual"


def test_over_a_stored_server_its_password_is_reused_where_it_may_go():
    with running_smtpd() as server:
        idsmtp = create_server(
            server.port, auth=True, username=USERNAME, password=PASSWORD, insecureauth=True
        )
        before = server_json(idsmtp)
        reply = call("smtps_check", {"idsmtp": idsmtp, "defaultfromname": "Tried", "mode": "probe"})
        assert (reply.status, reply.text) == (200, "")
        auths = [line for line in server.sink.commands if line.upper().startswith("AUTH ")]
        assert len(auths) == 1  # the stored password went to the stored server
        assert server_json(idsmtp) == before  # nothing stored: not the name, not a lastcheck
        assert history(idsmtp) == []


def test_over_a_stored_server_a_new_address_needs_the_password_again():
    with running_smtpd() as server, running_smtpd() as other:
        idsmtp = create_server(
            server.port, auth=True, username=USERNAME, password=PASSWORD, insecureauth=True
        )
        reply = call("smtps_check", {"idsmtp": idsmtp, "port": other.port})
        assert (reply.status, list(reply.json["fields"])) == (400, ["password"])
        assert other.sink.commands == []  # the stored password never went there
        again = call("smtps_check", {"idsmtp": idsmtp, "port": other.port, "password": PASSWORD})
        assert again.status == 200


def test_another_account_s_server_is_not_found_even_with_settings(flaky):
    idsmtp = create_server(flaky.port)
    reply = call("smtps_check", {"idsmtp": idsmtp, "port": flaky.port}, account=ACCOUNT_B)
    assert (reply.status, reply.json["error"]) == (406, "SMTP_NOT_FOUND")


def test_tries_and_verifies_count_as_checks(flaky, monkeypatch):
    monkeypatch.setenv("CHECKS_PER_MINUTE", "2")
    idapp = new_app()
    assert call("smtps_check", settings(idapp, flaky.port, mode="probe")).status == 200
    assert call("smtps_save", settings(idapp, flaky.port, verify=True)).status == 200
    refused = call("smtps_check", settings(idapp, flaky.port, mode="probe"))
    assert (refused.status, refused.json["error"]) == (429, "TOO_MANY_REQUESTS")
    refused = call("smtps_save", settings(idapp, flaky.port, verify=True))
    assert refused.status == 429
    assert len(servers_of(idapp)) == 1


# --- save with verify=true ---------------------------------------------------------------------------


def test_verify_stores_a_server_whose_probe_passes(flaky):
    idapp = new_app()
    reply = call("smtps_save", settings(idapp, flaky.port, verify=True))
    assert reply.status == 200, reply.text
    assert [smtp["_id"] for smtp in servers_of(idapp)] == [reply.json["_id"]]
    assert flaky.sink.received == []  # a probe


def test_verify_stores_nothing_when_the_probe_fails(flaky):
    idapp = new_app()
    flaky.sink.failing = True
    reply = call("smtps_save", settings(idapp, flaky.port, verify=True))
    assert (reply.status, reply.json["error"], reply.json["stage"]) == (406, "SMTP_CHECK_FAILED", "RCPT")
    assert servers_of(idapp) == []


def test_verify_leaves_an_edited_server_unchanged_when_the_probe_fails(flaky):
    idsmtp = create_server(flaky.port)
    before = server_json(idsmtp)
    with running_smtpd() as other:
        pass  # a port nothing listens on any more
    reply = call("smtps_save", {"idsmtp": idsmtp, "port": other.port, "verify": True})
    assert (reply.status, reply.json["error"], reply.json["stage"]) == (406, "SMTP_CHECK_FAILED", "CONNECT")
    assert server_json(idsmtp) == before
    assert call("smtps_save", {"idsmtp": idsmtp, "priority": 3, "verify": True}).status == 200
    assert server_json(idsmtp)["priority"] == 3


def test_verify_needs_the_password_sent_since_save_cannot_read_the_stored_one():
    with running_smtpd() as server:
        idsmtp = create_server(
            server.port, auth=True, username=USERNAME, password=PASSWORD, insecureauth=True
        )
        reply = call("smtps_save", {"idsmtp": idsmtp, "priority": 3, "verify": True})
        assert (reply.status, reply.json["fields"]) == (400, {"password": VERIFY_NEEDS})
        sent = call("smtps_save", {"idsmtp": idsmtp, "priority": 3, "verify": True, "password": PASSWORD})
        assert sent.status == 200, sent.text
        assert server_json(idsmtp)["priority"] == 3


def test_without_verify_save_contacts_nothing(flaky):
    idapp = new_app()
    flaky.sink.failing = True
    assert call("smtps_save", settings(idapp, flaky.port)).status == 200
    assert flaky.sink.rcpts == 0
