"""The scheduled path end to end in moto (issue 13): sweep -> queue -> worker -> record -> event, against
aiosmtpd peers that fail and recover, with the local runtime's backoff (10, 30, 60, 300 s) and a fake clock.
"""

from __future__ import annotations

import pytest

from tests.support.health import create_server, history, server_json
from tests.support.lambdas import call


@pytest.fixture(autouse=True)
def _moto_health(health):
    return health


def test_a_disabled_server_is_reprobed_with_backoff_and_reenabled_when_a_probe_passes(health, flaky):
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406  # a manual failure disables at once
    assert (server_json(idsmtp)["status"], server_json(idsmtp)["numerrors"]) == ("D", 1)
    (disabled,) = health.events()
    assert disabled["type"] == "SMTP server disabled"
    assert (disabled["idsmtp"], disabled["stage"], disabled["code"]) == (idsmtp, "RCPT", 550)
    assert disabled["trigger"] == "manual"

    assert health.sweep()["disabled"] == 0  # due in 10 s, not now
    for wait, numerrors in ((10, 2), (30, 3), (60, 4)):  # each failure waits the next step
        health.clock.advance(wait - 1)
        assert health.sweep()["disabled"] == 0
        health.clock.advance(1)
        assert health.sweep()["disabled"] == 1
        health.deliver()
        smtp = server_json(idsmtp)
        assert (smtp["status"], smtp["numerrors"], smtp["lastcheck"]["mode"]) == ("D", numerrors, "probe")
    assert health.events() == []  # still disabled: no change, no event

    flaky.sink.failing = False
    health.clock.advance(300)
    assert health.sweep()["disabled"] == 1
    health.deliver()
    smtp = server_json(idsmtp)
    assert (smtp["status"], smtp["numerrors"], smtp["lastcheck"]["ok"]) == ("A", 0, True)
    (enabled,) = health.events()
    assert (enabled["type"], enabled["idsmtp"], enabled["trigger"]) == (
        "SMTP server enabled",
        idsmtp,
        "scheduled",
    )
    assert flaky.sink.received == []  # probes never send a message
    assert [(entry["trigger"], entry["ok"], entry["status"]) for entry in history(idsmtp)] == [
        ("scheduled", True, "A"),
        ("scheduled", False, "D"),
        ("scheduled", False, "D"),
        ("scheduled", False, "D"),
        ("manual", False, "D"),
    ]


def test_the_last_backoff_step_repeats(health, flaky):
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    for wait in (10, 30, 60, 300, 300, 300):
        health.clock.advance(wait)
        assert health.sweep()["disabled"] == 1
        health.deliver()
    assert server_json(idsmtp)["numerrors"] == 7


def test_an_active_server_is_probed_each_interval_and_disabled_after_three_failed_probes(
    health, flaky, monkeypatch
):
    monkeypatch.setenv("HEALTH_INTERVAL_HOURS", "1")
    idsmtp = create_server(flaky.port)
    assert health.sweep() == {"disabled": 0, "active": 0, "pages": 2, "batches": 0}
    health.clock.advance(3600)  # within one interval of its creation
    assert health.sweep()["active"] == 1
    health.deliver()
    smtp = server_json(idsmtp)
    assert (smtp["status"], smtp["lastcheck"]["ok"], smtp["lastcheck"]["mode"]) == ("A", True, "probe")

    flaky.sink.failing = True
    health.clock.advance(5400)  # at most one and a half intervals later
    assert health.sweep()["active"] == 1
    health.deliver()
    assert (server_json(idsmtp)["status"], server_json(idsmtp)["numerrors"]) == ("A", 1)
    health.clock.advance(10)
    health.sweep()
    health.deliver()
    assert (server_json(idsmtp)["status"], server_json(idsmtp)["numerrors"]) == ("A", 2)
    assert health.events() == []
    health.clock.advance(30)
    health.sweep()
    health.deliver()
    assert (server_json(idsmtp)["status"], server_json(idsmtp)["numerrors"]) == ("D", 3)
    (disabled,) = health.events()
    assert (disabled["type"], disabled["trigger"], disabled["host"]) == (
        "SMTP server disabled",
        "scheduled",
        "127.0.0.1",
    )


def test_disable_after_is_a_setting(health, flaky, monkeypatch):
    monkeypatch.setenv("HEALTH_INTERVAL_HOURS", "1")
    monkeypatch.setenv("DISABLE_AFTER", "1")
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    health.clock.advance(3600)
    health.sweep()
    health.deliver()
    assert (server_json(idsmtp)["status"], server_json(idsmtp)["numerrors"]) == ("D", 1)


def test_interval_zero_probes_no_active_server(health, flaky, monkeypatch):
    monkeypatch.setenv("HEALTH_INTERVAL_HOURS", "0")
    create_server(flaky.port)
    health.clock.advance(10 * 86400)
    assert health.sweep() == {"disabled": 0, "active": 0, "pages": 1, "batches": 0}
    assert flaky.sink.rcpts == 0


def test_a_message_delivered_twice_records_one_result(health, flaky):
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    health.clock.advance(10)
    health.sweep()
    health.sweep()  # a second sweep before the worker ran: the same server twice on the queue
    (answer,) = health.deliver(times=2)  # and each message handed twice in its batch
    assert answer == {"batchItemFailures": []}
    assert flaky.sink.rcpts == 2  # the manual check and one probe
    assert [entry["trigger"] for entry in history(idsmtp)] == ["scheduled", "manual"]
    assert server_json(idsmtp)["numerrors"] == 2


def test_a_bad_message_is_reported_and_the_rest_of_the_batch_is_done(health, flaky):
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    health.send_raw("not json")
    health.clock.advance(10)
    health.sweep()
    (answer,) = health.deliver()
    assert len(answer["batchItemFailures"]) == 1  # left on the queue, for its dead-letter queue
    assert server_json(idsmtp)["numerrors"] == 2


def test_a_removed_server_is_not_probed(health, flaky):
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    health.clock.advance(10)
    health.sweep()
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    (answer,) = health.deliver()
    assert answer == {"batchItemFailures": []}
    assert flaky.sink.rcpts == 1


def test_a_manual_check_during_a_probe_wins(health, flaky):
    """The worker records only while it holds the server: a check made meanwhile moves nextcheck."""
    idsmtp = create_server(flaky.port)
    flaky.sink.failing = True
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
    health.clock.advance(10)
    health.sweep()
    flaky.sink.failing = False
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    health.deliver()  # the sweep's message: the server is no longer due at that time
    assert [entry["trigger"] for entry in history(idsmtp)] == ["manual", "manual"]
    assert server_json(idsmtp)["status"] == "A"
