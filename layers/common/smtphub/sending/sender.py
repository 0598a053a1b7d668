"""The send queue's consumer (EmailsSenderFunction): a batch of messages `{idemail, turn}`, sent together.

Per batch: every e-mail is claimed (smtphub.emails.repository `claim`: a stale, duplicate or cancelled
e-mail's message claims nothing and is done), then each claimed e-mail's job (smtphub.sending.job) runs in a
thread of its own, so that the e-mails' network waits (S3, DynamoDB, the SMTP servers) overlap. Each app
and its servers are read once per batch, each server's secret versions once per container (versions are
immutable). Then the verdicts are written: log rows in batches, F and E with their `finishtime`, the
e-mails that must wait back to Q (held in the table, and a delayed message when the wait fits SQS's 15
minutes), the content of every finished e-mail deleted in one call unless the app retains data.

Delivery is at least once: a sender that dies after a server accepted a message leaves its claim to run
out (`LEASE_SECONDS`); the message's redelivery claims it again and sends it again, with the same
Message-ID. A message whose handling raised (an AWS error) is reported as a batch item failure: SQS hands
it again, and after the queue's maxReceiveCount it goes to SendDeadLetterQueue (README, runbook).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from smtphub.emails.models import FAILED, FINISHED, LOG_DAYS, QUEUED, Email
from smtphub.emails.queue import MAX_DELAY, Turn
from smtphub.observability import logger
from smtphub.sending.delivery import Target, target_for
from smtphub.sending.job import Job, Verdict
from smtphub.smtps.secrets import VersionReader, read_secrets

if TYPE_CHECKING:
    from smtphub.apps.models import App
    from smtphub.apps.repository import AppRepository
    from smtphub.emails.content import Attachment, Content, ContentStore
    from smtphub.emails.logs import LogRepository
    from smtphub.emails.queue import SendQueue
    from smtphub.emails.repository import EmailRepository
    from smtphub.sending.attachments import UrlFetcher
    from smtphub.smtps.models import Smtp
    from smtphub.smtps.repository import SmtpRepository

LEASE_SECONDS = 300  # longer than the function's timeout: a live sender's claim never runs out
SAFETY_SECONDS = 120  # a waiting e-mail is held this much past its message's delay, should that be lost


class SecretCache:
    """Secret versions read once per container (a version never changes), shared by the batch's threads."""

    def __init__(self, reader: VersionReader) -> None:
        self.reader = reader
        self._held: dict[tuple[str, str], dict[str, str] | None] = {}
        self._lock = threading.Lock()

    def read(self, smtp_id: str, version_id: str) -> dict[str, str] | None:
        key = (smtp_id, version_id)
        with self._lock:
            if key in self._held:
                return self._held[key]
        value = self.reader.read(smtp_id, version_id)
        with self._lock:
            self._held[key] = value
        return value


