"""When a server is probed next (smtphub.health.schedule) and the health settings (issue 13)."""

from __future__ import annotations

import pytest

from smtphub.health.schedule import Schedule
from smtphub.settings import Settings, SettingsError

ENV = {"APPS_TABLE": "apps", "SMTPS_TABLE": "smtps", "SECRET_PREFIX": "stack/api/smtp/"}
HOUR = 3600
NOW = 1_795_514_400  # 2026-11-24T10:00:00Z


def test_a_failure_waits_the_backoff_step_of_its_rank_then_the_last_one_for_ever():
    schedule = Schedule(backoff=(300, 900, 3600, 21600, 86400))
    waits = [schedule.after_failure(failures, NOW) - NOW for failures in range(1, 9)]
    assert waits == [300, 900, 3600, 21600, 86400, 86400, 86400, 86400]


def test_active_servers_are_spread_over_the_interval_by_id_and_never_sooner_than_half_of_it():
    schedule = Schedule(interval_hours=24)
    ids = [f"{n:024x}" for n in range(2000)]
    nexts = [schedule.after_success(smtp_id, NOW) for smtp_id in ids]
    assert all(n is not None and NOW + 12 * HOUR < n <= NOW + 36 * HOUR for n in nexts)
    # spread: every hour of the day gets some of 2,000 servers, none gets more than twice its share
    by_hour = [0] * 24
    for n in nexts:
        assert n is not None
        by_hour[(n % 86400) // HOUR] += 1
    assert min(by_hour) > 0
    assert max(by_hour) < 2 * 2000 / 24
    # stable: the same server keeps its phase, whenever it was checked
    assert schedule.after_success(ids[7], NOW + 1234) % 86400 == nexts[7] % 86400


def test_a_new_server_joins_within_one_interval():
    schedule = Schedule(interval_hours=24)
    first = schedule.first("6741f0b7d1e2f3a4b5c6d7e8", NOW)
    assert first is not None
    assert NOW < first <= NOW + 24 * HOUR


def test_interval_zero_turns_the_periodic_probe_off():
    schedule = Schedule(interval_hours=0)
    assert schedule.after_success("6741f0b7d1e2f3a4b5c6d7e8", NOW) is None
    assert schedule.first("6741f0b7d1e2f3a4b5c6d7e8", NOW) is None
    assert schedule.after_failure(1, NOW) == NOW + 300  # disabled servers are still re-probed


def test_the_disable_threshold_is_1_for_manual_checks_and_disable_after_for_scheduled_ones():
    schedule = Schedule(disable_after=3)
    assert [schedule.disables(failures, scheduled=True) for failures in (1, 2, 3, 4)] == [
        False,
        False,
        True,
        True,
    ]
    assert schedule.disables(1, scheduled=False)


def test_the_health_settings_default_to_the_issue_s_values():
    settings = Settings.from_environ(ENV)
    assert settings.health_interval_hours == 24
    assert settings.health_backoff_seconds == (300, 900, 3600, 21600, 86400)
    assert settings.disable_after == 3
    assert settings.history_table == ""
    assert settings.health_queue_url == ""


def test_the_health_settings_are_read():
    settings = Settings.from_environ(
        {
            **ENV,
            "HEALTH_INTERVAL_HOURS": "0",
            "HEALTH_BACKOFF_SECONDS": " 10, 30 ,60,300",
            "DISABLE_AFTER": "5",
            "HISTORY_TABLE": "history",
            "HEALTH_QUEUE_URL": "https://sqs.example/queue",
        }
    )
    assert (settings.health_interval_hours, settings.health_backoff_seconds) == (0, (10, 30, 60, 300))
    assert (settings.disable_after, settings.history_table) == (5, "history")
    assert settings.health_queue_url == "https://sqs.example/queue"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEALTH_INTERVAL_HOURS", "-1"),
        ("HEALTH_INTERVAL_HOURS", "1.5"),
        ("HEALTH_INTERVAL_HOURS", "9000"),
        ("HEALTH_BACKOFF_SECONDS", ""),
        ("HEALTH_BACKOFF_SECONDS", "10,x"),
        ("HEALTH_BACKOFF_SECONDS", "0"),
        ("DISABLE_AFTER", "0"),
    ],
)
def test_bad_health_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_environ({**ENV, name: value})


@pytest.mark.parametrize("interval", [0, 1, 24])
def test_a_probe_beyond_the_daily_budget_waits_for_the_first_hour_of_the_next_utc_day(interval):
    schedule = Schedule(interval_hours=interval)
    now = 1_795_514_400 + 13 * 3600 + 17  # 2026-11-24T23:00:17Z
    midnight = 1_795_564_800  # 2026-11-25T00:00:00Z
    deferred = {schedule.next_day(f"{n:024x}", now) for n in range(200)}
    assert all(midnight <= at < midnight + 3600 for at in deferred)
    assert len(deferred) > 150  # spread over the hour, not all at midnight
    assert schedule.next_day("a" * 24, now) == schedule.next_day("a" * 24, midnight - 1)  # stable per server
    assert schedule.next_day("a" * 24, midnight) >= midnight + 86_400  # from midnight on, the day after
