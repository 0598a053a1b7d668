"""Per-account quotas (issue 22, defect 4 "Unbounded fan-out"), through the real handlers on moto.

One account could create apps and SMTP servers without limit. Now: apps per account, servers per app and
per account, each counted in the accounts table in the same transaction as the item it counts
(smtphub.accounts.quotas), so that no concurrency, removal path, failure half way or retry makes a count
drift. Each count is checked against the items themselves after every scenario.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from smtphub import wiring
from tests.support.api import (
    SERVER,
    Failing,
    app_items_of,
    at_once,
    client_error,
    counter_keys,
    counts,
    error,
    items,
    lost_to_a_concurrent_write,
    new_app,
    new_smtp,
    ok,
)
from tests.support.aws import Stream
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, Reply, call

APPS, PER_APP, PER_ACCOUNT = 3, 2, 4


@pytest.fixture
def quotas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small quotas, so that a test reaches them: 3 apps an account, 2 servers an app, 4 an account."""
    limits = {"APPS_PER_ACCOUNT": APPS, "SMTPS_PER_APP": PER_APP, "SMTPS_PER_ACCOUNT": PER_ACCOUNT}
    for name, value in limits.items():
        monkeypatch.setenv(name, str(value))
    wiring.reset()


def create_smtp(idapp: str, account: str = ACCOUNT_A) -> Reply:
    return call("smtps_save", {"idapp": idapp, **SERVER}, account=account)


def exceeded(reply: Reply) -> str:
    message: str = error(reply, 406, "QUOTA_EXCEEDED")["message"]
    return message


def true_counts(aws: Any, account: str = ACCOUNT_A) -> dict[str, int]:
    """What the counts must be: the account's counted apps and servers as the tables hold them."""
    found: Counter[str] = Counter()
    found["apps"] = sum("counted" in app for app in app_items_of(aws, account))
    found = +found  # counts of 0 left out, as `counts` leaves them
    for item in items(aws):
        if item["iduser"]["S"] == account and "counted" in item:
            found["smtps"] += 1
            found[f"smtps@{item['idapp']['S']}"] += 1
    return dict(found)


def assert_exact(aws: Any, account: str = ACCOUNT_A) -> None:
    assert counts(aws, account) == true_counts(aws, account)


# --- unbounded, reproduced -------------------------------------------------------------------------------


def test_a_server_beyond_the_apps_quota_is_refused(aws: Any, quotas: None) -> None:
    idapp = new_app()
    new_smtp(idapp)
    new_smtp(idapp)
    assert exceeded(create_smtp(idapp)) == "Quota exceeded: at most 2 SMTP servers per app"
    assert len(items(aws)) == 2  # nothing written
    assert_exact(aws)


def test_an_app_beyond_the_accounts_quota_is_refused(aws: Any, quotas: None) -> None:
    for n in range(APPS):
        new_app(f"App {n}")
    reply = call("apps_save", {"name": "One too many"})
    assert exceeded(reply) == "Quota exceeded: at most 3 apps per account"
    assert ok(call("apps_find_all", {}))["totalElements"] == APPS
    assert new_app("Bob's", account=ACCOUNT_B)  # another account's quota is its own
    assert_exact(aws)
    assert_exact(aws, ACCOUNT_B)


def test_a_server_beyond_the_accounts_quota_is_refused_in_any_of_its_apps(aws: Any, quotas: None) -> None:
    first, second, third = new_app("First"), new_app("Second"), new_app("Third")
    for idapp in (first, first, second, second):
        new_smtp(idapp)
    assert exceeded(create_smtp(third)) == "Quota exceeded: at most 4 SMTP servers per account"
    assert ok(call("smtps_find_by_app", {"idapp": third})) == []
    assert counts(aws) == {"apps": 3, "smtps": 4, f"smtps@{first}": 2, f"smtps@{second}": 2}
    assert_exact(aws)


