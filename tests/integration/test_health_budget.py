"""Scheduled probes of one account are bounded per UTC day (issue 22, defect 4 "Unbounded fan-out"):
sweep -> queue -> worker in moto, a fake clock, an aiosmtpd peer counting what reaches it.

Every server used to get its scheduled probes whatever its account had: with PROBES_PER_ACCOUNT_DAY, the
probes of an account beyond it that day are not made, and their servers wait for the next day's first hour;
none is lost, and other accounts are not held back.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ok
from tests.support.aws import ACCOUNTS_TABLE, SMTPS_TABLE
from tests.support.health import history
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, call

DAY = 86_400
BUDGET = 3


@pytest.fixture(autouse=True)
def _budget(health: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 probes a day an account; probes every 48 h, so that a probed server is due again only after the
    next day's first hour (each server's phase is a hash of its random id)."""
    monkeypatch.setenv("PROBES_PER_ACCOUNT_DAY", str(BUDGET))
    monkeypatch.setenv("HEALTH_INTERVAL_HOURS", "48")


def servers(port: int, count: int, account: str = ACCOUNT_A) -> list[str]:
    app = ok(call("apps_save", {"name": f"Shop {account}", "testemail": "ops@example.org"}, account=account))
    params = {"idapp": app["_id"], "host": "127.0.0.1", "port": port, "defaultfromemail": "i@example.net"}
    return [str(ok(call("smtps_save", params, account=account))["_id"]) for _ in range(count)]


def nextcheck(aws: Any, idsmtp: str) -> int:
    item = aws.dynamodb.get_item(TableName=SMTPS_TABLE, Key={"_id": {"S": idsmtp}}, ConsistentRead=True)
    return int(item["Item"]["nextcheck"]["N"])


def scheduled_results(idsmtp: str, account: str = ACCOUNT_A) -> int:
    found = ok(call("smtps_history", {"idsmtp": idsmtp}, account=account))
    return sum(entry["trigger"] == "scheduled" for entry in found)


def test_probes_beyond_the_daily_budget_wait_for_the_next_day_and_none_is_lost(
    aws: Any, health: Any, flaky: Any
) -> None:
    # given 5 servers of one account and 1 of another, all due (within one interval of their creation)
    mine = servers(flaky.port, 5)
    (theirs,) = servers(flaky.port, 1, account=ACCOUNT_B)
    health.clock.advance(2 * DAY)
    today = int(health.clock.now) // DAY
    # when the sweep queues them and the worker takes them
    assert health.sweep()["active"] == 6
    health.deliver()
    # then the account's budget of them was probed, and the other account's one too
    probed = [idsmtp for idsmtp in mine if scheduled_results(idsmtp) == 1]
    waiting = [idsmtp for idsmtp in mine if idsmtp not in probed]
    assert len(probed) == BUDGET
    assert scheduled_results(theirs, ACCOUNT_B) == 1
    assert flaky.sink.rcpts == BUDGET + 1
    # and the rest wait for the first hour of the next UTC day, unprobed, their records otherwise as they were
    next_day = (today + 1) * DAY
    assert all(next_day <= nextcheck(aws, idsmtp) < next_day + 3600 for idsmtp in waiting)
    assert all(ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["lastcheck"] is None for idsmtp in waiting)
    assert health.sweep()["active"] == 0  # nothing is due again today
    # and the day's count is kept in the accounts table, with an expiry
    counter = aws.dynamodb.get_item(
        TableName=ACCOUNTS_TABLE, Key={"pk": {"S": f"probes#{ACCOUNT_A}#{today}"}}, ConsistentRead=True
    )["Item"]
    assert int(counter["count"]["N"]) == BUDGET
    assert int(counter["expires"]["N"]) > next_day

    # when the next day's first hour has passed
    health.clock.now = next_day + 3600
    assert health.sweep()["active"] == len(waiting)  # the probed ones are due two days on, not now
    health.deliver()
    # then the waiting ones are probed: each server has had exactly one scheduled probe, none lost
    assert [scheduled_results(idsmtp) for idsmtp in mine] == [1] * 5
    assert flaky.sink.rcpts == 5 + 1
    assert all(len(history(idsmtp)) == 1 for idsmtp in mine)


def test_a_manual_check_is_not_held_back_by_a_spent_daily_budget(health: Any, flaky: Any) -> None:
    mine = servers(flaky.port, BUDGET + 1)
    health.clock.advance(2 * DAY)
    health.sweep()
    health.deliver()
    waiting = [idsmtp for idsmtp in mine if not history(idsmtp)]
    assert len(waiting) == 1
    assert call("smtps_check", {"idsmtp": waiting[0], "mode": "probe"}).status == 200
    assert [(entry["trigger"], entry["ok"]) for entry in history(waiting[0])] == [("manual", True)]


def test_the_budget_is_counted_across_batches_and_redeliveries(health: Any, flaky: Any) -> None:
    """A message delivered twice is one probe (the claim), and counts once against the budget."""
    mine = servers(flaky.port, BUDGET + 2)
    health.clock.advance(2 * DAY)
    health.sweep()
    answers = health.deliver(times=2)
    assert all(answer == {"batchItemFailures": []} for answer in answers)
    assert sum(scheduled_results(idsmtp) for idsmtp in mine) == BUDGET
    assert flaky.sink.rcpts == BUDGET
