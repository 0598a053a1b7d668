"""The scheduled path in moto, as the template wires it: the sweep's handler (events/health_sweep.json), the
health queue (moto's SQS) delivered to the worker's handler as its event source mapping would (batches of
10, partial failures left on the queue), and every event the functions put on the default bus, caught by
a rule into a queue. A fake clock stands in for time (`wiring.override("clock", ...)`), so backoffs of
seconds pass without waiting; SMTP peers that fail and recover at will."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local_runtime.health_events import sqs_event, sqs_record
from smtphub import wiring
from tests.support.lambdas import LambdaContext, call, load_event
from tests.support.smtp_peers import Server, Sink, running_smtpd

START = 1_795_514_400  # 2026-11-24T10:00:00Z


class Clock:
    """The health schedule's wall clock, moved by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FlakySink(Sink):
    """A peer that refuses every recipient (451, then 550 ...) while `failing`, and works otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.rcpts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.failing:
            return "550 5.7.1 Relaying temporarily refused"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@dataclass
class Health:
    """The scheduled path's AWS side in moto, and what it saw."""

    sqs: Any
    queue_url: str
    alerts_url: str
    clock: Clock
    answers: list[dict[str, Any]] = field(default_factory=list)

    def sweep(self) -> dict[str, int]:
        result = call_handler("health_sweep", load_event("health_sweep"))
        return dict(result)

    def deliver(self, *, times: int = 1) -> list[dict[str, Any]]:
        """Hand what the queue holds to the worker, 10 at a time, as the event source mapping does (each
        message `times` times in its batch: a redelivery); the answers. Failures stay on the queue."""
        answers = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            if not messages:
                return answers
            records = [
                sqs_record(m["Body"], f"{m['MessageId']}-{n}", int(self.clock.now * 1000))
                for m in messages
                for n in range(times)
            ]
            answer = call_handler("health_worker", sqs_event(records))
            answers.append(answer)
            failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
            for message in messages:
                if not any(f"{message['MessageId']}-{n}" in failed for n in range(times)):
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if failed:
                return answers

    def send_raw(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def events(self) -> list[dict[str, Any]]:
        """Every event put on the default bus since the last call (detail-type and detail)."""
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.alerts_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                found.append({"type": envelope["detail-type"], **envelope["detail"]})
                self.sqs.delete_message(QueueUrl=self.alerts_url, ReceiptHandle=message["ReceiptHandle"])


def call_handler(function: str, event: dict[str, Any]) -> Any:
    from local_runtime.loader import load_handler
    from tests.support.lambdas import code_uri

    return load_handler(code_uri(function))(event, LambdaContext())


@pytest.fixture
def health(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Health:
    """moto's health queue and an alerts catcher; the local runtime's short backoff; a fake clock."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="test-health")["QueueUrl"]
    alerts_url = sqs.create_queue(QueueName="test-alerts")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="smtp-hub-alerts", EventPattern=json.dumps({"source": ["smtp-hub"]}))
    events.put_targets(Rule="smtp-hub-alerts", Targets=[{"Id": "catch", "Arn": alerts_arn}])
    for name, value in {
        "HEALTH_QUEUE_URL": queue_url,
        "HEALTH_BACKOFF_SECONDS": "10,30,60,300",
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "CHECK_DEADLINE_SECONDS": "2",
        "CHECKS_PER_MINUTE": "1000",
    }.items():
        monkeypatch.setenv(name, value)
    clock = Clock()
    wiring.reset()
    wiring.override("clock", clock)
    return Health(sqs, queue_url, alerts_url, clock)


@pytest.fixture
def flaky() -> Iterator[Server]:
    with running_smtpd(FlakySink()) as server:
        yield server


def create_server(port: int, **values: Any) -> str:
    app = call("apps_save", {"name": f"Shop {port}", "testemail": "ops@example.org"})
    assert app.status == 200, app.text
    params = {
        "idapp": app.json["_id"],
        "host": "127.0.0.1",
        "port": port,
        "defaultfromemail": "i@example.net",
    }
    reply = call("smtps_save", {**params, **values})
    assert reply.status == 200, reply.text
    return str(reply.json["_id"])


def server_json(idsmtp: str) -> dict[str, Any]:
    reply = call("smtps_find_by_id", {"idsmtp": idsmtp})
    assert reply.status == 200, reply.text
    return dict(reply.json)


def history(idsmtp: str, **params: Any) -> list[dict[str, Any]]:
    reply = call("smtps_history", {"idsmtp": idsmtp, **params})
    assert reply.status == 200, reply.text
    return list(reply.json)
