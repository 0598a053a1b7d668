"""One check's result, stored: the server's record, its history entry, its alerts.

The record is the one conditional write that decides (smtphub.smtps.state, `record_check`): the status
and counters, the next scheduled probe, the result's number. The history entry and the alerts follow it,
best effort: a failure there is logged, and the result stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtphub.health.alerts import Alerts
from smtphub.health.history import HistoryEntry, HistoryRepository
from smtphub.health.schedule import Schedule
from smtphub.observability import logger
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp
from smtphub.smtps.repository import SmtpRepository
from smtphub.smtps.results import CheckResult

MANUAL = "manual"
SCHEDULED = "scheduled"


@dataclass(eq=False)
class Recorder:
    """Stores a check's result, manual or scheduled: the server's outcome, its history, its alerts."""

    smtps: SmtpRepository
    history: HistoryRepository
    alerts: Alerts
    schedule: Schedule

    def record(
        self, smtp: Smtp, result: CheckResult, *, trigger: str, lease: int | None = None
    ) -> HistoryEntry:
        """Store the result of a check of `smtp` (as it was read); the history entry. SmtpNotFound or
        Conflict, with nothing written, when the server went or changed (or the lease was lost)."""
        now = self.schedule.now()
        failures = 0 if result.ok else smtp.numerrors + 1
        disable = not result.ok and self.schedule.disables(failures, scheduled=trigger == SCHEDULED)
        if result.ok:
            nextcheck = self.schedule.after_success(smtp.id, now)
            status = STATUS_ACTIVE
        else:
            nextcheck = self.schedule.after_failure(failures, now)
            status = STATUS_DISABLED if disable else smtp.status
        recorded = self.smtps.record_check(smtp, result, disable=disable, nextcheck=nextcheck, lease=lease)
        entry = HistoryEntry(result, trigger, status)
        try:
            self.history.add(smtp.id, recorded.seq, entry, now)
        except Exception:  # best effort: the result is stored; logged with its trace
            logger.exception("could not add a check to the history", extra={"idsmtp": smtp.id})
        try:
            self.alerts.after(smtp, entry, recorded.previous_status, recorded.previous_lastcheck)
        except Exception:  # best effort: the result is stored; logged with its trace
            logger.exception("could not publish a check's alerts", extra={"idsmtp": smtp.id})
        return entry
