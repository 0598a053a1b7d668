"""The send queue: SQS messages that name an e-mail and its turn, nothing else (no address, no content).

A message may wait up to `MAX_DELAY` (SQS's 15 minutes) before it is delivered; an e-mail that must wait
longer is held in the table (smtphub.emails.repository `requeue`/`create` with a wake time) and the sweep
sends its message when it is due. Messages go in batches of 10 (SendMessageBatch), what SQS refuses is
sent again, then the call raises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smtphub.aws import LazyClient

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY = 900  # seconds: SQS's longest DelaySeconds
BATCH = 10  # SendMessageBatch's limit
TRIES = 3


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: send e-mail `email_id` for its turn `turn`, not before `delay` seconds from now."""

    email_id: str
    turn: int
    delay: int = 0

    def body(self) -> str:
        return json.dumps({"idemail": self.email_id, "turn": self.turn}, separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> Turn:
        data = json.loads(body)
        email_id, turn = data.get("idemail"), data.get("turn")
        if not isinstance(email_id, str) or not isinstance(turn, int) or isinstance(turn, bool):
            raise ValueError("a send message is {idemail: str, turn: int}")
        return cls(email_id, turn)


class SendQueue(LazyClient["SQSClient"]):
    def __init__(self, client: Callable[[], SQSClient], url: str) -> None:
        super().__init__(client)
        self.url = url

    def send(self, turns: Sequence[Turn]) -> None:
        """Every message, in batches of 10; each delayed by its own `delay` (at most MAX_DELAY)."""
        for start in range(0, len(turns), BATCH):
            self._batch(turns[start : start + BATCH])

    def _batch(self, turns: Sequence[Turn]) -> None:
        entries: list[Any] = [
            {"Id": str(n), "MessageBody": turn.body(), "DelaySeconds": min(max(turn.delay, 0), MAX_DELAY)}
            for n, turn in enumerate(turns)
        ]
        for attempt in range(TRIES):
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed = {entry["Id"] for entry in answer.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
            time.sleep(0.1 * 2**attempt)
        raise RuntimeError(f"SQS refused {len(entries)} send messages after retries")
