"""smtphub.settings: the template's environment variables, read once per container and checked."""

from __future__ import annotations

import dataclasses

import pytest

from local_runtime import template
from smtphub import wiring
from smtphub.settings import Settings, SettingsError, get_settings
from tests.support.aws import APPS_TABLE, SECRET_PREFIX, SMTPS_TABLE

ENV = {"APPS_TABLE": "apps", "SMTPS_TABLE": "smtps", "SECRET_PREFIX": "stack/api/smtp/"}


def test_reads_the_functions_environment() -> None:
    settings = get_settings()
    assert settings.apps_table == APPS_TABLE
    assert settings.smtps_table == SMTPS_TABLE
    assert settings.secret_prefix == SECRET_PREFIX
    assert settings.stage == "api"
    assert settings.allow_private_addresses is False
    assert settings.secret_recovery_days == 7


def test_read_once_per_environment_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Functions that share one process with different environments (the local runtime) each get their
    own settings; each environment is read once."""
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("APPS_TABLE", "other")
    other = get_settings()
    assert other.apps_table == "other"
    assert get_settings() is other
    monkeypatch.setenv("APPS_TABLE", first.apps_table)
    assert get_settings() is first
    wiring.reset()
    assert get_settings() is not first
    assert get_settings() == first


@pytest.mark.parametrize("missing", ["APPS_TABLE", "SMTPS_TABLE", "SECRET_PREFIX"])
def test_each_table_and_the_prefix_are_required(missing: str) -> None:
    with pytest.raises(SettingsError, match=f"{missing} is required"):
        Settings.from_environ({k: v for k, v in ENV.items() if k != missing})
    with pytest.raises(SettingsError, match=f"{missing} is required"):
        Settings.from_environ({**ENV, missing: ""})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({"SECRET_PREFIX": "no-slash", "SECRET_RECOVERY_DAYS": "3"})
    message = str(error.value)
    for name in ("APPS_TABLE", "SMTPS_TABLE", "SECRET_PREFIX", "SECRET_RECOVERY_DAYS"):
        assert name in message


@pytest.mark.parametrize("prefix", ["stack/api/smtp", "stack api/", "stack/*/", "stack/api/smtp/\n"])
def test_the_secret_prefix_is_a_secret_name_path_ending_in_a_slash(prefix: str) -> None:
    with pytest.raises(SettingsError, match="SECRET_PREFIX"):
        Settings.from_environ({**ENV, "SECRET_PREFIX": prefix})


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("FALSE", False), ("1", True), ("0", False)])
def test_allow_private_addresses(raw: str, value: bool) -> None:
    settings = Settings.from_environ({**ENV, "ALLOW_PRIVATE_ADDRESSES": raw})
    assert settings.allow_private_addresses is value


def test_allow_private_addresses_refuses_nonsense() -> None:
    with pytest.raises(SettingsError, match="ALLOW_PRIVATE_ADDRESSES"):
        Settings.from_environ({**ENV, "ALLOW_PRIVATE_ADDRESSES": "perhaps"})


def test_recovery_window_is_secrets_managers_7_to_30_days() -> None:
    assert Settings.from_environ({**ENV, "SECRET_RECOVERY_DAYS": "30"}).secret_recovery_days == 30
    for bad in ("6", "31", "seven", "-7"):
        with pytest.raises(SettingsError, match="SECRET_RECOVERY_DAYS"):
            Settings.from_environ({**ENV, "SECRET_RECOVERY_DAYS": bad})


def test_check_deadline_is_bounded_inside_api_gateways_29_seconds() -> None:
    assert Settings.from_environ(ENV).check_deadline_seconds == 20.0
    assert Settings.from_environ({**ENV, "CHECK_DEADLINE_SECONDS": "1.5"}).check_deadline_seconds == 1.5
    for bad in ("0", "-1", "26", "soon", "nan", "inf"):
        with pytest.raises(SettingsError, match="CHECK_DEADLINE_SECONDS"):
            Settings.from_environ({**ENV, "CHECK_DEADLINE_SECONDS": bad})


def test_settings_are_frozen() -> None:
    settings = Settings.from_environ(ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.stage = "v2"  # type: ignore[misc]


def test_the_template_passes_every_required_setting_to_every_function() -> None:
    """The required variables are in the Globals, so every function gets them, under the stage's prefix."""
    variables = template.default()["Globals"]["Function"]["Environment"]["Variables"]
    assert {"APPS_TABLE", "SMTPS_TABLE", "SECRET_PREFIX", "STAGE"} <= set(variables)
    assert variables["APPS_TABLE"] == {"Ref": "AppsTable"}
    assert variables["SMTPS_TABLE"] == {"Ref": "SmtpsTable"}
    assert variables["SECRET_PREFIX"] == {"Fn::Sub": "${AWS::StackName}/${StageName}/smtp/"}
    assert variables["STAGE"] == {"Ref": "StageName"}


