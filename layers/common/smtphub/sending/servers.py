"""Each server's fault state as every sender shares it (the writes: smtphub.smtps.faults).

A server fault (smtphub.sending.delivery SERVER_FAULT) puts the server in cool-down: every sender passes it
over until `cooldown`, which grows with the consecutive faults (`COOLDOWN_SECONDS` doubling, at most
`COOLDOWN_MAX`). One fault is counted per cool-down, however many senders saw it. After `disable_after`
faults in a row the server becomes D with its `nextcheck` due at once: the health schedule probes it and
re-enables it when the probe passes; the change is announced as a check's is (smtphub.health.alerts). A
delivered message clears the state (a write only when there was some).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smtphub.health.alerts import Alerts
from smtphub.health.history import HistoryEntry
from smtphub.ids import now_iso
from smtphub.sending.delivery import Attempt
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp
from smtphub.smtps.repository import SmtpRepository
from smtphub.smtps.results import CheckResult

COOLDOWN_SECONDS = 30
COOLDOWN_MAX = 900
TRIGGER = "sending"  # the disabling entry's trigger in the event's detail


def cooldown_seconds(faults: int) -> int:
    """The cool-down after the `faults`-th fault in a row (1 for the first)."""
    return int(min(COOLDOWN_SECONDS * 2 ** max(faults - 1, 0), COOLDOWN_MAX))


@dataclass(eq=False)
class ServerState:
    smtps: SmtpRepository
    alerts: Alerts
    disable_after: int
    clock: Callable[[], float] = field(default=time.time)

    def usable(self, smtp: Smtp) -> bool:
        """Not cooling down (as the record read this batch says)."""
        return smtp.cooldown is None or smtp.cooldown <= self.clock()

    def fault(self, smtp: Smtp, attempt: Attempt) -> None:
        """Count a fault of `smtp` (once per cool-down), disabling it after `disable_after` in a row."""
        now = int(self.clock())
        faults = smtp.faults + 1
        after = self.smtps.record_fault(smtp.id, now=now, cooldown_until=now + cooldown_seconds(faults))
        if after is None:
            return  # another sender counted this outage
        if after.faults < self.disable_after:
            return
        disabled = self.smtps.disable_for_faults(smtp.id, faults=after.faults, nextcheck=now)
        if disabled is None:
            return
        result = CheckResult(
            at=now_iso(), ok=False, stage=attempt.stage, code=attempt.code, message=attempt.message
        )
        entry = HistoryEntry(result=result, trigger=TRIGGER, status=STATUS_DISABLED)
        self.alerts.after(disabled, entry, STATUS_ACTIVE, None)  # logs the line SmtpServersDisabled counts

    def success(self, smtp: Smtp) -> None:
        """A delivered message ends the run of faults (written only when the record had one)."""
        if smtp.faults or smtp.cooldown is not None:
            self.smtps.clear_faults(smtp.id)