def test_a_quota_of_zero_refuses_every_create_without_a_call(
    aws: Any, monkeypatch: pytest.MonkeyPatch, aws_calls: list[str]
) -> None:
    monkeypatch.setenv("APPS_PER_ACCOUNT", "0")
    wiring.reset()
    assert (
        exceeded(call("apps_save", {"name": "None allowed"})) == "Quota exceeded: at most 0 apps per account"
    )
    assert aws_calls == []


def test_a_quota_lowered_below_the_count_refuses_new_creates_only(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an app with 2 servers, and the quota lowered to 1
    idapp = new_app()
    kept, removed = new_smtp(idapp)["_id"], new_smtp(idapp)["_id"]
    monkeypatch.setenv("SMTPS_PER_APP", "1")
    wiring.reset()
    # then a create is refused, but the servers can still be read, edited, checked against and removed
    assert exceeded(create_smtp(idapp)) == "Quota exceeded: at most 1 SMTP servers per app"
    assert ok(call("smtps_save", {"idsmtp": kept, "priority": 1}))["priority"] == 1
    assert ok(call("smtps_remove", {"idsmtp": removed})) is None
    # one removed is one below the count, which is still not below the quota
    assert exceeded(create_smtp(idapp))
    assert ok(call("smtps_remove", {"idsmtp": kept})) is None
    assert ok(create_smtp(idapp))
    assert_exact(aws)


# --- concurrency -----------------------------------------------------------------------------------------


def test_concurrent_creates_never_overshoot(aws: Any, quotas: None) -> None:
    # given two apps, and 12 creates at once spread over them, more than both quotas allow
    first, second = new_app("First"), new_app("Second")
    apps = iter([first, second] * 6)
    lock = threading.Lock()

    def create() -> Reply:
        with lock:
            idapp = next(apps)
        return create_smtp(idapp)

    replies = at_once(12, create)
    # then exactly the account's quota of them was stored, and each one beyond was refused with the quota
    statuses = Counter(reply.status for reply in replies)
    assert statuses == {200: PER_ACCOUNT, 406: 12 - PER_ACCOUNT}
    assert {reply.json["error"] for reply in replies if reply.status == 406} == {"QUOTA_EXCEEDED"}
    assert len(items(aws)) == PER_ACCOUNT
    stored = Counter(item["idapp"]["S"] for item in items(aws))
    assert max(stored.values()) <= PER_APP
    assert_exact(aws)


def test_a_create_that_meets_another_on_a_counter_is_tried_again_and_counted_once(
    aws: Any, quotas: None
) -> None:
    """DynamoDB cancels one of two transactions on the same counter item (TransactionConflict): nothing of
    it was written, so it is tried again (moto serialises them and never answers so: injected here)."""
    idapp = new_app()
    once = iter([True])
    repository = wiring.smtp_repository()
    conflict = lost_to_a_concurrent_write(4)  # the app's condition, its 2 counters, the Put
    repository.client = Failing(
        aws.dynamodb, "transact_write_items", conflict, when=lambda _: next(once, False)
    )
    assert ok(create_smtp(idapp))
    assert repository.client.calls == 2
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{idapp}": 1}
    assert_exact(aws)


def test_concurrent_app_creates_never_overshoot(aws: Any, quotas: None) -> None:
    names = iter(f"App {n}" for n in range(8))
    lock = threading.Lock()

    def create() -> Reply:
        with lock:
            name = next(names)
        return call("apps_save", {"name": name})

    statuses = Counter(reply.status for reply in at_once(8, create))
    assert statuses == {200: APPS, 406: 8 - APPS}
    assert ok(call("apps_find_all", {}))["totalElements"] == APPS
    assert_exact(aws)


# --- every removal path gives the slot back ---------------------------------------------------------------


def test_remove_gives_the_servers_slots_back(aws: Any, quotas: None, aws_calls: list[str]) -> None:
    idapp = new_app()
    ids = [new_smtp(idapp)["_id"] for _ in range(PER_APP)]
    aws_calls.clear()
    assert ok(call("smtps_remove", {"idsmtp": ids[0]})) is None
    assert aws_calls == ["GetItem", "TransactWriteItems"]  # the record read, then deleted with its slots
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{idapp}": 1}
    assert ok(create_smtp(idapp))
    assert_exact(aws)


def test_a_retried_remove_gives_back_one_slot(aws: Any, quotas: None) -> None:
    idapp = new_app()
    idsmtp, _ = new_smtp(idapp)["_id"], new_smtp(idapp)["_id"]
    assert ok(call("smtps_remove", {"idsmtp": idsmtp})) is None
    error(call("smtps_remove", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{idapp}": 1}
    assert_exact(aws)


def test_another_accounts_remove_gives_nothing_back(aws: Any, quotas: None) -> None:
    idsmtp = new_smtp(new_app())["_id"]
    error(call("smtps_remove", {"idsmtp": idsmtp}, account=ACCOUNT_B), 406, "SMTP_NOT_FOUND")
    assert_exact(aws)
    assert counts(aws, ACCOUNT_B) == {}


def test_removing_an_app_gives_back_its_slot_and_its_servers(aws: Any, quotas: None) -> None:
    # given an account at every quota
    first, second, third = new_app("First"), new_app("Second"), new_app("Third")
    for idapp in (first, first, second, second):
        new_smtp(idapp)
    # when it removes an app with its servers
    assert call("apps_remove", {"idapp": first}).status == 200
    # then the app's slot and its servers' are given back, and the app's counter is gone
    assert counts(aws) == {"apps": 2, "smtps": 2, f"smtps@{second}": 2}
    assert f"quota#{ACCOUNT_A}#{first}" not in counter_keys(aws)
    assert ok(create_smtp(third))
    assert ok(create_smtp(third))
    assert new_app("Fourth")
    assert_exact(aws)
    # and a retried removal gives nothing back twice
    error(call("apps_remove", {"idapp": first}), 406, "APP_NOT_FOUND")
    assert_exact(aws)


def test_a_server_an_apps_removal_missed_gives_its_slot_back_when_cleaned_up(
    aws: Any, quotas: None, apps_stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtphub.apps import cleanup
    from smtphub.smtps.repository import SmtpRepository

    monkeypatch.setattr(cleanup, "SETTLE_SECONDS", 0.0)
    # given a server the byApp index did not show yet when its app was removed
    idapp, other = new_app("Racing"), new_app("Other")
    idsmtp = new_smtp(idapp)["_id"]
    with monkeypatch.context() as lagging:
        lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
        assert call("apps_remove", {"idapp": idapp}).status == 200
    assert counts(aws) == {"apps": 1, "smtps": 1}  # the app's counter went with the app; it still counts
    # when the apps' cleanup removes it (twice: Lambda may deliver a record again)
    apps_stream.drain()
    apps_stream.poller.poll()
    # then its slot is the account's again, and no counter of the removed app came back
    error(call("smtps_find_by_id", {"idsmtp": idsmtp}), 406, "SMTP_NOT_FOUND")
    assert counts(aws) == {"apps": 1}
    assert counter_keys(aws) == {f"quota#{ACCOUNT_A}"}
    assert ok(create_smtp(other))
    assert_exact(aws)


def test_removing_a_server_that_outlived_its_app_gives_back_the_accounts_slot(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtphub.smtps.repository import SmtpRepository

    idapp = new_app("Racing")
    idsmtp = new_smtp(idapp)["_id"]
    with monkeypatch.context() as lagging:
        lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
        assert call("apps_remove", {"idapp": idapp}).status == 200
    # before the cleanup gets to it, its owner removes it
    assert ok(call("smtps_remove", {"idsmtp": idsmtp})) is None
    assert counts(aws) == {}
    assert counter_keys(aws) == {f"quota#{ACCOUNT_A}"}  # the removed app's counter is not made again


def test_a_create_whose_secret_fails_gives_its_slots_back(aws: Any, quotas: None) -> None:
    idapp = new_app()
    new_smtp(idapp)
    repo = wiring.secret_repository()
    repo._client = Failing(aws.secrets, "create_secret", client_error("InternalServiceError", "CreateSecret"))
    error(create_smtp(idapp), 500, "INTERNAL_ERROR")
    assert len(items(aws)) == 1
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{idapp}": 1}
    repo._client = aws.secrets
    assert ok(create_smtp(idapp))  # the slot is there to take again
    assert_exact(aws)


def test_a_create_undone_after_its_app_was_removed_gives_back_the_accounts_slot(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret fails while the app's removal (missing the new server in its query) deletes the app and
    its counter: the undo gives back the account's slot and makes no counter of the removed app."""
    from smtphub.smtps.repository import SmtpRepository

    idapp = new_app()
    repo = wiring.secret_repository()

    def app_removed_then_fail(_request: Any) -> bool:
        with monkeypatch.context() as lagging:
            lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
            assert call("apps_remove", {"idapp": idapp}).status == 200
        return True

    failure = client_error("InternalServiceError", "CreateSecret")
    repo._client = Failing(aws.secrets, "create_secret", failure, when=app_removed_then_fail)
    error(create_smtp(idapp), 500, "INTERNAL_ERROR")
    assert items(aws) == []
    assert counts(aws) == {}
    assert counter_keys(aws) == {f"quota#{ACCOUNT_A}"}


# --- moving a server to another app --------------------------------------------------------------------


def test_a_move_takes_a_slot_of_the_new_app_and_gives_the_old_ones_back(aws: Any, quotas: None) -> None:
    # given two apps at their quota
    source, target = new_app("Source"), new_app("Target")
    moving = new_smtp(source)["_id"]
    new_smtp(source)
    leaving = new_smtp(target)["_id"]
    new_smtp(target)
    # when a server moves into the full one: refused, and nothing changes
    body = error(call("smtps_save", {"idsmtp": moving, "idapp": target}), 406, "QUOTA_EXCEEDED")
    assert body["message"] == "Quota exceeded: at most 2 SMTP servers per app"
    assert ok(call("smtps_find_by_id", {"idsmtp": moving}))["idapp"] == source
    # once there is room: moved, its slot with it, the account's count unchanged
    assert ok(call("smtps_remove", {"idsmtp": leaving})) is None
    assert ok(call("smtps_save", {"idsmtp": moving, "idapp": target}))["idapp"] == target
    assert counts(aws) == {"apps": 2, "smtps": 3, f"smtps@{source}": 1, f"smtps@{target}": 2}
    assert ok(create_smtp(source))  # the slot it left
    assert_exact(aws)


def test_a_server_that_outlived_its_app_can_move_to_another(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtphub.smtps.repository import SmtpRepository

    idapp, other = new_app("Racing"), new_app("Other")
    idsmtp = new_smtp(idapp)["_id"]
    with monkeypatch.context() as lagging:
        lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
        assert call("apps_remove", {"idapp": idapp}).status == 200
    assert ok(call("smtps_save", {"idsmtp": idsmtp, "idapp": other}))["idapp"] == other
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{other}": 1}
    assert counter_keys(aws) == {f"quota#{ACCOUNT_A}", f"quota#{ACCOUNT_A}#{other}"}


# --- data stored before quotas, and the backfill ----------------------------------------------------------


def as_before_quotas(aws: Any) -> None:
    """Every app and server as a stack before quotas left them: no `counted`, no counters."""
    from tests.support.aws import ACCOUNTS_TABLE, APPS_TABLE, SMTPS_TABLE

    for table, keys in ((APPS_TABLE, ("iduser", "_id")), (SMTPS_TABLE, ("_id",))):
        for item in aws.dynamodb.scan(TableName=table)["Items"]:
            if "counted" in item:
                key = {name: item[name] for name in keys}
                aws.dynamodb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE #c",
                                         ExpressionAttributeNames={"#c": "counted"})  # fmt: skip
    for key in counter_keys(aws):
        aws.dynamodb.delete_item(TableName=ACCOUNTS_TABLE, Key={"pk": {"S": key}})


def run_backfill(aws: Any, dynamodb: Any = None) -> Counter[str]:
    from smtphub.accounts.backfill import backfill
    from smtphub.accounts.quotas import QuotaLimits, Quotas
    from tests.support.aws import ACCOUNTS_TABLE, APPS_TABLE, SMTPS_TABLE

    quotas = Quotas(ACCOUNTS_TABLE, QuotaLimits(0, 0, 0))  # the limits do not matter to counting
    return backfill(dynamodb or aws.dynamodb, APPS_TABLE, SMTPS_TABLE, quotas)


def test_an_account_with_servers_from_before_quotas_is_counted_by_the_backfill(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an account whose apps and servers were stored before quotas, 3 servers in one app (more than
    # the quota allows now), and another account's
    monkeypatch.setenv("SMTPS_PER_APP", "10")
    wiring.reset()
    full, other = new_app("Full"), new_app("Other")
    ids = [new_smtp(full)["_id"] for _ in range(3)]
    new_smtp(new_app("Bob's", account=ACCOUNT_B), account=ACCOUNT_B)
    as_before_quotas(aws)
    monkeypatch.setenv("SMTPS_PER_APP", str(PER_APP))
    wiring.reset()
    # until the backfill has run they take no slot, and removing one gives none back (no count below 0)
    assert ok(call("smtps_remove", {"idsmtp": ids.pop()})) is None
    assert counts(aws) == {}
    assert ok(create_smtp(other))
    assert counts(aws) == {"smtps": 1, f"smtps@{other}": 1}
    # when the backfill runs
    assert run_backfill(aws) == {"apps": 3, "smtps": 3}
    # then everything is counted, above the quota where the data is, and the quotas hold from now on
    assert counts(aws) == {"apps": 2, "smtps": 3, f"smtps@{full}": 2, f"smtps@{other}": 1}
    assert counts(aws, ACCOUNT_B)["smtps"] == 1
    assert exceeded(create_smtp(full)) == "Quota exceeded: at most 2 SMTP servers per app"
    assert_exact(aws)
    assert_exact(aws, ACCOUNT_B)
    # and removing a server gives its slot back now
    assert ok(call("smtps_remove", {"idsmtp": ids.pop()})) is None
    assert counts(aws)[f"smtps@{full}"] == 1
    assert ok(create_smtp(full))
    # a second run finds nothing left to count
    assert run_backfill(aws) == {}
    assert_exact(aws)


def test_the_backfill_leaves_an_app_being_removed_and_the_servers_of_a_removed_app(
    aws: Any, quotas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtphub.smtps.repository import SmtpRepository

    removing, removed = new_app("Removing"), new_app("Removed")
    new_smtp(removing)
    straggler = new_smtp(removed)["_id"]
    with monkeypatch.context() as lagging:
        lagging.setattr(SmtpRepository, "ids_by_app", lambda self, account_id, app_id: {})
        assert call("apps_remove", {"idapp": removed}).status == 200
    as_before_quotas(aws)
    wiring.app_repository().mark_deleting(ACCOUNT_A, removing)  # a removal that failed half way
    assert run_backfill(aws) == {"skipped": 2}
    assert counts(aws) == {}
    # the removals finish, giving back nothing they did not count
    assert call("apps_remove", {"idapp": removing}).status == 200
    assert wiring.smtp_repository().delete(ACCOUNT_A, straggler, removed, app_gone=True)
    assert counts(aws) == {}
    assert items(aws) == []


def test_a_server_removed_while_the_backfill_runs_is_counted_once_or_not_at_all(
    aws: Any, quotas: None
) -> None:
    # given servers from before quotas, one of them removed between the backfill's scan and its count
    idapp = new_app()
    removed, kept = new_smtp(idapp)["_id"], new_smtp(idapp)["_id"]
    as_before_quotas(aws)

    class RemovingAfterScan:
        def __getattr__(self, name: str) -> Any:
            return getattr(aws.dynamodb, name)

        def scan(self, **request: Any) -> Any:
            page = aws.dynamodb.scan(**request)
            if request["TableName"].endswith("SmtpsTable"):
                assert ok(call("smtps_remove", {"idsmtp": removed})) is None
            return page

    # when the backfill runs, then the one removed is skipped, the other counted
    assert run_backfill(aws, RemovingAfterScan()) == {"apps": 1, "smtps": 1, "skipped": 1}
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{idapp}": 1}
    assert ok(call("smtps_remove", {"idsmtp": kept})) is None
    assert counts(aws) == {"apps": 1}
    assert_exact(aws)


def test_moving_a_server_from_before_quotas_counts_it_in_its_new_app(aws: Any, quotas: None) -> None:
    # given two apps from before quotas, two servers in one, one in the other, then a new one there
    source, target = new_app("Source"), new_app("Target")
    first, second = new_smtp(source)["_id"], new_smtp(source)["_id"]
    new_smtp(target)
    as_before_quotas(aws)
    new_smtp(target)
    # when the first moves: it is counted, in its new app and its account
    assert ok(call("smtps_save", {"idsmtp": first, "idapp": target}))["idapp"] == target
    assert counts(aws) == {"smtps": 2, f"smtps@{target}": 2}
    # and the new app's quota holds for the next (the server stored there before quotas not counted yet)
    body = error(call("smtps_save", {"idsmtp": second, "idapp": target}), 406, "QUOTA_EXCEEDED")
    assert body["message"] == "Quota exceeded: at most 2 SMTP servers per app"
    assert run_backfill(aws) == {"apps": 2, "smtps": 2}  # the two still uncounted; the moved one is not
    assert counts(aws) == {"apps": 2, "smtps": 4, f"smtps@{source}": 1, f"smtps@{target}": 3}
    assert_exact(aws)


def test_an_app_edited_keeps_its_count_and_gives_its_slot_back_when_removed(aws: Any, quotas: None) -> None:
    counted = new_app("Counted")
    before = new_app("Before")
    as_before_quotas(aws)
    counted_again = new_app("New")
    for idapp, name in ((before, "Before renamed"), (counted_again, "New renamed")):
        assert ok(call("apps_save", {"idapp": idapp, "name": name}))["name"] == name
    assert counts(aws) == {"apps": 1}
    assert run_backfill(aws) == {"apps": 2}
    assert ok(call("apps_save", {"idapp": before, "testemail": "ops@example.org"}))
    for idapp in (counted, before, counted_again):
        assert call("apps_remove", {"idapp": idapp}).status == 200
    assert counts(aws) == {}


def test_removing_an_app_with_servers_from_before_and_after_quotas_gives_back_what_counted(
    aws: Any, quotas: None, aws_calls: list[str]
) -> None:
    old_app, new_one = new_app("Old"), new_app("Kept")
    new_smtp(old_app)
    new_smtp(old_app)
    as_before_quotas(aws)
    new_smtp(old_app)
    new_smtp(new_one)
    assert counts(aws) == {"smtps": 2, f"smtps@{old_app}": 1, f"smtps@{new_one}": 1}
    aws_calls.clear()
    assert call("apps_remove", {"idapp": old_app}).status == 200
    # the uncounted ones first, giving nothing back, then the counted one with the app
    assert aws_calls == ["UpdateItem", "Query", "TransactWriteItems", "TransactWriteItems"]
    assert counts(aws) == {"smtps": 1, f"smtps@{new_one}": 1}
    assert f"quota#{ACCOUNT_A}#{old_app}" not in counter_keys(aws)
    assert_exact(aws)
