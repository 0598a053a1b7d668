"""WebhookQueue (and its dead-letter queue): deliveries in, by SendMessageBatch, each with its own delay.

SQS delays a message by 15 minutes at most (`MAX_DELAY`); a delivery due later is sent with that delay and
sent on again when it comes back early (smtphub.webhooks.sender). Entries SQS refuses are sent again, twice;
what it still refuses is returned to the caller, who decides (a stream record retried, a queue message left
for its redelivery).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from smtphub.aws import LazyClient
from smtphub.webhooks.delivery import Delivery

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY = 900  # seconds: SQS's longest DelaySeconds
_BATCH = 10  # SendMessageBatch's limit
_TRIES = 3


class DeliveryQueue(LazyClient["SQSClient"]):
    def __init__(self, client: Callable[[], SQSClient], url: str) -> None:
        super().__init__(client)
        self.url = url

    def send(self, deliveries: Sequence[tuple[Delivery, int]]) -> list[Delivery]:
        """Each delivery delayed by its seconds (at most MAX_DELAY); those SQS would not take."""
        refused: list[Delivery] = []
        for start in range(0, len(deliveries), _BATCH):
            refused += self._batch(deliveries[start : start + _BATCH])
        return refused

    def _batch(self, deliveries: Sequence[tuple[Delivery, int]]) -> list[Delivery]:
        pending: dict[str, Any] = {
            str(n): {"Id": str(n), "MessageBody": d.body(), "DelaySeconds": min(max(delay, 0), MAX_DELAY)}
            for n, (d, delay) in enumerate(deliveries)
        }
        for attempt in range(_TRIES):
            if attempt:
                time.sleep(0.1 * 2**attempt)
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=list(pending.values()))
            pending = {e["Id"]: pending[e["Id"]] for e in answer.get("Failed", []) if e["Id"] in pending}
            if not pending:
                return []
        return [deliveries[int(n)][0] for n in pending]
