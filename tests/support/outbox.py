"""An outbox that remembers what it was told (blacklists' and tracking's notices), or fails."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from smtphub import wiring
from smtphub.apps.models import App


class Recording:
    def __init__(self, fails: bool = False) -> None:
        self.told: list[tuple[str, str, dict[str, str], str | None]] = []
        self.fails = fails

    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        if self.fails:
            raise RuntimeError("EventBridge said no")
        self.told.append((app.id, event, dict(params), key))

    @property
    def events(self) -> list[tuple[str, dict[str, str]]]:
        return [(event, params) for _, event, params, _ in self.told]


@pytest.fixture
def outbox() -> Recording:
    recording = Recording()
    wiring.override("outbox", recording)
    return recording


class Bus:
    """The real outbox's ends in moto: WebhookQueue (WEBHOOK_QUEUE_URL) and a queue that receives every
    `smtp-hub` event of the default EventBridge bus."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import json

        import boto3

        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.webhooks = self.sqs.create_queue(QueueName="test-WebhookQueue")["QueueUrl"]
        self.sink = self.sqs.create_queue(QueueName="test-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.sink, AttributeNames=["QueueArn"])["Attributes"]
        bridge = boto3.client("events", region_name="us-east-1")
        bridge.put_rule(Name="all", EventPattern=json.dumps({"source": ["smtp-hub"]}))
        bridge.put_targets(Rule="all", Targets=[{"Id": "sink", "Arn": arn["QueueArn"]}])
        # Settings are read by their variables' values: the next build of the outbox sees this queue.
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", self.webhooks)

    def take(self, url: str) -> list[dict[str, object]]:
        import json

        found: list[dict[str, object]] = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                found.append(json.loads(message["Body"]))
        return found


@pytest.fixture
def bus(aws: object, monkeypatch: pytest.MonkeyPatch) -> Bus:
    """WEBHOOK_QUEUE_URL set to moto's WebhookQueue, as the template sets it for every event publisher."""
    return Bus(monkeypatch)
