"""An e-mail's outcome, announced once: the EmailsTable stream (moto) delivered to EmailsOutcomesFunction as
template.yaml's mapping says (its filter included), the webhook queued in WebhookQueue (moto SQS), the
event put on the default bus (moto EventBridge, a rule copying `smtp-hub` events to a queue), and the
deliveries POSTed by WebhooksSenderFunction's code to a local HTTPS receiver that verifies them with the
README's snippet and the secret apps/save showed once.

Once per outcome: across the e-mail's retries (Q -> R -> Q -> R -> F: one `sending_finished`), across
redeliveries of the stream's records (the same batch handed again: nothing more), and across a failure
half way (EventBridge refusing: the webhook is not queued twice when the record is retried).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import trustme

from local_runtime import events as sample_events
from local_runtime.loader import load_handler
from smtphub import netguard, wiring
from tests.support.api import ok
from tests.support.aws import EMAILS_TABLE, Stream
from tests.support.lambdas import ACCOUNT_A, LambdaContext, call
from tests.support.webhook_receiver import HOST, Receiver, running_receiver

pytestmark = pytest.mark.usefixtures("trust_test_ca")
EMAIL = "6741f1c4e5f6a7b8c9d0e1f2"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/1"


class Bus:
    """moto's SQS and EventBridge: WebhookQueue, its dead letters, and a queue that gets every `smtp-hub`
    event of the default bus."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.webhooks = self.sqs.create_queue(QueueName="webhooks")["QueueUrl"]
        dead = self.sqs.create_queue(QueueName="webhooks-dlq")["QueueUrl"]
        self.sink = self.sqs.create_queue(QueueName="events")["QueueUrl"]
        sink_arn = self.sqs.get_queue_attributes(QueueUrl=self.sink, AttributeNames=["QueueArn"])[
            "Attributes"
        ]
        bridge = boto3.client("events", region_name="us-east-1")
        bridge.put_rule(Name="all", EventPattern=json.dumps({"source": ["smtp-hub"]}))
        bridge.put_targets(Rule="all", Targets=[{"Id": "sink", "Arn": sink_arn["QueueArn"]}])
        for name, value in {
            "WEBHOOK_QUEUE_URL": self.webhooks,
            "WEBHOOK_DEAD_LETTER_QUEUE_URL": dead,
            "ALLOW_PRIVATE_ADDRESSES": "true",  # as `make run`: the receiver is on 127.0.0.1
        }.items():
            monkeypatch.setenv(name, value)
        wiring.reset()

    def take(self, url: str) -> list[dict[str, Any]]:
        """Every message waiting in the queue (delays ignored), removed."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found += messages

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.take(self.sink)]

    def send_webhooks(self, rounds: int = 10) -> None:
        """WebhooksSenderFunction's work on what WebhookQueue holds, until it is empty."""
        for _ in range(rounds):
            messages = self.take(self.webhooks)
            if not messages:
                return
            records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
            assert wiring.webhook_sender().handle({"Records": records}) == {"batchItemFailures": []}
        raise AssertionError("WebhookQueue never emptied")


