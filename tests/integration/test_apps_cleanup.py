"""AppsCleanupFunction: the SMTP servers an app's removal missed (the byApp index lags behind a create),
removed from the apps table's stream on moto; their secrets then go through the servers' stream."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime import events
from smtphub import wiring
from smtphub.apps import cleanup
from smtphub.smtps.repository import SmtpRepository
from tests.support.api import (
    Failing,
    NoCalls,
    client_error,
    error,
    new_app,
    new_smtp,
    ok,
    scheduled_for_deletion,
)
from tests.support.aws import Stream
from tests.support.lambdas import ACCOUNT_A, call

STREAM = events.stream_arn("test-AppsTable")
NO_APP: Any = None  # the cleanup never writes a server, so it needs no app condition
NO_QUOTAS: Any = None  # nor counts one, where nothing is found


@pytest.fixture(autouse=True)
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index is up to date in moto: no wait (the wait itself is tested on `clean` below)."""
    monkeypatch.setattr(cleanup, "SETTLE_SECONDS", 0.0)


def removed_while_the_index_lags(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """An app with a server, removed while the byApp index does not show the server yet: (app, server)."""
    idapp = new_app("Racing")
    idsmtp = new_smtp(idapp)["_id"]
    with monkeypatch.context() as lagging:
        lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
        assert call("apps_remove", {"idapp": idapp}).status == 200
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["idapp"] == idapp  # it outlived its app
    return idapp, idsmtp


def removal(idapp: str, sequence: int, created: float | None = None) -> dict[str, Any]:
    keys = {"iduser": {"S": ACCOUNT_A}, "_id": {"S": idapp}}
    return events.build_stream_record("REMOVE", keys, str(sequence), stream_arn=STREAM, created=created)


def test_a_server_the_removal_missed_goes_with_its_secret(
    aws: Any, apps_stream: Stream, stream: Stream, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    # given a server that outlived its app's removal
    idapp, idsmtp = removed_while_the_index_lags(monkeypatch)
    # when the apps table's stream reaches the cleanup
    apps_stream.drain()
    # then the server is gone, and the servers' stream schedules its secret for deletion
    assert apps_stream.answers == [{"batchItemFailures": []}]
    error(call("smtps_find_by_id", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)
    (warning,) = [
        line for line in json_logs() if line["message"] == "removed servers that outlived their app"
    ]
    assert (warning["idapp"], warning["idsmtp"]) == (idapp, [idsmtp])
    tally = [line for line in json_logs() if line["message"] == "apps cleaned up"][-1]
    assert (tally["apps"], tally["deleted"], tally["failed"]) == (1, 1, 0)


def test_renames_reach_it_and_make_no_call(aws: Any, apps_stream: Stream, json_logs: Any) -> None:
    """A rename deletes the old name's lock item: a REMOVE of the apps table that is not an app."""
    # given an app renamed, whose create and rename the stream has not delivered yet
    idapp = new_app("Before")
    ok(call("apps_save", {"idapp": idapp, "name": "After"}))
    # when they reach the cleanup, then nothing is asked of DynamoDB
    wiring.smtp_repository().client = NoCalls()
    apps_stream.drain()
    assert apps_stream.answers == [{"batchItemFailures": []}]
    tally = [line for line in json_logs() if line["message"] == "apps cleaned up"][-1]
    assert (tally["apps"], tally["skipped"]) == (0, 1)


class Hooks:
    """The webhook secrets, as the cleanup sees them: what it deleted."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, app_id: str) -> bool:
        self.deleted.append(app_id)
        return True


def test_a_server_moved_to_another_app_meanwhile_stays(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a server the index still lists under an app that was removed, though it now belongs to another
    removed, kept = new_app("Removed"), new_app("Kept")
    idsmtp = new_smtp(kept)["_id"]
    monkeypatch.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {idsmtp: True})
    # when the removal of the first app reaches the cleanup
    answer = cleanup.clean(
        events.build_stream_event([removal(removed, 1)]), wiring.smtp_repository(), wiring.webhook_secrets()
    )
    # then the server is still there, in its app
    assert answer == {"batchItemFailures": []}
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["idapp"] == kept


def test_a_failing_query_is_reported_then_done_on_the_retry(
    aws: Any, apps_stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server that outlived its app's removal, and DynamoDB throttling the cleanup's query
    _, idsmtp = removed_while_the_index_lags(monkeypatch)
    failing = client_error("ProvisionedThroughputExceededException", "Query")
    wiring.smtp_repository().client = Failing(aws.dynamodb, "query", failing)
    # when the stream reaches the cleanup, then the record is reported for a retry
    apps_stream.drain()
    assert len(apps_stream.answers[-1]["batchItemFailures"]) == 1
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))
    # when Lambda retries it, then the server is gone
    wiring.smtp_repository().client = aws.dynamodb
    apps_stream.drain()
    assert apps_stream.answers[-1] == {"batchItemFailures": []}
    error(call("smtps_find_by_id", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")


@pytest.mark.parametrize(("age", "waits"), [(0, [5.0]), (2, [3.0]), (5, []), (60, [])])
def test_it_waits_once_until_the_newest_removal_is_settle_seconds_old(
    monkeypatch: pytest.MonkeyPatch, age: int, waits: list[float]
) -> None:
    """Stream records carry their time in whole seconds, as DynamoDB's do."""
    monkeypatch.setattr(cleanup, "SETTLE_SECONDS", 5.0)
    now = 1_800_000_000.0
    records = [removal("a" * 24, 1, created=now - 100), removal("b" * 24, 2, created=now - age)]
    slept: list[float] = []
    repository = SmtpRepository(NoIndex(), "test-SmtpsTable", NO_APP, NO_QUOTAS)  # type: ignore[arg-type]
    hooks = Hooks()
    answer = cleanup.clean(
        events.build_stream_event(records), repository, hooks, clock=lambda: now, sleep=slept.append
    )
    assert answer == {"batchItemFailures": []}
    assert slept == waits
    assert hooks.deleted == ["a" * 24, "b" * 24]


def test_a_batch_of_renames_only_does_not_wait() -> None:
    lock = events.build_stream_record(
        "REMOVE", {"iduser": {"S": ACCOUNT_A}, "_id": {"S": "#name#before"}}, "1", stream_arn=STREAM
    )
    slept: list[float] = []
    repository = SmtpRepository(NoCalls(), "test-SmtpsTable", NO_APP, NO_QUOTAS)  # type: ignore[arg-type]
    hooks = Hooks()
    assert cleanup.clean(events.build_stream_event([lock]), repository, hooks, sleep=slept.append) == {
        "batchItemFailures": []
    }
    assert slept == []
    assert hooks.deleted == []


class NoIndex:
    """A DynamoDB client whose byApp index lists no server."""

    def query(self, **request: Any) -> dict[str, Any]:
        assert request["IndexName"] == "byApp"
        return {"Items": []}
