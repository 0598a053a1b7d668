"""POST /private/emails/send through its real handler against moto (issue 24): upstream's 406s, each with its
`error` code, in the order they are judged; what is stored (the record, the content in S3, the month's count)
and what is queued; the crash-safe order of those writes; the content byte for byte."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from smtphub import aws as clients
from smtphub.emails import content
from smtphub.emails.queue import MAX_DELAY
from tests.support.api import at_once, error, new_app, ok
from tests.support.aws import ACCOUNTS_TABLE, SEND_STATE_TABLE, SMTPS_TABLE
from tests.support.emails import TO, FileField, Mail, basic, send, send_multipart
from tests.support.lambdas import ACCOUNT_B, call, load_event

pytest_plugins = ["tests.support.emails"]


def refused(reply: Any, code: str, message: str) -> None:
    body = error(reply, 406, code)
    assert body["message"] == message


def sent_batches(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every SendMessageBatch the function makes from here on (its entries: body and delay)."""
    batches: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        batches.append(params)

    clients.client("sqs").meta.events.register("provide-client-params.sqs.SendMessageBatch", record)
    return batches


def send_date(seconds_ahead: float, offset_hours: int = 1) -> str:
    """A senddate as the contract spells it: yyyy-MM-dd'T'HH:mm:ssZ, e.g. 2026-12-24T10:00:00+0100."""
    zone = timezone(timedelta(hours=offset_hours))
    return datetime.fromtimestamp(time.time() + seconds_ahead, zone).strftime("%Y-%m-%dT%H:%M:%S%z")


def month_count(mail: Mail, account: str = "aaaaaaaa-0000-4000-8000-00000000000a") -> int:
    key = f"emails#{account}#{datetime.now(UTC):%Y%m}"
    item = mail.aws.dynamodb.get_item(TableName=ACCOUNTS_TABLE, Key={"pk": {"S": key}}).get("Item")
    return int(item["count"]["N"]) if item else 0


# --- what a send stores and queues ------------------------------------------------------------------


def test_a_send_stores_the_record_the_content_and_the_count_then_queues_the_id(mail: Mail) -> None:
    reply = ok(send(basic(mail, tos=f"{TO},Bo@example.org", tonames="Ana", ccs="cc@example.net")))

    assert set(reply) == {
        "id", "status", "inittime", "logsdeleledby", "attachments", "blacklisted", "autoblacklisted",
        "notvalidrecipients",
    }  # fmt: skip
    assert reply["status"] == "Q"
    assert mail.messages() == [{"idemail": reply["id"], "turn": 0}]  # ids only: no address, no content
    record = mail.record(reply["id"])
    assert record is not None
    assert record["tos"] == {"L": [{"S": TO}, {"S": "Bo@example.org"}]}
    assert record["tonames"] == {"L": [{"S": "Ana"}, {"S": ""}]}
    assert record["from"] == {"S": "demo@example.com"}  # the app's default (the account's e-mail)
    assert "subject" not in record
    assert "body" not in record
    assert record["messageid"]["S"] == f"<{reply['id']}@example.com>"
    # held for the sweep a little after it is due, should its message be lost
    assert int(record["wakeat"]["N"]) - time.time() == pytest.approx(120, abs=5)
    assert mail.content(reply["id"]) == content.Content("Your order", "Thank you.")
    assert month_count(mail) == 3  # each recipient counts


def test_inittime_and_logsdeleledby_are_now_and_thirty_days_on(mail: Mail) -> None:
    before = time.time()
    reply = ok(send(basic(mail)))
    start = datetime.fromisoformat(reply["inittime"]).timestamp()
    assert before - 0.01 <= start <= time.time()
    deleted = datetime.fromisoformat(reply["logsdeleledby"]).timestamp()
    assert deleted - start == pytest.approx(30 * 86400, abs=1)
    assert int(mail.record(reply["id"])["expires"]["N"]) == pytest.approx(deleted, abs=1)  # type: ignore[index]