@pytest.fixture
def receiver(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    real = netguard._lookup

    def lookup(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
        if host == HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
        return real(host, port, timeout)

    monkeypatch.setattr(netguard, "_lookup", lookup)
    with running_receiver(ca, "not known yet") as running:
        yield running


def app_with_hooks(receiver: Receiver) -> str:
    """An app whose two outcome webhooks point at the receiver; the receiver learns the secret the save
    showed, the one time it is shown."""
    saved = ok(
        call(
            "apps_save",
            {
                "name": "Shop",
                "webhook_sending_finished": receiver.url("/finished"),
                "webhook_sending_error": receiver.url("/error"),
            },
        )
    )
    receiver.secret = saved["webhooksecret"]
    return str(saved["_id"])


def write(aws: Any, idapp: str, *statuses: str, email: str = EMAIL) -> None:
    """The e-mail's record created in the first status, then moved through the others, one write each."""
    item = {
        "_id": {"S": email},
        "idapp": {"S": idapp},
        "iduser": {"S": ACCOUNT_A},
        "status": {"S": statuses[0]},
        "turn": {"N": "0"},
    }
    aws.dynamodb.put_item(TableName=EMAILS_TABLE, Item=item)
    for turn, status in enumerate(statuses[1:], start=1):
        aws.dynamodb.update_item(
            TableName=EMAILS_TABLE,
            Key={"_id": {"S": email}},
            UpdateExpression="SET #s = :s, turn = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}, ":t": {"N": str(turn)}},
        )


def test_retries_of_the_email_give_one_sending_finished_webhook_and_one_event(
    aws: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    idapp = app_with_hooks(receiver)
    stream = Stream(aws, "EmailsTable")
    write(aws, idapp, "Q", "R", "Q", "R", "F")
    # a later write to the finished e-mail (its content deleted, say) is no outcome either
    aws.dynamodb.update_item(
        TableName=EMAILS_TABLE,
        Key={"_id": {"S": EMAIL}},
        UpdateExpression="SET contentkey = :k",
        ExpressionAttributeValues={":k": {"S": "gone"}},
    )
    stream.drain()
    assert all(answer == {"batchItemFailures": []} for answer in stream.answers)
    (event,) = bus.events()
    assert (event["source"], event["detail-type"]) == ("smtp-hub", "Email sent")
    assert event["detail"] == {
        "idevent": event["detail"]["idevent"],
        "event": "sending_finished",
        "idapp": idapp,
        "iduser": ACCOUNT_A,
        "at": event["detail"]["at"],
        "idsending": EMAIL,
    }
    bus.send_webhooks()
    (request,) = receiver.received
    assert (request.path, request.signed, request.status) == ("/finished", True, 200)
    assert request.form["qm_idsending"] == EMAIL
    assert request.form["event"] == "sending_finished"
    assert request.form["idevent"] == event["detail"]["idevent"]  # one id for the webhook and the event


def test_a_failed_email_gives_one_sending_error(
    aws: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    idapp = app_with_hooks(receiver)
    stream = Stream(aws, "EmailsTable")
    write(aws, idapp, "Q", "R", "E")
    write(aws, idapp, "Q", "C", email="6741f1c4e5f6a7b8c9d0e1f3")  # cancelled: no outcome to announce
    stream.drain()
    assert [event["detail-type"] for event in bus.events()] == ["Email failed"]
    bus.send_webhooks()
    assert [(r.path, r.form["event"], r.signed) for r in receiver.received] == [
        ("/error", "sending_error", True)
    ]


def test_a_redelivered_stream_record_announces_nothing_again(
    aws: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    idapp = app_with_hooks(receiver)
    new = {"_id": {"S": EMAIL}, "idapp": {"S": idapp}, "iduser": {"S": ACCOUNT_A}}
    record = sample_events.build_stream_record(
        "MODIFY",
        {"_id": {"S": EMAIL}},
        "100",
        stream_arn=STREAM_ARN,
        view_type="NEW_AND_OLD_IMAGES",
        images={"OldImage": {**new, "status": {"S": "R"}}, "NewImage": {**new, "status": {"S": "F"}}},
    )
    handler = load_handler("functions/emails_outcomes/")
    for _ in range(3):  # Lambda hands a batch again after a failure in it, the records that went well too
        assert handler(sample_events.build_stream_event([record]), LambdaContext()) == {
            "batchItemFailures": []
        }
    assert len(bus.events()) == 1
    bus.send_webhooks()
    assert list(receiver.delivered().values()) == [1]


def test_a_failure_half_way_is_retried_and_does_only_what_is_left(
    aws: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    idapp = app_with_hooks(receiver)
    box = wiring.outbox()
    working = box.client

    class Refusing:
        def put_events(self, **request: Any) -> Any:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure"} for _ in request["Entries"]],
            }

    box._client = Refusing()  # type: ignore[assignment]  # EventBridge refuses the first time
    stream = Stream(aws, "EmailsTable")
    write(aws, idapp, "Q", "R", "F")
    stream.drain()
    assert stream.answers[-1]["batchItemFailures"]  # reported: Lambda retries from that record
    assert bus.events() == []
    box._client = working
    stream.drain()  # the retry
    assert stream.answers[-1] == {"batchItemFailures": []}
    assert len(bus.events()) == 1
    bus.send_webhooks()
    assert list(receiver.delivered().values()) == [1]  # the webhook was queued once, the first time
