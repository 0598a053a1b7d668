"""The blacklist endpoints through their real handlers and events, against moto: add, findByApp (a Spring
Data page), isBlackListed (`true`/`false`), remove (upstream's two 406s), tenancy, an app's entries going
with it, and what sending and unsubscribing ask of the service (`listed`, `add_automatic`,
`add_by_recipient`) with the `blacklisted_added` notices they fire."""

from __future__ import annotations

from typing import Any

import pytest

from smtphub import wiring
from smtphub.apps.models import App
from tests.support.api import ID, TIMESTAMP, bad, error, new_app, ok
from tests.support.aws import BLACKLIST_TABLE, Stream
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, call
from tests.support.outbox import Recording

ADDRESS = "Someone@Example.org"
SENDING = "6741f0a2c3d4e5f6a7b8c9d1"


def add(idapp: str, email: str = ADDRESS, account: str = ACCOUNT_A) -> dict[str, Any]:
    entry: dict[str, Any] = ok(call("blacklist_add", {"idapp": idapp, "email": email}, account=account))
    return entry


def is_listed(idapp: str, email: str = ADDRESS, account: str = ACCOUNT_A) -> str:
    reply = call("blacklist_is_black_listed", {"idapp": idapp, "email": email}, account=account)
    assert reply.status == 200, reply.text
    return reply.text


