"""The app endpoints through their real handlers and events, against moto.

save (create and edit), findAll (pages), findById, remove (cascading to every SMTP server, their secrets
going by the servers' table stream, and completing when retried after a failure half way), unique names
per account, tenancy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_runtime.events import DEMO_USERNAME
from smtphub import dynamo, wiring
from smtphub.smtps.repository import SmtpRepository
from tests.support.api import (
    ID,
    MISSING_APP,
    PASSWORD,
    TIMESTAMP,
    Failing,
    NoCalls,
    bad,
    client_error,
    counter_keys,
    counts,
    error,
    items,
    lost_to_a_concurrent_write,
    new_app,
    new_smtp,
    ok,
    pinned_password,
    scheduled_for_deletion,
    secret,
    secret_names,
)
from tests.support.aws import APPS_TABLE, SECRET_PREFIX, SMTPS_TABLE, Stream
from tests.support.contract import APP_KEYS, APP_SAVED_KEYS, as_read
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, Reply, call, load_event

ACCOUNT_EMAIL = DEMO_USERNAME  # the caller's e-mail in the authorizer context tests.support.lambdas sends
# Upstream's AppDTO members as an app has them when the request names none.
UPSTREAM_DEFAULTS = {
    "retaindata": False,
    "useblacklist": False,
    "useautoblacklist": False,
    "timebetweenemails": 60,
    "originserver": None,
    "origindomain": None,
    "webhook_sending_finished": None,
    "webhook_sending_error": None,
    "webhook_tracking_opened": None,
    "webhook_tracking_clicked": None,
    "webhook_blacklisted_added": None,
}
# A Spring Data page's Pageable and Sort, as PageImpl serializes an unsorted page.
UNSORTED = {"sorted": False, "unsorted": True, "empty": True}


def pageable(number: int, size: int) -> dict[str, Any]:
    return {
        "sort": UNSORTED,
        "offset": number * size,
        "pageNumber": number,
        "pageSize": size,
        "paged": True,
        "unpaged": False,
    }


def app_items(aws: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.dynamodb.scan(TableName=APPS_TABLE, ConsistentRead=True)["Items"]
    return found


def find_all(account: str = ACCOUNT_A, **page: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(call("apps_find_all", page, account=account))
    return found


# --- the contract's happy paths ---------------------------------------------------------------------


def test_create_from_the_sample_event_answers_the_contracts_json(aws: Any) -> None:
    created = ok(call("apps_save"))  # events/apps_save.json as it is
    assert set(created) == APP_SAVED_KEYS
    assert created["webhooksecret"] is None  # no webhook URL: no secret made
    assert ID.fullmatch(created["_id"])
    assert TIMESTAMP.fullmatch(created["created"])
    assert created["modified"] == created["created"]
    assert {k: v for k, v in created.items() if k not in ("_id", "created", "modified", "webhooksecret")} == {
        "iduser": ACCOUNT_A,  # the caller's account, from the authorizer's context
        "name": "My shop",
        "strategy": "PRIORITY",
        "testemail": "ops@example.net",
        "defaultfromemail": "noreply@example.net",
        "defaultfromname": ACCOUNT_EMAIL,  # not in the sample: the account's e-mail, as upstream
        "status": "A",
        "haswebhooksecret": False,
        **UPSTREAM_DEFAULTS,
    }


def test_defaults_and_reads(aws: Any) -> None:
    created = ok(call("apps_save", {"name": "Plain"}))
    assert created["strategy"] == "RANDOM"
    # all three default to the account's e-mail, as upstream
    assert (created["testemail"], created["defaultfromemail"], created["defaultfromname"]) == (
        ACCOUNT_EMAIL,
        ACCOUNT_EMAIL,
        ACCOUNT_EMAIL,
    )
    assert {name: created[name] for name in UPSTREAM_DEFAULTS} == UPSTREAM_DEFAULTS
    assert created["iduser"] == ACCOUNT_A
    assert ok(call("apps_find_by_id", {"idapp": created["_id"]})) == as_read(created)
    event = load_event("apps_find_by_id")
    event["queryStringParameters"] = {"idapp": created["_id"]}
    event["multiValueQueryStringParameters"] = {"idapp": [created["_id"]]}
    assert ok(call("apps_find_by_id", event=event)) == as_read(created)


def test_find_all_pages(aws: Any) -> None:
    assert ok(call("apps_find_all")) == {  # the sample event: page 0, size 20
        "content": [],
        "totalElements": 0,
        "totalPages": 0,
        "number": 0,
        "size": 20,
        "first": True,
        "last": True,
        "numberOfElements": 0,
        "empty": True,
        "sort": UNSORTED,
        "pageable": pageable(0, 20),
    }
    ids = [new_app(f"App {n}") for n in range(5)]
    first = find_all(page=0, size=2)
    assert [app["_id"] for app in first["content"]] == ids[:2]  # in creation order
    assert {k: v for k, v in first.items() if k != "content"} == {
        "totalElements": 5,
        "totalPages": 3,
        "number": 0,
        "size": 2,
        "first": True,
        "last": False,
        "numberOfElements": 2,
        "empty": False,
        "sort": UNSORTED,
        "pageable": pageable(0, 2),
    }
    assert set(first["content"][0]) == APP_KEYS
    middle = find_all(page=1, size=2)
    assert [app["_id"] for app in middle["content"]] == ids[2:4]
    assert (middle["first"], middle["last"]) == (False, False)
    last = find_all(page=2, size=2)
    assert [app["_id"] for app in last["content"]] == ids[4:]
    assert (last["first"], last["last"]) == (False, True)
    assert (last["numberOfElements"], last["empty"], last["pageable"]) == (1, False, pageable(2, 2))
    beyond = find_all(page=7, size=2)
    assert beyond["content"] == []
    assert beyond["last"] is True
    assert (beyond["numberOfElements"], beyond["empty"]) == (0, True)
    assert [app["_id"] for app in find_all()["content"]] == ids  # defaults: page 0, size 20


def test_find_all_never_lists_name_locks_or_other_accounts(aws: Any) -> None:
    mine = new_app("Mine")
    new_app("Theirs", account=ACCOUNT_B)
    assert len(app_items(aws)) == 4  # two apps, two name locks
    assert [app["_id"] for app in find_all()["content"]] == [mine]
    assert find_all()["totalElements"] == 1


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ({"size": "0"}, "size"),
        ({"size": "101"}, "size"),
        ({"page": "-1"}, "page"),
        ({"page": "x", "size": "y"}, "page"),
    ],
)
def test_find_all_bounds(aws: Any, page: dict[str, str], problem: str) -> None:
    assert problem in bad(call("apps_find_all", page))


def test_find_all_largest_page(aws: Any) -> None:
    assert find_all(size=100)["size"] == 100


def test_edit_keeps_what_is_omitted(aws: Any) -> None:
    created = ok(
        call("apps_save", {"name": "Shop", "testemail": "ops@example.net", "defaultfromname": "Shop"})
    )
    edited = ok(call("apps_save", {"idapp": created["_id"], "strategy": "priority"}))
    assert edited == {**created, "strategy": "PRIORITY", "modified": edited["modified"]}
    assert edited["modified"] >= created["modified"]
    assert ok(call("apps_find_by_id", {"idapp": created["_id"]})) == as_read(edited)
    # nothing changed: nothing written
    assert ok(call("apps_save", {"idapp": created["_id"], "name": "Shop"})) == edited


def test_validation(aws: Any) -> None:
    assert bad(call("apps_save", {})) == {"name": "is required"}
    fields = bad(
        call("apps_save", {"testemail": "nope", "strategy": "ROUND_ROBIN", "defaultfromemail": "x@y"})
    )
    assert fields == {
        "name": "is required",  # named together with the malformed ones
        "testemail": "must be an e-mail address",
        "defaultfromemail": "must be an e-mail address",
        "strategy": "must be one of RANDOM, PRIORITY",
    }
    assert set(bad(call("apps_save", {"name": "n" * 201}))) == {"name"}
    assert ok(call("apps_save", {"name": "n" * 200}))["name"] == "n" * 200
    assert set(bad(call("apps_save", {"name": "a\r\nb"}))) == {"name"}
    assert bad(call("apps_find_by_id", {})) == {"idapp": "is required"}
    assert bad(call("apps_remove", {"idapp": "123"})) == {"idapp": "must be a 24-character hexadecimal id"}


def test_not_found(aws: Any) -> None:
    error(call("apps_find_by_id", {"idapp": MISSING_APP}), 406, "APP_NOT_FOUND")
    error(call("apps_save", {"idapp": MISSING_APP, "name": "x"}), 406, "APP_NOT_FOUND")
    error(call("apps_remove", {"idapp": MISSING_APP}), 406, "APP_NOT_FOUND")
    assert app_items(aws) == []


# --- names --------------------------------------------------------------------------------------------


def test_names_are_unique_per_account_ignoring_case(aws: Any) -> None:
    new_app("Shop")
    body = error(call("apps_save", {"name": "SHOP"}), 406, "APP_NAME_TAKEN")
    assert body["message"]
    error(call("apps_save", {"name": "shop"}), 406, "APP_NAME_TAKEN")
    assert find_all()["totalElements"] == 1
    new_app("shop", account=ACCOUNT_B)  # another account's namespace


def test_renaming_frees_the_old_name_and_takes_the_new(aws: Any) -> None:
    first = new_app("Shop")
    second = new_app("Blog")
    error(call("apps_save", {"idapp": second, "name": "shop"}), 406, "APP_NAME_TAKEN")
    assert ok(call("apps_find_by_id", {"idapp": second}))["name"] == "Blog"
    assert ok(call("apps_save", {"idapp": first, "name": "Store"}))["name"] == "Store"
    assert new_app("Shop")  # freed
    error(call("apps_save", {"name": "STORE"}), 406, "APP_NAME_TAKEN")  # taken
    assert ok(call("apps_save", {"idapp": first, "name": "STORE"}))["name"] == "STORE"  # own name, new case
    error(call("apps_save", {"name": "store"}), 406, "APP_NAME_TAKEN")


def test_removing_an_app_frees_its_name(aws: Any) -> None:
    idapp = new_app("Shop")
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert new_app("Shop") != idapp


def test_a_stale_app_edit_gets_conflict(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    idapp = new_app("Shop")
    repository = wiring.app_repository()
    stale = repository.get(ACCOUNT_A, idapp)
    winner = ok(call("apps_save", {"idapp": idapp, "defaultfromname": "Winner"}))
    monkeypatch.setattr(repository, "get", lambda owner, app_id: stale)
    error(call("apps_save", {"idapp": idapp, "name": "Loser"}), 406, "CONFLICT")
    monkeypatch.undo()
    assert ok(call("apps_find_by_id", {"idapp": idapp})) == as_read(winner)
    assert new_app("Loser")  # the refused rename took no name lock


# --- tenancy ------------------------------------------------------------------------------------------


def test_another_accounts_app_is_not_found_and_untouched(aws: Any) -> None:
    idapp = new_app("Shop")
    idsmtp = new_smtp(idapp)["_id"]
    before = (app_items(aws), items(aws))

    def as_b(function: str, params: dict[str, Any]) -> Reply:
        return call(function, params, account=ACCOUNT_B)

    error(as_b("apps_find_by_id", {"idapp": idapp}), 406, "APP_NOT_FOUND")
    error(as_b("apps_save", {"idapp": idapp, "name": "Mine now"}), 406, "APP_NOT_FOUND")
    error(as_b("apps_remove", {"idapp": idapp}), 406, "APP_NOT_FOUND")
    assert ok(as_b("apps_find_all", {}))["content"] == []
    assert (app_items(aws), items(aws)) == before
    assert secret(aws, idsmtp) == PASSWORD
    assert pinned_password(aws, idsmtp) == PASSWORD
    assert not scheduled_for_deletion(aws, idsmtp)


# --- remove cascades ----------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [12, 15, 40], ids=["app in the last of 3", "app alone after 2", "one"])
def test_remove_cascades_to_every_server_and_secret_across_transactions(
    aws: Any, stream: Stream, monkeypatch: pytest.MonkeyPatch, steps: int
) -> None:
    """30 servers in transactions of `steps` (as 250 servers would be in transactions of 100), the app's
    removal joining the last that has room; another app's servers stay; the secrets go by the stream."""
    monkeypatch.setattr(dynamo, "TRANSACTION_STEPS", steps)
    monkeypatch.setenv("SMTPS_PER_APP", "30")  # more than the default quota, 20
    wiring.reset()
    idapp = new_app("Big")
    other = new_app("Other")
    kept = new_smtp(other)["_id"]
    ids = [new_smtp(idapp, host=f"smtp{n}.example.net")["_id"] for n in range(28)]
    ids += [new_smtp(idapp, auth="false", username=None, password=None)["_id"] for _ in range(2)]
    event = load_event("apps_remove")
    event["body"] = event["body"].replace(MISSING_APP, idapp)
    reply = call("apps_remove", event=event)
    assert (reply.status, reply.text) == (200, "")
    assert [item["_id"]["S"] for item in items(aws)] == [kept]
    stream.drain()
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in ids[:28])
    assert secret_names(aws) == {SECRET_PREFIX + i for i in [kept, *ids[:28]]}
    assert not scheduled_for_deletion(aws, kept)
    error(call("apps_find_by_id", {"idapp": idapp}), 406, "APP_NOT_FOUND")
    error(call("smtps_find_by_app", {"idapp": idapp}), 406, "APP_NOT_FOUND")
    error(call("smtps_find_by_id", {"idsmtp": ids[0]}), 406, "SMTP_NOT_FOUND")
    assert [app["_id"] for app in find_all()["content"]] == [other]
    assert {item["_id"]["S"] for item in app_items(aws)} == {other, "#name#other"}


