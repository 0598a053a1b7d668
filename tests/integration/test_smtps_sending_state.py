"""An SMTP server's sending settings (maxperminute, maxperday: saved, validated, returned) and its shared
fault state (smtphub.smtps.faults: cooldown, faults, numerrors; disabled after a run of faults), written by
conditional UpdateItems that never touch what an edit writes, and ended by a success."""

from __future__ import annotations

from typing import Any

import pytest

from smtphub import wiring
from smtphub.smtps.results import CheckResult
from tests.support.api import bad, new_app, new_smtp, ok, stored
from tests.support.lambdas import call

NOW = 1_795_514_400


def test_the_limits_are_saved_returned_and_lifted_with_0(aws: Any) -> None:
    created = new_smtp(new_app(), maxperminute=30, maxperday="100000")
    assert (created["maxperminute"], created["maxperday"]) == (30, 100_000)
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]}))["maxperminute"] == 30

    edited = ok(call("smtps_save", {"idsmtp": created["_id"], "maxperminute": 0}))
    assert (edited["maxperminute"], edited["maxperday"]) == (None, 100_000)
    item = stored(aws, created["_id"])
    assert item is not None
    assert "maxperminute" not in item
    assert item["maxperday"] == {"N": "100000"}
    # a blank value is an absent one: the limit stays
    kept = ok(call("smtps_save", {"idsmtp": created["_id"], "maxperday": " "}))
    assert kept["maxperday"] == 100_000


@pytest.mark.parametrize("value", ["1000001", "-1", "1.5", "ten", "1e3"])
def test_a_limit_out_of_range_is_a_400_naming_it(aws: Any, value: str) -> None:
    problems = bad(call("smtps_save", {"idapp": new_app(), "host": "h.example.net", "port": 25,
                                       "maxperminute": value, "maxperday": value}))  # fmt: skip
    expected = "must be an integer from 0 to 1000000"
    assert problems == {"maxperminute": expected, "maxperday": expected}


def a_server(aws: Any, app: str = "Shop") -> str:
    return str(new_smtp(new_app(app), maxperminute=5)["_id"])


def numbers(aws: Any, idsmtp: str) -> dict[str, Any]:
    item = stored(aws, idsmtp)
    assert item is not None
    found = {name: int(item[name]["N"]) for name in ("faults", "cooldown", "numerrors") if name in item}
    return {**found, "status": item["status"]["S"]}


def test_a_fault_cools_the_server_down_and_is_counted_once_per_cool_down(aws: Any) -> None:
    idsmtp = a_server(aws)
    repository = wiring.smtp_repository()
    assert "faults" not in (stored(aws, idsmtp) or {})  # a new server stores no run of faults

    first = repository.record_fault(idsmtp, now=NOW, cooldown_until=NOW + 30)
    assert first is not None
    assert (first.faults, first.cooldown, first.numerrors) == (1, NOW + 30, 1)
    # another sender, talking to the server when it went down, reports the same outage: nothing written
    assert repository.record_fault(idsmtp, now=NOW + 1, cooldown_until=NOW + 31) is None
    assert numbers(aws, idsmtp) == {"faults": 1, "cooldown": NOW + 30, "numerrors": 1, "status": "A"}
    # once the cool-down is over, the next fault is the next in the run
    second = repository.record_fault(idsmtp, now=NOW + 30, cooldown_until=NOW + 90)
    assert second is not None
    assert numbers(aws, idsmtp) == {"faults": 2, "cooldown": NOW + 90, "numerrors": 2, "status": "A"}


def test_a_run_of_faults_disables_the_server_once_and_a_success_since_prevents_it(aws: Any) -> None:
    idsmtp = a_server(aws)
    repository = wiring.smtp_repository()
    for n in range(3):
        repository.record_fault(idsmtp, now=NOW + 100 * n, cooldown_until=NOW + 100 * n + 1)
    disabled = repository.disable_for_faults(idsmtp, faults=3, nextcheck=NOW + 600)
    assert disabled is not None
    assert (disabled.status, disabled.nextcheck) == ("D", NOW + 600)
    assert repository.disable_for_faults(idsmtp, faults=3, nextcheck=NOW + 900) is None  # once

    other = a_server(aws, "Other shop")
    repository.record_fault(other, now=NOW, cooldown_until=NOW + 1)
    assert repository.clear_faults(other) is True
    assert repository.disable_for_faults(other, faults=1, nextcheck=NOW + 600) is None
    assert numbers(aws, other) == {"numerrors": 1, "status": "A"}
    assert repository.clear_faults(other) is False  # nothing left to clear: no write


def test_an_edit_keeps_the_fault_state_and_a_passing_check_ends_it(aws: Any) -> None:
    idsmtp = a_server(aws)
    repository = wiring.smtp_repository()
    repository.record_fault(idsmtp, now=NOW, cooldown_until=NOW + 30)
    ok(call("smtps_save", {"idsmtp": idsmtp, "priority": 3, "maxperday": 50}))
    assert numbers(aws, idsmtp) == {"faults": 1, "cooldown": NOW + 30, "numerrors": 1, "status": "A"}

    smtp = repository.get(idsmtp)
    assert smtp is not None
    passed = CheckResult(at="2026-11-24T10:00:00.000Z", ok=True, stage=None, code=250, message="ok", ms=5)
    repository.record_check(smtp, passed)
    assert numbers(aws, idsmtp) == {"numerrors": 0, "status": "A"}
    item = stored(aws, idsmtp)
    assert item is not None
    assert (item["priority"], item["maxperday"]) == ({"N": "3"}, {"N": "50"})
