"""emails/info, emails/cancel, emails/remove, logs/findByEMail and emails/send's Idempotency-Key through their
real handlers against moto (issue 24): upstream's state rules and 406s, tenancy (another account's e-mail is
`Email not found`, as a missing one), what remove erases, and retries that send nothing twice."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from smtphub import wiring
from smtphub.emails.models import LogEntry
from smtphub.ids import iso_of, new_id
from smtphub.tracking.models import CLICKED, OPENED, TrackEvent
from tests.support.api import at_once, error, new_app, ok
from tests.support.aws import EMAIL_LOGS_TABLE, EMAILS_TABLE
from tests.support.emails import TO, FileField, Mail, basic, multipart_body, multipart_event, send
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, Reply, call, load_event
from tests.support.queuemail_client import dto_problems

pytest_plugins = ["tests.support.emails"]

NOT_FOUND = ("EMAIL_NOT_FOUND", "Email not found")
NOT_CANCELLABLE = ("EMAIL_NOT_CANCELLABLE", "Sending finished or in progress - cannot be cancelled")
NOT_REMOVABLE = ("EMAIL_NOT_REMOVABLE", "Unfinished sendings cannot be removed")


def refused(reply: Reply, code: str, message: str) -> None:
    assert error(reply, 406, code)["message"] == message


def set_status(mail: Mail, email_id: str, status: str) -> None:
    """What the sender does to a record (R while it sends, then F or E): the status alone matters here."""
    mail.aws.dynamodb.update_item(
        TableName=EMAILS_TABLE,
        Key={"_id": {"S": email_id}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def add_logs(mail: Mail, email_id: str) -> list[LogEntry]:
    """Two attempts' rows, as the sender writes them: a refusing server, then the one that took it (their
    ids sort by time, as new_id's do across seconds)."""
    record = mail.record(email_id)
    assert record is not None
    now = int(time.time())
    first = LogEntry(
        f"{now:08x}{'0' * 16}", email_id, iso_of(now), TO, "SMTP_CONNECT_FAILS", mail.smtp, mail.app
    )
    second = LogEntry(f"{now + 1:08x}{'0' * 16}", email_id, iso_of(now + 1), TO, "OK", mail.smtp, mail.app)
    second = replace(second, code=250, message="2.0.0 Ok")
    wiring.log_repository().add([first, second], {email_id: int(record["expires"]["N"])})
    return [first, second]


def log_rows(mail: Mail) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = mail.aws.dynamodb.scan(TableName=EMAIL_LOGS_TABLE)["Items"]
    return rows


def info(email_id: str, account: str = ACCOUNT_A) -> Reply:
    return call("emails_info", {"idemail": email_id}, account=account)


def by_id(function: str, email_id: str, account: str = ACCOUNT_A) -> Reply:
    return call(function, {"idemail": email_id}, account=account)


# --- emails/info and logs/findByEMail -----------------------------------------------------------------------


def test_info_is_the_sending_result_with_its_finish_log_and_opens(mail: Mail) -> None:
    sent = ok(send(basic(mail)))
    shown = ok(info(sent["id"]))
    assert shown == {**sent, "finishtime": None, "log": [], "opened": []}


def test_info_and_logs_list_every_attempt_oldest_first(mail: Mail) -> None:
    sent = ok(send(basic(mail)))
    first, second = add_logs(mail, sent["id"])
    rows = [
        {"_id": first.id, "idsending": sent["id"], "idsmtp": mail.smtp, "idapp": mail.app, "to": TO,
         "resultcode": "SMTP_CONNECT_FAILS", "created": first.created, "code": None, "message": None},
        {"_id": second.id, "idsending": sent["id"], "idsmtp": mail.smtp, "idapp": mail.app, "to": TO,
         "resultcode": "OK", "created": second.created, "code": 250, "message": "2.0.0 Ok"},
    ]  # fmt: skip
    assert ok(info(sent["id"]))["log"] == rows
    assert ok(by_id("logs_find_by_email", sent["id"])) == rows


@pytest.mark.parametrize("function", ["emails_info", "logs_find_by_email", "emails_cancel", "emails_remove"])
def test_another_accounts_email_is_not_found_as_a_missing_one(mail: Mail, function: str) -> None:
    sent = ok(send(basic(mail)))
    if function == "emails_remove":
        set_status(mail, sent["id"], "F")  # removable: only its owner may
    refused(by_id(function, sent["id"], account=ACCOUNT_B), *NOT_FOUND)
    refused(by_id(function, new_id()), *NOT_FOUND)
    record = mail.record(sent["id"])
    assert record is not None  # the other account changed nothing
    assert record["status"]["S"] == ("F" if function == "emails_remove" else "Q")