def test_remove_leaves_a_server_of_another_account_that_names_the_app(aws: Any) -> None:
    """Belt and braces: a record that names the app but belongs to another account (no write of the API
    makes one) is neither deleted nor read back by the cascade, which asks DynamoDB for keys only."""
    # given Alice's app with a server, and a record of Bob's that names the same app
    idapp = new_app("Shop")
    mine = new_smtp(idapp)["_id"]
    planted = {**items(aws)[0], "_id": {"S": "b" * 24}, "iduser": {"S": ACCOUNT_B}}
    aws.dynamodb.put_item(TableName=SMTPS_TABLE, Item=planted)
    queries: list[dict[str, Any]] = []
    layer_client = wiring.smtp_repository().client
    layer_client.meta.events.register(
        "before-parameter-build.dynamodb.Query", lambda params, **_: queries.append(params)
    )
    # when Alice removes the app
    assert call("apps_remove", {"idapp": idapp}).status == 200
    # then only her server went, and the cascade's query read no more than the servers' ids (and whether
    # each is counted in the quotas)
    assert [item["_id"]["S"] for item in items(aws)] == ["b" * 24] != [mine]
    assert [query["ProjectionExpression"] for query in queries] == ["#id, #counted"]
    assert counts(aws) == {} == counts(aws, ACCOUNT_B)  # Bob's planted record was never counted