def page(idapp: str, account: str = ACCOUNT_A, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(call("blacklist_find_by_app", {"idapp": idapp, **params}, account=account))
    return found


def app_of(idapp: str) -> App:
    return wiring.app_repository().get_owned(ACCOUNT_A, idapp)


def test_add_answers_upstreams_entry_and_tells_the_app(aws: Any, outbox: Recording) -> None:
    idapp = new_app()
    entry = add(idapp)
    assert set(entry) == {"_id", "idapp", "idsending", "email", "ip", "created", "addedby"}
    assert ID.fullmatch(entry["_id"])
    assert TIMESTAMP.fullmatch(entry["created"])
    assert {k: entry[k] for k in ("idapp", "idsending", "email", "addedby")} == {
        "idapp": idapp,
        "idsending": None,
        "email": "someone@example.org",  # compared without regard to case: stored in lower case
        "addedby": "ACCOUNT",
    }
    assert entry["ip"]  # the caller's source IP, from the event
    assert outbox.told == [(idapp, "blacklisted_added", {"qm_email": "someone@example.org"}, entry["_id"])]


def test_adding_an_address_again_answers_the_entry_there_and_tells_nobody(
    aws: Any, outbox: Recording
) -> None:
    idapp = new_app()
    first = add(idapp)
    assert add(idapp, "someone@EXAMPLE.org") == first
    assert len(outbox.told) == 1


def test_is_blacklisted_answers_true_or_false(aws: Any) -> None:
    idapp = new_app()
    assert is_listed(idapp) == "false"
    add(idapp)
    assert is_listed(idapp) == "true"
    assert is_listed(idapp, "SOMEONE@example.ORG") == "true"
    assert is_listed(idapp, "other@example.org") == "false"


def test_find_by_app_pages_the_entries_by_address(aws: Any) -> None:
    idapp = new_app()
    for name in ("carol", "alice", "bob"):
        add(idapp, f"{name}@example.org")
    add(new_app("Other"), "dave@example.org")  # another app's
    first = page(idapp, page=0, size=2)
    assert [entry["email"] for entry in first["content"]] == ["alice@example.org", "bob@example.org"]
    assert {k: first[k] for k in ("totalElements", "totalPages", "number", "size", "first", "last")} == {
        "totalElements": 3,
        "totalPages": 2,
        "number": 0,
        "size": 2,
        "first": True,
        "last": False,
    }
    second = page(idapp, page=1, size=2)
    assert [entry["email"] for entry in second["content"]] == ["carol@example.org"]
    assert (second["last"], second["numberOfElements"]) == (True, 1)
    assert page(idapp, page=2, size=2)["empty"] is True


def test_remove_and_its_406s(aws: Any) -> None:
    idapp = new_app()
    add(idapp)
    assert ok(call("blacklist_remove", {"idapp": idapp, "email": "someone@example.ORG"})) is None
    assert is_listed(idapp) == "false"
    body = error(call("blacklist_remove", {"idapp": idapp, "email": ADDRESS}), 406, "EMAIL_NOT_FOUND")
    assert body["message"] == "Email not found"


def test_an_address_the_recipient_listed_cannot_be_removed(aws: Any, outbox: Recording) -> None:
    idapp = new_app()
    add(idapp)  # the account's entry first
    assert wiring.blacklist_service().add_by_recipient(app_of(idapp), ADDRESS, SENDING, "198.51.100.7")
    reply = call("blacklist_remove", {"idapp": idapp, "email": ADDRESS})
    body = error(reply, 406, "LISTED_BY_RECIPIENT")
    assert body["message"] == "Email was added by the recipient and cannot be removed"
    (entry,) = page(idapp)["content"]
    assert {k: entry[k] for k in ("addedby", "idsending", "ip")} == {
        "addedby": "RECIPIENT",
        "idsending": SENDING,
        "ip": "198.51.100.7",
    }
    # the account adding it again changes nothing
    assert add(idapp)["addedby"] == "RECIPIENT"
    assert outbox.events[-1] == (
        "blacklisted_added",
        {"qm_email": "someone@example.org", "qm_idsending": SENDING},
    )


@pytest.mark.parametrize(
    ("function", "params"),
    [
        ("blacklist_add", {"email": ADDRESS}),
        ("blacklist_remove", {"email": ADDRESS}),
        ("blacklist_is_black_listed", {"email": ADDRESS}),
        ("blacklist_find_by_app", {}),
    ],
)
def test_another_accounts_app_is_not_found(aws: Any, function: str, params: dict[str, str]) -> None:
    theirs = new_app("Theirs", account=ACCOUNT_B)
    add(theirs, account=ACCOUNT_B)
    body = error(call(function, {"idapp": theirs, **params}, account=ACCOUNT_A), 406, "APP_NOT_FOUND")
    assert body["message"] == "App not found"
    # and nothing of theirs changed
    assert is_listed(theirs, account=ACCOUNT_B) == "true"
    assert page(theirs, account=ACCOUNT_B)["totalElements"] == 1


def test_bad_parameters_are_400s(aws: Any) -> None:
    idapp = new_app()
    assert set(bad(call("blacklist_add", {"idapp": idapp, "email": "not-an-address"}))) == {"email"}
    assert set(bad(call("blacklist_add", {"idapp": idapp}))) == {"email"}
    assert set(bad(call("blacklist_find_by_app", {"idapp": idapp, "size": "500"}))) == {"size"}
    assert set(bad(call("blacklist_is_black_listed", {"email": ADDRESS}))) == {"idapp"}


def test_no_entry_is_added_to_an_app_being_removed(aws: Any) -> None:
    idapp = new_app()
    wiring.app_repository().mark_deleting(ACCOUNT_A, idapp)
    error(call("blacklist_add", {"idapp": idapp, "email": ADDRESS}), 406, "APP_NOT_FOUND")
    assert aws.dynamodb.scan(TableName=BLACKLIST_TABLE)["Items"] == []


def test_an_apps_entries_go_with_it(aws: Any, apps_stream: Stream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smtphub.apps.cleanup.SETTLE_SECONDS", 0.0)
    idapp, kept = new_app(), new_app("Kept")
    for n in range(30):  # more than one BatchWriteItem
        add(idapp, f"r{n}@example.org")
    add(kept, "stays@example.org")
    ok(call("apps_remove", {"idapp": idapp}))
    apps_stream.drain()
    assert apps_stream.answers[-1] == {"batchItemFailures": []}
    items = aws.dynamodb.scan(TableName=BLACKLIST_TABLE)["Items"]
    assert [(item["idapp"]["S"], item["email"]["S"]) for item in items] == [(kept, "stays@example.org")]


def test_listed_answers_the_addresses_as_given(aws: Any) -> None:
    idapp = new_app()
    add(idapp, "a@example.org")
    add(idapp, "c@example.org")
    many = [f"n{n}@example.org" for n in range(150)]  # more than one BatchGetItem
    found = wiring.blacklist_service().listed(
        idapp, ["A@Example.org", "b@example.org", *many, "c@example.org"]
    )
    assert found == {"A@Example.org", "c@example.org"}
    assert wiring.blacklist_service().listed(new_app("Other"), ["a@example.org"]) == set()


def auto_app() -> str:
    idapp = new_app()
    ok(call("apps_save", {"idapp": idapp, "useautoblacklist": True}))
    return idapp


def test_add_automatic_lists_once_with_the_sending(aws: Any, outbox: Recording) -> None:
    idapp = auto_app()
    service = wiring.blacklist_service()
    assert service.add_automatic(app_of(idapp), "Bounced@example.org", SENDING, 550) is True
    assert (
        service.add_automatic(app_of(idapp), "bounced@example.org", "6741f0a2c3d4e5f6a7b8c9d2", 550) is False
    )
    (entry,) = page(idapp)["content"]
    assert {k: entry[k] for k in ("email", "addedby", "idsending", "ip")} == {
        "email": "bounced@example.org",
        "addedby": "AUTOMATIC",
        "idsending": SENDING,
        "ip": None,
    }
    assert outbox.events == [
        ("blacklisted_added", {"qm_email": "bounced@example.org", "qm_idsending": SENDING})
    ]


@pytest.mark.parametrize("code", [550, 551, 553])
def test_a_reply_that_names_the_mailbox_blacklists(aws: Any, code: int) -> None:
    idapp = auto_app()
    assert wiring.blacklist_service().add_automatic(app_of(idapp), "gone@example.org", SENDING, code) is True
    assert is_listed(idapp, "gone@example.org") == "true"


@pytest.mark.parametrize("code", [421, 450, 451, 452, 500, 501, 552, 554, 535])
def test_a_server_fault_or_another_reply_never_blacklists(aws: Any, code: int) -> None:
    idapp = auto_app()
    assert wiring.blacklist_service().add_automatic(app_of(idapp), "kept@example.org", SENDING, code) is False
    assert is_listed(idapp, "kept@example.org") == "false"


def test_an_app_without_useautoblacklist_lists_nothing(aws: Any) -> None:
    idapp = new_app()
    assert wiring.blacklist_service().add_automatic(app_of(idapp), "gone@example.org", SENDING, 550) is False
    assert is_listed(idapp, "gone@example.org") == "false"


def test_an_outbox_failure_is_logged_and_the_entry_stays(aws: Any, json_logs: Any) -> None:
    wiring.override("outbox", Recording(fails=True))
    idapp = new_app()
    add(idapp)
    assert is_listed(idapp) == "true"
    (line,) = [line for line in json_logs() if line["message"] == "could not notify"]
    assert (line["idapp"], line["event"]) == (idapp, "blacklisted_added")
    assert "someone" not in str(line).lower()