def test_an_idemail_that_is_not_an_id_is_a_400(mail: Mail) -> None:
    for function in ("emails_info", "logs_find_by_email", "emails_cancel", "emails_remove"):
        assert "idemail" in error(by_id(function, "not-an-id"), 400, "BAD_REQUEST")["fields"]


# --- emails/cancel -----------------------------------------------------------------------------------------


def test_cancel_a_queued_email(mail: Mail) -> None:
    sent = ok(send(basic(mail)))
    before = time.time()
    cancelled = ok(by_id("emails_cancel", sent["id"]))
    assert cancelled == {**sent, "status": "C", "logsdeleledby": cancelled["logsdeleledby"]}
    record = mail.record(sent["id"])
    assert record is not None
    assert record["status"] == {"S": "C"}
    assert "wakeat" not in record  # the sweep will not send it
    assert int(record["expires"]["N"]) == pytest.approx(math.ceil(before + 30 * 86400), abs=2)
    assert mail.objects() == []  # nothing will read the content again
    assert ok(info(sent["id"]))["status"] == "C"
    refused(by_id("emails_cancel", sent["id"]), *NOT_CANCELLABLE)


def test_a_cancelled_email_of_an_app_that_keeps_its_data_keeps_its_content(mail: Mail) -> None:
    ok(call("apps_save", {"idapp": mail.app, "retaindata": True}))
    sent = ok(send(basic(mail)))
    ok(by_id("emails_cancel", sent["id"]))
    assert len(mail.objects()) == 1


@pytest.mark.parametrize("status", ["R", "F", "E", "C"])
def test_only_a_queued_email_can_be_cancelled(mail: Mail, status: str) -> None:
    sent = ok(send(basic(mail)))
    set_status(mail, sent["id"], status)
    refused(by_id("emails_cancel", sent["id"]), *NOT_CANCELLABLE)
    record = mail.record(sent["id"])
    assert record is not None
    assert record["status"] == {"S": status}


def test_cancel_needs_its_app(mail: Mail) -> None:
    sent = ok(send(basic(mail)))
    ok(call("apps_remove", {"idapp": mail.app}))
    refused(by_id("emails_cancel", sent["id"]), "APP_NOT_FOUND", "App not found")


def test_a_cancel_racing_a_claim_has_one_winner(mail: Mail) -> None:
    """The sender's claim and the cancel are both conditional on Q: one of them wins, never both."""
    sent = ok(send(basic(mail)))
    record = mail.record(sent["id"])
    assert record is not None
    claimed = wiring.email_repository().claim(sent["id"], 0, int(time.time()), int(time.time()) + 60)
    assert claimed is not None
    refused(by_id("emails_cancel", sent["id"]), *NOT_CANCELLABLE)


# --- emails/remove -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Q", "R"])
def test_an_unfinished_email_cannot_be_removed(mail: Mail, status: str) -> None:
    sent = ok(send(basic(mail)))
    set_status(mail, sent["id"], status)
    refused(by_id("emails_remove", sent["id"]), *NOT_REMOVABLE)
    assert mail.record(sent["id"]) is not None
    assert len(mail.objects()) == 1


@pytest.mark.parametrize("status", ["F", "E", "C"])
def test_remove_erases_the_record_its_logs_and_its_content(mail: Mail, status: str) -> None:
    ok(call("apps_save", {"idapp": mail.app, "retaindata": True}))  # the content is still there
    sent, other = ok(send(basic(mail))), ok(send(basic(mail)))
    add_logs(mail, sent["id"])
    add_logs(mail, other["id"])
    set_status(mail, sent["id"], status)
    reply = by_id("emails_remove", sent["id"])
    assert reply.status == 200
    assert reply.text == ""
    assert mail.record(sent["id"]) is None
    assert {row["idsending"]["S"] for row in log_rows(mail)} == {other["id"]}
    assert len(mail.objects()) == 1  # the other e-mail's
    refused(info(sent["id"]), *NOT_FOUND)
    refused(by_id("emails_remove", sent["id"]), *NOT_FOUND)


def test_remove_does_not_need_the_app(mail: Mail) -> None:
    sent = ok(send(basic(mail)))
    set_status(mail, sent["id"], "F")
    ok(call("apps_remove", {"idapp": mail.app}))
    assert by_id("emails_remove", sent["id"]).status == 200


# --- Idempotency-Key --------------------------------------------------------------------------------------


def send_keyed(params: dict[str, Any], key: str, account: str = ACCOUNT_A) -> Reply:
    event = load_event("emails_send")
    event["headers"]["Idempotency-Key"] = key
    event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return call("emails_send", params, event=event, account=account)


def test_a_retry_with_the_same_key_answers_the_first_result_and_sends_nothing(mail: Mail) -> None:
    first = ok(send_keyed(basic(mail), "order-1001"))
    again = ok(send_keyed(basic(mail), "order-1001"))
    assert again == first
    assert len(mail.records()) == 1
    assert len(mail.objects()) == 1
    assert mail.messages() == [{"idemail": first["id"], "turn": 0}]


