"""smtphub.emails (the e-mail's record, its log, its queue messages and the monthly count) against moto: each
state change is one conditional write that exactly one request or sender wins."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from smtphub.accounts.monthly import MonthlyCounter
from smtphub.emails.logs import LogRepository
from smtphub.emails.models import CANCELLED, FINISHED, QUEUED, SENDING, Email, LogEntry
from smtphub.emails.queue import SendQueue, Turn
from smtphub.emails.repository import EmailRepository
from smtphub.errors import (
    EmailNotCancellable,
    EmailNotFound,
    EmailNotRemovable,
    MonthlyLimitExceeded,
)
from smtphub.ids import new_id
from tests.support.accounts import ACCOUNTS_TABLE
from tests.support.aws import EMAIL_LOGS_TABLE, EMAILS_TABLE, Aws
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B

NOW = 1_795_514_400  # 2026-11-24 10:00 UTC
APP = "6741f0a2c3d4e5f6a7b8c9d0"


def email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "id": new_id(),
        "account_id": ACCOUNT_A,
        "created": "2026-11-24T10:00:00.000Z",
        "modified": "2026-11-24T10:00:00.000Z",
        "status": QUEUED,
        "app_id": APP,
        "sender": "shop@example.com",
        "tos": ["a@example.net", "b@example.net"],
        "tonames": ["A", ""],
        "bccs": ["audit@example.org"],
        "messageid": "<x@smtp-hub>",
        "contentkey": "content/x",
        "inittime": "2026-11-24T10:00:00.000Z",
        "logsdeleledby": "2026-12-24T10:00:00.000Z",
        "expires": NOW + 30 * 86400,
    }
    return Email(**(fields | changes))


@pytest.fixture
def emails(aws: Aws) -> EmailRepository:
    return EmailRepository(aws.dynamodb, EMAILS_TABLE)


def test_an_email_reads_back_as_written_and_only_for_its_account(emails: EmailRepository) -> None:
    written = email(ccs=["c@example.net"], replyto="r@example.com", urlattachments=["https://x.example/a"])
    emails.create(written)

    assert emails.get_owned(ACCOUNT_A, written.id) == written
    assert written.recipients == ["a@example.net", "b@example.net", "c@example.net", "audit@example.org"]
    with pytest.raises(EmailNotFound):
        emails.get_owned(ACCOUNT_B, written.id)
    with pytest.raises(EmailNotFound):
        emails.get_owned(ACCOUNT_A, new_id())


def test_a_create_counts_its_recipients_in_the_month_and_is_refused_beyond_the_limit(
    aws: Aws, emails: EmailRepository
) -> None:
    month = MonthlyCounter(ACCOUNTS_TABLE, limit=5)
    first = email()
    emails.create(first, month.steps(ACCOUNT_A, len(first.recipients), NOW))  # 3 of 5
    emails.create(email(tos=["x@example.net"], bccs=[]), month.steps(ACCOUNT_A, 1, NOW))  # 4 of 5
    refused = email()
    with pytest.raises(MonthlyLimitExceeded):
        emails.create(refused, month.steps(ACCOUNT_A, 3, NOW))  # 7 of 5: nothing written, nothing counted

    assert emails.get(refused.id) is None
    item = aws.dynamodb.get_item(TableName=ACCOUNTS_TABLE, Key={"pk": {"S": f"emails#{ACCOUNT_A}#202611"}})
    assert item["Item"]["count"] == {"N": "4"}
    assert int(item["Item"]["expires"]["N"]) > datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    emails.create(email(tos=["x@example.net"], bccs=[]), month.steps(ACCOUNT_A, 1, NOW))  # exactly 5
    emails.create(email(), month.steps(ACCOUNT_B, 3, NOW))  # another account's count
    next_month = NOW + 7 * 86400  # December
    emails.create(email(), month.steps(ACCOUNT_A, 3, next_month))


def test_no_limit_means_no_counter(aws: Aws, emails: EmailRepository) -> None:
    emails.create(email(), MonthlyCounter(ACCOUNTS_TABLE, limit=0).steps(ACCOUNT_A, 3, NOW))

    assert aws.dynamodb.scan(TableName=ACCOUNTS_TABLE)["Items"] == []


def test_concurrent_creates_never_pass_the_monthly_limit(aws: Aws, emails: EmailRepository) -> None:
    month = MonthlyCounter(ACCOUNTS_TABLE, limit=10)
    results: list[str] = []

    def send() -> None:
        try:
            emails.create(email(tos=["one@example.net"], bccs=[]), month.steps(ACCOUNT_A, 1, NOW))
            results.append("ok")
        except MonthlyLimitExceeded:
            results.append("refused")

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("ok") == 10
    assert len(aws.dynamodb.scan(TableName=EMAILS_TABLE)["Items"]) == 10


def test_cancel_only_from_queued_and_only_by_its_account(emails: EmailRepository) -> None:
    queued = email(wakeat=NOW + 120)
    emails.create(queued)

    with pytest.raises(EmailNotFound):
        emails.cancel(ACCOUNT_B, queued.id, "2026-11-24T10:01:00.000Z", NOW, "2026-12-24T10:01:00.000Z")
    cancelled = emails.cancel(
        ACCOUNT_A, queued.id, "2026-11-24T10:01:00.000Z", NOW, "2026-12-24T10:01:00.000Z"
    )

    assert cancelled.status == CANCELLED
    assert cancelled.finishtime == "2026-11-24T10:01:00.000Z"
    assert cancelled.wakeat is None  # out of the sweep's index
    assert emails.claim(queued.id, 0, NOW, NOW + 300) is None  # a cancelled e-mail is never sent
    with pytest.raises(EmailNotCancellable):
        emails.cancel(ACCOUNT_A, queued.id, "2026-11-24T10:02:00.000Z", NOW, "2026-12-24T10:01:00.000Z")
    with pytest.raises(EmailNotFound):
        emails.cancel(ACCOUNT_A, new_id(), "2026-11-24T10:02:00.000Z", NOW, "x")


def test_a_claimed_email_cannot_be_cancelled(emails: EmailRepository) -> None:
    queued = email()
    emails.create(queued)
    assert emails.claim(queued.id, 0, NOW, NOW + 300) is not None

    with pytest.raises(EmailNotCancellable):
        emails.cancel(ACCOUNT_A, queued.id, "2026-11-24T10:01:00.000Z", NOW, "x")


def test_one_claim_per_turn_however_many_messages(emails: EmailRepository) -> None:
    queued = email(wakeat=NOW + 120)
    emails.create(queued)
    claims: list[Email | None] = []
    threads = [
        threading.Thread(target=lambda: claims.append(emails.claim(queued.id, 0, NOW, NOW + 300)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [claim for claim in claims if claim is not None]
    assert len(won) == 1
    assert won[0].status == SENDING
    assert won[0].turn == 1
    assert won[0].lease == NOW + 300
    assert won[0].wakeat is None
    assert emails.claim(queued.id, 1, NOW, NOW + 300) is None  # a message for a turn that never was


def test_a_dead_senders_claim_is_taken_over_once_its_lease_ran_out(emails: EmailRepository) -> None:
    queued = email()
    emails.create(queued)
    first = emails.claim(queued.id, 0, NOW, NOW + 300)
    assert first is not None

    assert emails.claim(queued.id, 0, NOW + 299, NOW + 600) is None  # redelivered while still held
    second = emails.claim(queued.id, 0, NOW + 301, NOW + 601)  # the lease ran out: at least once
    assert second is not None
    assert second.turn == 1
    assert second.holder != first.holder
    third = emails.claim(queued.id, 0, NOW + 602, NOW + 902)  # the second died too
    assert third is not None
    assert third.holder not in (first.holder, second.holder)
    assert not emails.finish(second, {"status": FINISHED})
    second = third
    assert not emails.finish(first, {"status": FINISHED})  # the first sender, late: nothing written
    assert emails.requeue(first, {}, wake_at=None) is None
    assert emails.finish(second, {"status": FINISHED, "finishtime": "2026-11-24T10:05:00.000Z"})
    done = replace(second, status=FINISHED, finishtime="2026-11-24T10:05:00.000Z", lease=None, holder=None)
    assert emails.get(queued.id) == done
    assert emails.claim(queued.id, 0, NOW + 9999, NOW + 99999) is None  # a late redelivery of a finished one


def test_finish_and_requeue_only_by_the_holder(emails: EmailRepository) -> None:
    queued = email()
    emails.create(queued)
    claimed = emails.claim(queued.id, 0, NOW, NOW + 300)
    assert claimed is not None

    turn = emails.requeue(claimed, {"attempts": 1}, wake_at=NOW + 3600)
    assert turn == 2
    held = emails.get(queued.id)
    assert held is not None
    assert (held.status, held.turn, held.attempts, held.wakeat, held.lease) == (
        QUEUED,
        2,
        1,
        NOW + 3600,
        None,
    )
    assert emails.requeue(claimed, {}, wake_at=None) is None  # no longer the holder
    assert list(emails.due(NOW + 3600)) == [(queued.id, 2, NOW + 3600)]
    assert list(emails.due(NOW + 3599)) == []

    again = emails.claim(queued.id, 2, NOW + 3600, NOW + 3900)
    assert again is not None
    assert list(emails.due(NOW + 9999)) == []  # a claim takes it out of the index
    assert emails.requeue(again, {}, wake_at=None) == 4
    requeued = emails.get(queued.id)
    assert requeued is not None
    assert requeued.wakeat is None


def test_the_sweep_unholds_only_the_turn_it_sent(emails: EmailRepository) -> None:
    held = email(wakeat=NOW + 60)
    emails.create(held)

    assert not emails.unhold(held.id, 7)
    assert emails.unhold(held.id, 0)
    assert list(emails.due(NOW + 999)) == []
    assert emails.claim(held.id, 0, NOW, NOW + 300) is not None


def test_remove_only_once_done_and_only_by_its_account(emails: EmailRepository) -> None:
    queued = email()
    emails.create(queued)
    with pytest.raises(EmailNotRemovable):
        emails.remove(ACCOUNT_A, queued.id)
    claimed = emails.claim(queued.id, 0, NOW, NOW + 300)
    assert claimed is not None
    with pytest.raises(EmailNotRemovable):
        emails.remove(ACCOUNT_A, queued.id)
    assert emails.finish(claimed, {"status": FINISHED})

    with pytest.raises(EmailNotFound):
        emails.remove(ACCOUNT_B, queued.id)
    removed = emails.remove(ACCOUNT_A, queued.id)
    assert removed.status == FINISHED
    assert emails.get(queued.id) is None
    with pytest.raises(EmailNotFound):
        emails.remove(ACCOUNT_A, queued.id)


def test_log_rows_in_order_with_the_emails_expiry_and_deleted_with_it(aws: Aws) -> None:
    logs = LogRepository(lambda: aws.dynamodb, EMAIL_LOGS_TABLE)
    mine, other = new_id(), new_id()
    rows = [
        LogEntry(
            f"{n:024x}", mine, "2026-11-24T10:00:00.000Z", f"r{n}@example.net", "OK", "s1", APP, 250, "ok"
        )
        for n in range(30)
    ]
    logs.add(
        [*rows, LogEntry(new_id(), other, "2026-11-24T10:00:00.000Z", "x@example.net", "OK")],
        {mine: NOW + 100, other: NOW + 200},
    )

    assert logs.of_email(mine) == rows
    item = aws.dynamodb.get_item(
        TableName=EMAIL_LOGS_TABLE, Key={"idsending": {"S": mine}, "_id": {"S": rows[0].id}}
    )
    assert item["Item"]["expires"] == {"N": str(NOW + 100)}
    assert logs.delete_of_email(mine) == 30
    assert logs.of_email(mine) == []
    assert len(logs.of_email(other)) == 1


def test_queue_messages_carry_ids_and_turns_only_with_their_delays() -> None:
    from moto import mock_aws

    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="send")["QueueUrl"]
        SendQueue(lambda: sqs, url).send(
            [Turn(f"{n:024x}", n, delay=0) for n in range(12)] + [Turn("later", 1, 5000)]
        )
        bodies: list[str] = []
        for _ in range(5):
            bodies += [
                m["Body"]
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            ]

    assert sorted(Turn.parse(body).turn for body in bodies) == list(
        range(12)
    )  # the delayed one is not there yet
    assert Turn.parse(bodies[0]).email_id in {f"{n:024x}" for n in range(12)}
    with pytest.raises(ValueError, match="idemail"):
        Turn.parse('{"idemail": "x", "turn": true}')
