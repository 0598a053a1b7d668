"""The health queue's consumer: for each message, claim the server, probe it, record the result.

Powertools' BatchProcessor answers `batchItemFailures` with the messages that raised (an AWS error, a
malformed message): SQS hands them again after the visibility timeout, up to the queue's maxReceiveCount,
then moves them to the dead-letter queue (its alarm fires). A server's own failure is a result, not an
error. Redelivery is harmless: the claim (smtphub.smtps.state) lets one delivery probe and record.

The probe is the check's (smtphub.check.service.CheckService.scheduled), handed in by the composition
root: the check records its results here, so health never imports it (`Prober`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from smtphub.health.schedule import Schedule
from smtphub.health.sweep import Due
from smtphub.observability import logger

if TYPE_CHECKING:
    from smtphub.smtps.models import Smtp
    from smtphub.smtps.repository import SmtpRepository


class Prober(Protocol):
    def scheduled(self, smtp: Smtp, lease: int) -> str:
        """Probe `smtp`, held until `lease`, and record the result: what became of it (`recorded`,
        `stale`, `gone`, `unprobeable`)."""


@dataclass(eq=False)
class HealthWorker:
    """Consumes the health queue: claims each server due, probes it, records the result."""

    smtps: SmtpRepository  # the claim and its release (smtphub.smtps.state)
    checks: Prober
    schedule: Schedule

    def probe(self, message: Due) -> str:
        """Claim, probe and record one server: what became of it (`duplicate` when it was not due)."""
        now = self.schedule.now()
        lease = self.schedule.lease(now)
        smtp = self.smtps.claim(message.smtp_id, message.due, lease)
        if smtp is None:
            return "duplicate"
        done = self.checks.scheduled(smtp, lease)
        if done == "unprobeable":  # no testemail or From address: try again at the next slot
            later = self.schedule.after_success(smtp.id, now) or self.schedule.after_failure(99, now)
            self.smtps.reschedule(smtp.id, lease, later)
        return done

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """An SQS event: the partial batch response."""
        tally: Counter[str] = Counter()

        def record_handler(record: SQSRecord) -> None:
            try:
                tally[self.probe(Due.parse(record.body))] += 1
            except Exception:  # counted, its trace logged, re-raised: the batch reports the record
                tally["failed"] += 1
                logger.exception("health probe failed", extra={"messageId": record.message_id})
                raise

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        response = process_partial_response(event=event, record_handler=record_handler, processor=processor)
        logger.info("health probes", extra=dict(tally))
        return dict(response)
