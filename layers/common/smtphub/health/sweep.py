"""The scheduled sweep: every server due, to the health queue, in batches of 10.

Two Queries of the sparse index `byNextCheck` (disabled servers; active ones unless HEALTH_INTERVAL_HOURS
is 0), keys only, page after page; SendMessageBatch of 10 messages `{"idsmtp", "due"}` (`due`: the
server's nextcheck as read). It writes nothing else: a server the worker has not claimed yet is found again
by the next sweep, and the worker's claim (conditional on `due`) makes the second message a no-op. So the
sweep is idempotent, and so is the worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smtphub.aws import LazyClient
from smtphub.health.schedule import Schedule
from smtphub.observability import logger
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from smtphub.smtps.repository import SmtpRepository

BATCH = 10  # SendMessageBatch's limit


@dataclass(frozen=True, slots=True)
class Due:
    """One server to probe: the message the sweep sends and the worker reads."""

    smtp_id: str
    due: int

    def body(self) -> str:
        return json.dumps({"idsmtp": self.smtp_id, "due": self.due}, separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> Due:
        data = json.loads(body)
        smtp_id, due = data["idsmtp"], data["due"]
        if not isinstance(smtp_id, str) or not isinstance(due, int) or isinstance(due, bool):
            raise ValueError("a health message is {idsmtp: str, due: int}")
        return cls(smtp_id, due)


class HealthQueue(LazyClient["SQSClient"]):
    def __init__(self, client: Callable[[], SQSClient], url: str) -> None:
        super().__init__(client)
        self.url = url
        self.batches = 0  # SendMessageBatch calls (make bench)

    def send(self, batch: list[Due]) -> None:
        """Up to 10 messages in one call; the entries SQS failed are sent again (3 tries), then it raises."""
        entries: list[Any] = [{"Id": str(n), "MessageBody": due.body()} for n, due in enumerate(batch)]
        for attempt in range(3):
            self.batches += 1
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed = {entry["Id"] for entry in answer.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
            time.sleep(0.1 * 2**attempt)
        raise RuntimeError(f"SQS refused {len(entries)} health messages after retries")


@dataclass(eq=False)
class Sweep:
    """The scheduled sweep: every server due now onto the health queue (disabled ones always, for their
    retries; active ones when periodic re-checks are on)."""

    smtps: SmtpRepository  # its index byNextCheck (smtphub.smtps.state)
    queue: HealthQueue
    schedule: Schedule

    def run(self) -> dict[str, int]:
        """Send every server due now; the counts (also logged)."""
        now = self.schedule.now()
        statuses = [STATUS_DISABLED] + ([STATUS_ACTIVE] if self.schedule.interval_hours else [])
        counts = dict.fromkeys(statuses, 0)
        batch: list[Due] = []
        pages, batches = self.smtps.pages, self.queue.batches
        for status in statuses:
            for smtp_id, due in self.smtps.due(status, now):
                counts[status] += 1
                batch.append(Due(smtp_id, due))
                if len(batch) == BATCH:
                    self.queue.send(batch)
                    batch = []
        if batch:
            self.queue.send(batch)
        result = {
            "disabled": counts[STATUS_DISABLED],
            "active": counts.get(STATUS_ACTIVE, 0),
            "pages": self.smtps.pages - pages,
            "batches": self.queue.batches - batches,
        }
        logger.info("health sweep", extra=result)
        return result