def test_remove_leaves_a_server_moved_to_another_app_after_its_query(
    aws: Any, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cascade deletes what its query of the byApp index found (an index that may also lag behind an
    edit): a server moved to another app in between is that app's now, and stays, with its secret."""
    # given a server of the app being removed, moved to another app just after the removal's query
    removed, kept = new_app("Removed"), new_app("Kept")
    idsmtp, other = new_smtp(removed)["_id"], new_smtp(removed)["_id"]
    query = SmtpRepository.ids_by_app

    def then_moved(self: SmtpRepository, account_id: str, app_id: str) -> dict[str, bool]:
        found = query(self, account_id, app_id)
        assert ok(call("smtps_save", {"idsmtp": idsmtp, "idapp": kept}))["idapp"] == kept
        return found

    monkeypatch.setattr(SmtpRepository, "ids_by_app", then_moved)
    # when the removal finishes
    assert call("apps_remove", {"idapp": removed}).status == 200
    # then the moved server is still there, in the app it moved to, with its password; the other went
    monkeypatch.undo()
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["idapp"] == kept
    assert [item["_id"]["S"] for item in items(aws)] == [idsmtp]
    stream.drain()
    assert pinned_password(aws, idsmtp) == PASSWORD
    assert scheduled_for_deletion(aws, other)
    error(call("apps_find_by_id", {"idapp": removed}), 406, "APP_NOT_FOUND")
    assert counts(aws) == {"apps": 1, "smtps": 1, f"smtps@{kept}": 1}  # its slot moved with it


def test_remove_makes_no_secrets_manager_call(
    aws: Any, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records only (mark, query, transactions): every secret goes by the table's stream afterwards."""
    monkeypatch.setenv("SMTPS_PER_APP", "30")  # more than the default quota, 20
    wiring.reset()
    idapp = new_app("Big")
    ids = [new_smtp(idapp)["_id"] for _ in range(30)]
    repo = wiring.secret_repository()  # the one every service and the cleanup share
    repo._client = NoCalls()
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert items(aws) == []
    assert app_items(aws) == []
    assert not any(scheduled_for_deletion(aws, idsmtp) for idsmtp in ids)
    repo._client = aws.secrets
    stream.drain()
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in ids)


def test_remove_after_a_dynamodb_failure_half_way_completes_when_retried(
    aws: Any, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo, "TRANSACTION_STEPS", 12)  # 30 servers: 3 transactions
    monkeypatch.setenv("SMTPS_PER_APP", "30")  # more than the default quota, 20
    wiring.reset()
    idapp = new_app("Big")
    ids = [new_smtp(idapp)["_id"] for _ in range(30)]
    service = wiring.app_service()
    failing = client_error("InternalServerError", "TransactWriteItems")
    service.smtps.client = Failing(aws.dynamodb, "transact_write_items", failing, after=1)
    error(call("apps_remove", {"idapp": idapp}), 500, "INTERNAL_ERROR")
    assert 0 < len(items(aws)) < 30  # the first transaction went, the second did not
    # the slots of the servers it deleted are given back, and only those: the app keeps its own
    left = len(items(aws))
    assert counts(aws) == {"apps": 1, "smtps": left, f"smtps@{idapp}": left}
    service.smtps.client = aws.dynamodb
    # half way: the app is being removed; no server can be added to it
    error(call("smtps_save", {"idapp": idapp, "host": "late.example.net", "port": 25}), 406, "APP_NOT_FOUND")
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert items(aws) == []
    stream.drain()
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in ids)  # none left behind
    assert app_items(aws) == []
    assert counter_keys(aws) == {f"quota#{ACCOUNT_A}"}  # the app's counter went with it
    assert counts(aws) == {}


