"""Alerts publishing is best effort once a result is stored: what EventBridge answers (an error, or no
answer) is logged and the result stands; anything else is a defect, raised for the recorder to log."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from smtphub.health.alerts import DISABLED, Alerts
from smtphub.health.history import HistoryEntry
from smtphub.smtps.models import Smtp
from smtphub.smtps.results import CheckResult
from tests.support.api import client_error

SMTP = Smtp(id="6741f0b7d1e2f3a4b5c6d7e8", app_id="6741f0a2c3d4e5f6a7b8c9d0", account_id="a", created="",
            modified="", host="smtp.example.net", port=587)  # fmt: skip
ENTRY = HistoryEntry(CheckResult("2026-11-23T10:00:00.000Z", False, "RCPT", 550, "refused"), "manual", "D")


class Failing:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def put_events(self, **request: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [client_error("ThrottlingException", "PutEvents"), EndpointConnectionError(endpoint_url="https://x")],
)
def test_an_eventbridge_failure_is_logged_and_the_result_stands(error: BaseException, json_logs: Any) -> None:
    assert Alerts(lambda: Failing(error)).after(SMTP, ENTRY, "A", None) == [DISABLED]
    lines = {line["message"]: line for line in json_logs()}
    assert lines["health events not published"]["failed"] == 1
    assert "Traceback" in lines["could not publish a health event"]["exception"]


def test_a_defect_is_not_mistaken_for_an_eventbridge_failure() -> None:
    with pytest.raises(ZeroDivisionError):
        Alerts(lambda: Failing(ZeroDivisionError())).after(SMTP, ENTRY, "A", None)