def test_quotas_default_to_the_issues_figures_and_are_bounded() -> None:
    settings = Settings.from_environ(ENV)
    assert (settings.apps_per_account, settings.smtps_per_app, settings.smtps_per_account) == (50, 20, 200)
    given = Settings.from_environ(
        {**ENV, "APPS_PER_ACCOUNT": "0", "SMTPS_PER_APP": "7", "SMTPS_PER_ACCOUNT": "9"}
    )
    assert (given.apps_per_account, given.smtps_per_app, given.smtps_per_account) == (0, 7, 9)
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({**ENV, "APPS_PER_ACCOUNT": "-1", "SMTPS_PER_APP": "many"})
    assert "APPS_PER_ACCOUNT" in str(refused.value)
    assert "SMTPS_PER_APP" in str(refused.value)


@pytest.mark.parametrize(
    ("environ", "budget"),
    [
        ({}, 400),  # 200 servers, probed once a day, and once more for the retries of those that fail
        ({"HEALTH_INTERVAL_HOURS": "1"}, 200 * 25),
        ({"HEALTH_INTERVAL_HOURS": "5"}, 200 * 6),  # ceil(24 / 5) = 5 a day
        ({"HEALTH_INTERVAL_HOURS": "48"}, 200 * 2),
        ({"HEALTH_INTERVAL_HOURS": "0"}, 200),  # disabled servers' retries only
        ({"SMTPS_PER_ACCOUNT": "10"}, 20),
        ({"SMTPS_PER_ACCOUNT": "0", "HEALTH_INTERVAL_HOURS": "0"}, 1),
        ({"PROBES_PER_ACCOUNT_DAY": "7"}, 7),  # given: as it is
    ],
)
def test_the_daily_probe_budget_is_derived_from_the_quota_and_the_interval(
    environ: dict[str, str], budget: int
) -> None:
    assert Settings.from_environ({**ENV, **environ}).probe_budget == budget


def test_the_template_passes_the_quotas_to_every_function_and_the_budget_to_the_worker() -> None:
    document = template.default()
    variables = document["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["APPS_PER_ACCOUNT"] == {"Ref": "AppsPerAccount"}
    assert variables["SMTPS_PER_APP"] == {"Ref": "SmtpsPerApp"}
    assert variables["SMTPS_PER_ACCOUNT"] == {"Ref": "SmtpsPerAccount"}
    worker = document["Resources"]["HealthWorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert worker["PROBES_PER_ACCOUNT_DAY"] == {"Ref": "ScheduledProbesPerAccountDay"}
    parameters = document["Parameters"]
    defaults = {
        name: parameters[name]["Default"] for name in ("AppsPerAccount", "SmtpsPerApp", "SmtpsPerAccount")
    }
    assert defaults == {"AppsPerAccount": 50, "SmtpsPerApp": 20, "SmtpsPerAccount": 200}
    assert parameters["ScheduledProbesPerAccountDay"]["Default"] == 0  # derived