def test_remove_that_lost_to_a_concurrent_write_is_tried_again(aws: Any) -> None:
    # given an app with servers, and a health check writing to one of them as the removal commits
    idapp = new_app("Busy")
    ids = [new_smtp(idapp)["_id"] for _ in range(3)]
    once = iter([True])
    service = wiring.app_service()
    conflict = lost_to_a_concurrent_write(len(ids) + 2)
    service.smtps.client = Failing(
        aws.dynamodb, "transact_write_items", conflict, when=lambda _: next(once, False)
    )
    # when the app is removed, then the removal is tried again and done
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert service.smtps.client.calls == 2
    assert items(aws) == []
    assert app_items(aws) == []


def test_remove_that_keeps_losing_to_concurrent_writes_is_a_conflict_with_nothing_deleted(aws: Any) -> None:
    # given an app with servers, each of whose removals loses to a concurrent write
    idapp = new_app("Busy")
    ids = [new_smtp(idapp)["_id"] for _ in range(3)]
    service = wiring.app_service()
    conflict = lost_to_a_concurrent_write(len(ids) + 2)
    service.smtps.client = Failing(aws.dynamodb, "transact_write_items", conflict)
    # when the app is removed, then it is a conflict after a few tries, and nothing is gone
    error(call("apps_remove", {"idapp": idapp}), 406, "CONFLICT")
    assert service.smtps.client.calls == dynamo.CONFLICT_TRIES
    assert sorted(item["_id"]["S"] for item in items(aws)) == sorted(ids)
    # the app is flagged: no server can be added, and the removal finishes when retried
    service.smtps.client = aws.dynamodb
    error(call("smtps_save", {"idapp": idapp, "host": "late.example.net", "port": 25}), 406, "APP_NOT_FOUND")
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert (items(aws), app_items(aws)) == ([], [])


def test_remove_of_an_app_without_servers(aws: Any) -> None:
    idapp = new_app("Empty")
    assert call("apps_remove", {"idapp": idapp}).status == 200
    assert app_items(aws) == []
    error(call("apps_remove", {"idapp": idapp}), 406, "APP_NOT_FOUND")


def test_nothing_about_an_app_leaks_a_password(aws: Any) -> None:
    idapp = new_app("Shop")
    new_smtp(idapp)
    for reply in (call("apps_find_by_id", {"idapp": idapp}), call("apps_find_all", {})):
        assert PASSWORD not in reply.text
    assert PASSWORD not in json.dumps(app_items(aws))