def test_inittime_waits_for_the_apps_pacing(mail: Mail) -> None:
    """The app's next e-mail may go only once its pacing lets it (SendStateTable): inittime says so."""
    later_ms = int((time.time() + 90) * 1000)
    mail.aws.dynamodb.put_item(
        TableName=SEND_STATE_TABLE,
        Item={
            "pk": {"S": f"pace#{mail.app}"},
            "next": {"N": str(later_ms)},
            "tail": {"N": str(later_ms - 5)},
        },
    )
    reply = ok(send(basic(mail)))
    assert datetime.fromisoformat(reply["inittime"]).timestamp() == pytest.approx(later_ms / 1000, abs=0.002)
    assert mail.messages() == [{"idemail": reply["id"], "turn": 0}]  # queued now: the sender paces it


def test_a_senddate_within_fifteen_minutes_is_the_messages_delay(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = sent_batches(monkeypatch)
    before = time.time()
    reply = ok(send(basic(mail, senddate=send_date(600))))
    after = time.time()
    ((entry,),) = [batch["Entries"] for batch in batches]
    assert json.loads(entry["MessageBody"]) == {"idemail": reply["id"], "turn": 0}
    record = mail.record(reply["id"])
    assert record is not None
    due = datetime.fromisoformat(reply["inittime"]).timestamp()
    # Bounded by the clock before and after the request, which a loaded machine may make slow.
    assert before + 600 - 1 <= due <= after + 600 + 1
    assert due - after - 1 <= entry["DelaySeconds"] <= due - before + 1  # the wait left when it was queued
    assert int(record["wakeat"]["N"]) == pytest.approx(due + 120, abs=1)  # the safety net, after it is due


def test_a_senddate_beyond_fifteen_minutes_is_held_for_the_sweep(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = sent_batches(monkeypatch)
    reply = ok(send(basic(mail, senddate=send_date(MAX_DELAY + 3600, offset_hours=-5))))
    assert batches == []  # no message: the sweep sends it when it is due
    record = mail.record(reply["id"])
    assert record is not None
    due = time.time() + MAX_DELAY + 3600
    assert int(record["wakeat"]["N"]) == pytest.approx(due, abs=2)
    assert record["held"] == {"S": "Q"}
    assert datetime.fromisoformat(reply["inittime"]).timestamp() == pytest.approx(due, abs=2)


def test_a_senddate_farther_than_the_bucket_keeps_content_is_refused(mail: Mail) -> None:
    fields = error(send(basic(mail, senddate=send_date(366 * 86400))), 400, "BAD_REQUEST")["fields"]
    assert fields == {"senddate": "must be at most 365 days ahead"}
    assert mail.records() == []
    assert mail.objects() == []


def test_a_lost_message_is_not_a_failed_send(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    """SendMessage fails after the record is stored: the answer is the e-mail, held for the sweep."""
    monkeypatch.setenv("SEND_QUEUE_URL", mail.queue_url + "-gone")
    reply = ok(send(basic(mail)))
    record = mail.record(reply["id"])
    assert record is not None
    assert record["held"] == {"S": "Q"}
    assert mail.messages() == []


def test_attachments_are_stored_byte_for_byte(mail: Mail) -> None:
    tricky = os.urandom(3000) + b"\r\n--boundary--\r\n" + bytes(range(256)) + b"\r\n"
    files = [
        FileField("attachments", "C:\\Users\\ana\\report.bin", tricky),
        FileField(
            "attachments", "notes.txt", "caf\u00e9\r\n".encode("latin-1"), "text/plain; charset=latin-1"
        ),
        FileField("attachments", "empty", b""),
    ]
    reply = ok(
        send_multipart([("idapp", mail.app), ("tos", TO), ("subject", "Files"), ("body", "See.")], files)
    )
    assert reply["attachments"] == ["report.bin", "notes.txt", "empty"]
    stored = mail.content(reply["id"])
    assert [(a.name, a.content_type, a.data) for a in stored.attachments] == [
        ("report.bin", "application/octet-stream", tricky),
        ("notes.txt", "text/plain", "caf\u00e9\r\n".encode("latin-1")),
        ("empty", "application/octet-stream", b""),
    ]


def test_url_attachments_are_recorded_for_the_sender_and_shown_without_their_query(mail: Mail) -> None:
    url = "https://files.example.net/invoice-1001.pdf?X-Amz-Signature=abc123"
    reply = ok(send(basic(mail, urlattachments=url)))
    assert reply["attachments"] == ["https://files.example.net/invoice-1001.pdf"]
    record = mail.record(reply["id"])
    assert record is not None
    assert record["attachmenttype"] == {"S": "URL"}
    assert record["urlattachments"] == {"L": [{"S": url}]}


def test_a_from_and_names_given_are_kept(mail: Mail) -> None:
    reply = ok(
        send(
            basic(
                mail, **{"from": "news@shop.example", "fromname": "Shop News", "replyto": "help@shop.example"}
            )
        )
    )
    record = mail.record(reply["id"])
    assert record is not None
    assert (record["from"], record["fromname"], record["replyto"]) == (
        {"S": "news@shop.example"},
        {"S": "Shop News"},
        {"S": "help@shop.example"},
    )


# --- recipients that are not addresses ----------------------------------------------------------------


def test_invalid_recipients_are_skipped_and_listed_while_a_to_is_valid(mail: Mail) -> None:
    params = basic(mail, tos=f"not-an-address,{TO},a@b", tonames="Nobody,Ana,AB", ccs="cc@example.net,cc@",
                   bccs="ana@EXAMPLE.net")  # fmt: skip
    reply = ok(send(params))
    assert reply["notvalidrecipients"] == ["not-an-address", "a@b", "cc@"]
    record = mail.record(reply["id"])
    assert record is not None
    assert record["tos"] == {"L": [{"S": TO}]}
    assert record["tonames"] == {"L": [{"S": "Ana"}]}  # the name stays with its address
    assert record["ccs"] == {"L": [{"S": "cc@example.net"}]}
    assert record["bccs"] == {"L": []}  # already a recipient (addresses compare without case)
    assert month_count(mail) == 2


def test_one_invalid_to_is_upstreams_to_is_not_a_valid_email(mail: Mail) -> None:
    refused(send(basic(mail, tos="ana.example.net")), "INVALID_TO", "to is not a valid email")


def test_several_invalid_tos_are_all_to_recipients_are_invalid(mail: Mail) -> None:
    reply = send(basic(mail, tos="ana.example.net,bo@", ccs="cc@example.net"))
    refused(reply, "NO_VALID_RECIPIENTS", "All TO recipients are invalid")
    assert mail.records() == []
    assert mail.objects() == []
    assert month_count(mail) == 0


def test_an_invalid_from_or_replyto(mail: Mail) -> None:
    refused(send(basic(mail, **{"from": "shop"})), "INVALID_FROM", "from is not a valid email")
    refused(send(basic(mail, replyto="help@")), "INVALID_REPLYTO", "replyto is not a valid email")


def test_tracking_or_an_unsubscribe_link_with_cc_or_bcc(mail: Mail) -> None:
    for copy in ("ccs", "bccs"):
        reply = send(basic(mail, includetracking="true", **{copy: "cc@example.net"}))
        refused(reply, "TRACKING_WITH_CC", "Cannot use includetracking=true with CC or BCC")
        reply = send(basic(mail, includeunregisterlink="true", **{copy: "cc@example.net"}))
        refused(reply, "UNREGISTER_WITH_CC", "Cannot use includeUnregisterLink=true with CC or BCC")
    assert ok(send(basic(mail, includetracking="true", includeunregisterlink="true", mimetype="text/html")))


def test_all_to_recipients_blacklisted(mail: Mail, outbox: Any) -> None:
    """The app's real blacklist (BlacklistTable, through blacklist/add): listed recipients are skipped and
    answered in `blacklisted`, the record (what the sender sends to) keeps only the others; all TOs listed
    is a 406. Only an app with useblacklist consults it."""
    for address in (TO, "bcc@example.net"):
        ok(call("blacklist_add", {"idapp": mail.app, "email": address}))
    ok(call("apps_save", {"idapp": mail.app, "useblacklist": True}))
    refused(send(basic(mail)), "ALL_BLACKLISTED", "All TO recipients are blacklisted")
    reply = ok(send(basic(mail, tos=f"{TO.upper()},bo@example.org", bccs="bcc@example.net")))
    assert reply["blacklisted"] == [TO.upper(), "bcc@example.net"]
    record = mail.record(reply["id"])
    assert record is not None
    assert record["tos"] == {"L": [{"S": "bo@example.org"}]}
    assert "bccs" not in record or record["bccs"] == {"L": []}
    ok(call("apps_save", {"idapp": mail.app, "useblacklist": False}))
    assert ok(send(basic(mail)))["blacklisted"] == []  # an app that does not use its blacklist


# --- the app, its servers, the account -------------------------------------------------------------------


def test_another_accounts_app_or_a_removed_one_is_not_found(mail: Mail) -> None:
    refused(send(basic(mail), account=ACCOUNT_B), "APP_NOT_FOUND", "App not found")
    other = new_app("Other")
    ok(call("apps_remove", {"idapp": other}))
    refused(send(basic(mail, idapp=other)), "APP_NOT_FOUND", "App not found")


def test_an_app_without_an_active_server(mail: Mail) -> None:
    mail.aws.dynamodb.update_item(
        TableName=SMTPS_TABLE,
        Key={"_id": {"S": mail.smtp}},
        UpdateExpression="SET #s = :d",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":d": {"S": "D"}},
    )
    refused(send(basic(mail)), "NO_ACTIVE_SMTP", "No active SMTP for App")
    empty = new_app("Empty")
    refused(send(basic(mail, idapp=empty)), "NO_ACTIVE_SMTP", "No active SMTP for App")
    assert mail.objects() == []


def test_the_monthly_limit(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTHLY_EMAIL_LIMIT", "3")
    ok(send(basic(mail, tos=f"{TO},bo@example.org")))  # 2 of 3
    reply = send(basic(mail, tos=f"{TO},bo@example.org"))  # 4 of 3: refused, nothing counted or kept
    refused(reply, "MONTHLY_LIMIT_EXCEEDED", "Monthly email limit exceeded")
    assert month_count(mail) == 2
    assert len(mail.records()) == 1
    assert len(mail.objects()) == 1  # the refused e-mail's content was deleted
    ok(send(basic(mail)))  # 3 of 3
    refused(send(basic(mail)), "MONTHLY_LIMIT_EXCEEDED", "Monthly email limit exceeded")
    refused(send(basic(mail, tos=",".join(f"r{n}@example.net" for n in range(4)))),
            "MONTHLY_LIMIT_EXCEEDED", "Monthly email limit exceeded")  # fmt: skip


def test_the_monthly_limit_holds_under_concurrent_sends(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTHLY_EMAIL_LIMIT", "5")
    replies = at_once(8, lambda: send(basic(mail)))
    assert Counter(reply.status for reply in replies) == {200: 5, 406: 3}
    assert {reply.json["error"] for reply in replies if reply.status == 406} == {"MONTHLY_LIMIT_EXCEEDED"}
    assert month_count(mail) == 5
    assert len(mail.records()) == 5
    assert len(mail.objects()) == 5
    assert len(mail.messages()) == 5


def test_a_limit_of_zero_is_no_limit(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONTHLY_EMAIL_LIMIT", "0")
    assert ok(send(basic(mail, tos=",".join(f"r{n}@example.net" for n in range(50)))))
    assert month_count(mail) == 0  # nothing counted, no counter written


# --- where a send comes from (originserver, origindomain) -------------------------------------------------


def send_from(mail: Mail, ip: str, headers: dict[str, str] | None = None) -> Any:
    event = load_event("emails_send")
    event["requestContext"]["identity"]["sourceIp"] = ip
    for name, value in (headers or {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return call("emails_send", basic(mail), event=event)


def test_originserver_admits_only_its_addresses(mail: Mail) -> None:
    ok(call("apps_save", {"idapp": mail.app, "originserver": "192.0.2.10,2001:db8::7,localhost"}))
    assert ok(send_from(mail, "192.0.2.10"))
    assert ok(send_from(mail, "2001:db8:0:0::7"))  # the same address, spelled otherwise
    assert ok(send_from(mail, "127.0.0.1"))  # localhost, resolved (no DNS checks: the system's lookup)
    refused(
        send_from(mail, "203.0.113.7"), "REMOTE_SERVER_NOT_ALLOWED", "Remote server not allowed: 203.0.113.7"
    )


def test_origindomain_admits_pages_of_its_domains(mail: Mail) -> None:
    ok(call("apps_save", {"idapp": mail.app, "origindomain": "shop.example"}))
    assert ok(send_from(mail, "198.51.100.1", {"Origin": "https://shop.example"}))
    assert ok(send_from(mail, "198.51.100.1", {"Referer": "https://www.shop.example:8443/cart?x=1"}))
    reply = send_from(mail, "198.51.100.1", {"Origin": "https://evil-shop.example"})
    refused(reply, "REMOTE_DOMAIN_NOT_ALLOWED", "Remote domain not allowed: evil-shop.example")
    reply = send_from(mail, "198.51.100.1")  # a server-side client names no page
    refused(reply, "REMOTE_DOMAIN_NOT_ALLOWED", "Remote domain not allowed: unknown")


# --- 400s: what the request alone decides -------------------------------------------------------------------


CHARSET = "must be a charset this service can send (UTF-8, ISO-8859-1, windows-1252, ...)"
DATE_FORMAT = (
    "must be a date and time with its offset, yyyy-MM-dd'T'HH:mm:ssZ (e.g. 2026-12-24T10:00:00+0100)"
)
NO_CONTROLS = "must not contain control, format or line separator characters"


def addresses(prefix: str, count: int) -> str:
    return ",".join(f"{prefix}{n}@example.net" for n in range(count))


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"idapp": None, "tos": None, "subject": None, "body": None},
         {"idapp": "is required", "tos": "is required", "subject": "is required", "body": "is required"}),
        ({"tos": " , ,"}, {"tos": "is required"}),
        ({"subjectencoding": "UTF-16"}, {"subjectencoding": CHARSET}),
        ({"bodyencoding": "rot13"}, {"bodyencoding": CHARSET}),
        ({"subject": "\u20ac100", "subjectencoding": "ISO-8859-1"},
         {"subject": "holds characters that subjectencoding (ISO-8859-1) cannot encode"}),
        ({"mimetype": "text/markdown"}, {"mimetype": "must be one of text/plain, text/html"}),
        ({"attachmenttype": "LINK"}, {"attachmenttype": "must be one of FILE, URL"}),
        ({"attachmenttype": "URL"}, {"urlattachments": "is required with attachmenttype=URL"}),
        ({"attachmenttype": "FILE", "urlattachments": "https://x.example/a.pdf"},
         {"urlattachments": "needs attachmenttype=URL"}),
        ({"urlattachments": "http://x.example/a.pdf"}, {"urlattachments": "each must be an https URL"}),
        ({"senddate": "2026-12-24 10:00"}, {"senddate": DATE_FORMAT}),
        ({"senddate": "2020-01-01T10:00:00+0100"}, {"senddate": "must be in the future"}),
        ({"subject": "Two\r\nlines"}, {"subject": NO_CONTROLS}),
        ({"tonames": "A,B"}, {"tonames": "must not have more names than tos has addresses"}),
        ({"tos": addresses("r", 60), "bccs": addresses("b", 41)},
         {"tos": "with ccs and bccs, must list at most 100 recipients"}),
        ({"includetracking": "maybe"}, {"includetracking": "must be true or false"}),
    ],
)  # fmt: skip
def test_malformed_parameters_are_400s(mail: Mail, changes: dict[str, Any], fields: dict[str, str]) -> None:
    assert error(send(basic(mail, **changes)), 400, "BAD_REQUEST")["fields"] == fields
    assert mail.records() == []


def test_every_charset_python_sends_is_taken(mail: Mail) -> None:
    for name in ("ISO-8859-1", "latin1", "windows-1252", "KOI8-R", "Shift_JIS", "utf8"):
        assert ok(send(basic(mail, subjectencoding=name, bodyencoding=name)))


def test_attachments_given_as_text_are_a_400(mail: Mail) -> None:
    fields = error(send(basic(mail, attachments="report.pdf")), 400, "BAD_REQUEST")["fields"]
    assert fields == {"attachments": "must be files: multipart/form-data file parts named attachments"}


def test_only_attachments_may_be_files(mail: Mail) -> None:
    reply = send_multipart([("idapp", mail.app), ("tos", TO), ("subject", "S"), ("body", "B")],
                           [FileField("body", "body.txt", b"x")])  # fmt: skip
    assert error(reply, 400, "BAD_REQUEST")["fields"] == {"body": "must be a form field, not a file"}