class _BatchSources:
    """A batch's reads for its jobs (smtphub.sending.job.Sources): each app and its servers once."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self._apps: dict[str, tuple[App | None, list[Smtp]]] = {}
        self._lock = threading.Lock()

    def content(self, email: Email) -> Content:
        return self.sender.content.get(email.contentkey)

    def fetch(self, urls: list[str]) -> list[Attachment]:
        return self.sender.fetcher.fetch_all(urls)

    def app(self, email: Email) -> tuple[App | None, list[Smtp]]:
        with self._lock:  # one read per app per batch, the other e-mails of the app waiting for it
            if email.app_id not in self._apps:
                app = self.sender.apps.get(email.account_id, email.app_id)
                smtps = self.sender.smtps.list_by_app(email.account_id, email.app_id) if app else []
                self._apps[email.app_id] = (app, smtps)
            return self._apps[email.app_id]

    def target(self, smtp: Smtp) -> Target:
        return target_for(smtp, read_secrets(self.sender.secrets, smtp))


@dataclass(eq=False)
class Sender:
    emails: EmailRepository
    logs: LogRepository
    content: ContentStore
    queue: SendQueue
    apps: AppRepository
    smtps: SmtpRepository
    secrets: SecretCache
    fetcher: UrlFetcher
    job: Callable[[_BatchSources], Job]  # a job's engine, on the batch's reads
    clock: Callable[[], float] = field(default=time.time)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """An SQS event: the partial batch response (the messages whose handling raised)."""
        records = [SQSRecord(record) for record in event.get("Records", [])]
        failed = self.send(records)

        def record_handler(record: SQSRecord) -> None:
            if record.message_id in failed:
                raise RuntimeError(
                    f"the send of message {record.message_id} failed: {failed[record.message_id]}"
                )

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor))

    def send(self, records: list[SQSRecord]) -> dict[str, str]:
        """Send the batch; the messages whose handling raised, each with the error's type."""
        failed: dict[str, str] = {}
        sources = _BatchSources(self)
        engine = self.job(sources)
        with ThreadPoolExecutor(max_workers=max(len(records), 1), thread_name_prefix="sender") as pool:
            runs = {record.message_id: pool.submit(self._one, record, engine) for record in records}
        verdicts: list[Verdict] = []
        for message_id, run in runs.items():
            try:
                verdict = run.result()
            except Exception as error:  # its trace logged; SQS hands the message again
                logger.exception("send failed", extra={"messageId": message_id})
                failed[message_id] = type(error).__name__
                continue
            if verdict is not None:
                verdicts.append(verdict)
        self._write(verdicts)
        return failed

    def _one(self, record: SQSRecord, engine: Job) -> Verdict | None:
        turn = Turn.parse(record.body)
        now = int(self.clock())
        email = self.emails.claim(turn.email_id, turn.turn, now, now + LEASE_SECONDS)
        if email is None:
            logger.info("send message stale", extra={"idemail": turn.email_id, "turn": turn.turn})
            return None
        return engine.run(email)

    def _write(self, verdicts: list[Verdict]) -> None:
        """Log rows, then each e-mail's new state, then the finished e-mails' content."""
        expires = {
            v.email.id: self._expiry(v)[1] if v.status != QUEUED else v.email.expires for v in verdicts
        }
        rows = [row for verdict in verdicts for row in verdict.rows]
        if rows:
            self.logs.add(rows, expires)
        done: list[str] = []
        turns: list[Turn] = []
        for verdict in verdicts:
            if verdict.status == QUEUED:
                turns.extend(self._requeue(verdict))
            elif self._finish(verdict) and not verdict.email.retaindata:
                done.append(verdict.email.contentkey)
        if turns:
            self.queue.send(turns)
        if done and (left := self.content.delete(done)):
            logger.warning(
                "content not deleted (the bucket's lifecycle rule will)", extra={"count": len(left)}
            )
        _metrics(verdicts)

    def _expiry(self, verdict: Verdict) -> tuple[str, int]:
        """logsdeleledby and expires of a finished e-mail: LOG_DAYS after now."""
        at = datetime.fromtimestamp(self.clock(), UTC) + timedelta(days=LOG_DAYS)
        return _iso(at), int(at.timestamp())

    def _finish(self, verdict: Verdict) -> bool:
        now = datetime.fromtimestamp(self.clock(), UTC)
        by, expires = self._expiry(verdict)
        attempts = verdict.email.attempts + (1 if verdict.attempt else 0)
        changes: dict[str, Any] = {
            "status": verdict.status,
            "finishtime": _iso(now),
            "modified": _iso(now),
            "logsdeleledby": by,
            "expires": expires,
            "attempts": attempts,
            "paceslot": None,
            **_recipients(verdict),
        }
        finished = self.emails.finish(verdict.email, changes)
        if not finished:
            logger.warning("e-mail no longer held at finish", extra={"idemail": verdict.email.id})
        return finished

    def _requeue(self, verdict: Verdict) -> list[Turn]:
        """Back to Q until `wake`: held in the table, and a delayed message when SQS can wait that long."""
        email, now = verdict.email, self.clock()
        delay = max(0, round((verdict.wake or now) - now))
        wake_at = int(now) + delay + (SAFETY_SECONDS if delay <= MAX_DELAY else 0)
        changes: dict[str, Any] = {
            "attempts": email.attempts + (1 if verdict.attempt else 0),
            "paceslot": verdict.paceslot,
            "modified": _iso(datetime.fromtimestamp(now, UTC)),
            **_recipients(verdict),
        }
        turn = self.emails.requeue(email, changes, wake_at)
        if turn is None or delay > MAX_DELAY:
            return []
        return [Turn(email.id, turn, delay)]


def _recipients(verdict: Verdict) -> dict[str, list[str]]:
    """The e-mail's lists this round added to: who accepted it (`sentto`), who was listed
    (`autoblacklisted`)."""
    email, changes = verdict.email, dict[str, list[str]]()
    if verdict.sentto:
        changes["sentto"] = [*email.sentto, *verdict.sentto]
    if verdict.autoblacklisted:
        changes["autoblacklisted"] = [*email.autoblacklisted, *verdict.autoblacklisted]
    return changes


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _metrics(verdicts: list[Verdict]) -> None:
    """EmailsSent, EmailsFailed, EmailsRetried (a failed round), ServerFaults by stage."""
    counts = {
        "EmailsSent": sum(v.status == FINISHED for v in verdicts),
        "EmailsFailed": sum(v.status == FAILED for v in verdicts),
        "EmailsRetried": sum(v.status == QUEUED and v.attempt for v in verdicts),
    }
    faults: dict[str, int] = {}
    for verdict in verdicts:
        for stage, count in verdict.faults.items():
            faults[stage] = faults.get(stage, 0) + count
    logger.info("sent", extra={**counts, "faults": faults})
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

        for name, value in counts.items():
            if value:
                with single_metric(name=name, unit=MetricUnit.Count, value=value):
                    pass
        for stage, value in faults.items():
            with single_metric(name="ServerFaults", unit=MetricUnit.Count, value=value) as metric:
                metric.add_dimension(name="stage", value=stage)
    except Exception:  # a metric never fails a batch
        logger.warning("could not emit the sender's metrics", exc_info=True)
