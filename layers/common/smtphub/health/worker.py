"""The health queue's consumer: for each message, claim the server, probe it, record the result.

Each probe first takes one of its account's scheduled probes of the day (smtphub.accounts.limits.
ProbeBudget, counted in the accounts table): beyond the budget the server is not probed, and waits for the
next UTC day (its `nextcheck` moved there under the claim's lease: nothing lost, nothing recorded).

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
    from smtphub.accounts.limits import ProbeBudget
    from smtphub.smtps.models import Smtp
    from smtphub.smtps.repository import SmtpRepository


class Prober(Protocol):
    def scheduled(self, smtp: Smtp, lease: int) -> str:
        """Probe `smtp`, held until `lease`, and record the result: what became of it (`recorded`,
        `stale`, `gone`, `unprobeable`)."""


@dataclass(eq=False)
class HealthWorker:
    """Consumes the health queue: claims each server due, probes it within its account's daily budget,
    records the result."""

    smtps: SmtpRepository  # the claim and its release (smtphub.smtps.state)
    checks: Prober
    schedule: Schedule
    budget: ProbeBudget

    def probe(self, message: Due) -> str:
        """Claim, probe and record one server: what became of it (`duplicate` when it was not due,
        `deferred` when its account had all its probes of the day)."""
        now = self.schedule.now()
        lease = self.schedule.lease(now)
        smtp = self.smtps.claim(message.smtp_id, message.due, lease)
        if smtp is None:
            return "duplicate"
        if not self.budget.take(smtp.account_id):
            self.smtps.reschedule(smtp.id, lease, self.schedule.next_day(smtp.id, now))
            logger.info("health probe deferred to the next day", extra={"idsmtp": smtp.id})
            return "deferred"
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