def test_the_same_key_with_another_request_is_a_406_naming_it(mail: Mail) -> None:
    ok(send_keyed(basic(mail), "order-1002"))
    reply = send_keyed(basic(mail, subject="Another subject"), "order-1002")
    body = error(reply, 406, "IDEMPOTENCY_KEY_REUSED")
    assert "Idempotency-Key" in body["message"]
    assert len(mail.records()) == 1


def test_the_same_key_with_other_attachment_bytes_is_another_request(mail: Mail) -> None:
    fields = [("idapp", mail.app), ("tos", TO), ("subject", "Files"), ("body", "See.")]

    def with_file(data: bytes) -> Reply:
        body, content_type = multipart_body(fields, [FileField("attachments", "a.bin", data)])
        event = multipart_event(body, content_type)
        event["headers"]["Idempotency-Key"] = "files-1"
        event["multiValueHeaders"]["Idempotency-Key"] = ["files-1"]
        return call("emails_send", event=event)

    first = ok(with_file(b"\x00first"))
    assert ok(with_file(b"\x00first")) == first
    error(with_file(b"\x00other"), 406, "IDEMPOTENCY_KEY_REUSED")
    assert len(mail.records()) == 1


def test_keys_are_per_account(mail: Mail) -> None:
    mine = ok(send_keyed(basic(mail), "shared-key"))
    other_app = new_app("Theirs", account=ACCOUNT_B)
    ok(call("smtps_save", {"idapp": other_app, "host": "smtp.example.net", "port": 587}, account=ACCOUNT_B))
    theirs = ok(send_keyed({**basic(mail), "idapp": other_app}, "shared-key", account=ACCOUNT_B))
    assert theirs["id"] != mine["id"]
    assert len(mail.records()) == 2


def test_a_refused_send_stores_nothing_under_its_key(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTHLY_EMAIL_LIMIT", "1")
    ok(send(basic(mail)))
    refused(send_keyed(basic(mail), "after-limit"), "MONTHLY_LIMIT_EXCEEDED", "Monthly email limit exceeded")
    monkeypatch.setenv("MONTHLY_EMAIL_LIMIT", "0")
    wiring.reset()  # the settings are read once per container
    assert ok(send_keyed(basic(mail), "after-limit"))["status"] == "Q"  # the retry runs again


def test_concurrent_retries_with_one_key_send_one_email(mail: Mail) -> None:
    replies = at_once(4, lambda: send_keyed(basic(mail), "burst-1"))
    statuses = Counter(reply.status for reply in replies)
    assert statuses[200] >= 1
    # a retry while the first runs is told to try again in a moment
    assert {reply.json["error"] for reply in replies if reply.status != 200} <= {"CONFLICT"}
    assert len({reply.json["id"] for reply in replies if reply.status == 200}) == 1
    assert len(mail.records()) == 1
    assert len(mail.messages()) == 1


def test_a_malformed_key_is_a_400(mail: Mail) -> None:
    fields = error(send_keyed(basic(mail), "has spaces in it"), 400, "BAD_REQUEST")["fields"]
    assert list(fields) == ["Idempotency-Key"]


# --- tracking: emails/info's opens, emails/remove's forgetting ---------------------------------------------


def track(email_id: str, kind: str, url: str | None = None, recipient: str = TO) -> TrackEvent:
    """An open or a click as the public routes record it (smtphub.tracking)."""
    event = TrackEvent(new_id(), email_id, recipient, kind, iso_of(time.time()), url, "192.0.2.7", EXPIRES)
    assert wiring.tracking_repository().record(event)
    return event


EXPIRES = 1_900_000_000


def test_info_shows_the_opens_as_trackingdtos_and_remove_forgets_them(mail: Mail) -> None:
    sent, other = ok(send(basic(mail))), ok(send(basic(mail)))
    opened = track(sent["id"], OPENED)
    track(sent["id"], CLICKED, "https://shop.example/sale")
    kept = track(other["id"], OPENED)

    shown = ok(info(sent["id"]))["opened"]
    assert shown == [
        {"_id": opened.id, "idsending": sent["id"], "idemailing": None, "email": TO, "type": "OPEN",
         "url": None, "created": opened.created, "ip": "192.0.2.7"}
    ]  # fmt: skip
    # the Java client's TrackingDTO binds it
    tracking_dto = {"_id": "String", "idsending": "String", "email": "String", "type": "String",
                    "url": "String", "created": "LocalDateTime", "ip": "String"}  # fmt: skip
    assert not dto_problems(shown[0], tracking_dto)

    set_status(mail, sent["id"], "F")
    assert by_id("emails_remove", sent["id"]).status == 200
    assert wiring.tracking_repository().of_email(sent["id"]) == []
    assert wiring.tracking_repository().of_email(other["id"]) == [kept]
