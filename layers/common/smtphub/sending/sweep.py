"""The sending sweep (EmailsSweepFunction, every minute): the e-mails held in the table whose time comes
within the next minute go to the send queue, each delayed to its own time, then leave the index.

Held e-mails are those waiting longer than SQS can delay a message (a far `senddate`, a long backoff), and
every new or waiting e-mail for a short while as a safety net (a request or a sender that died before its
message was sent). One Query of the sparse index byWake, page after page; SendMessageBatch of 10; then
`unhold`, conditional on the turn read, so an e-mail claimed meanwhile is left alone. A message sent for an
e-mail that is then claimed through another message is stale and claims nothing: the sweep is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smtphub.emails.queue import SendQueue, Turn
from smtphub.emails.repository import EmailRepository
from smtphub.observability import logger

AHEAD = 60  # seconds: what is due within the next run's interval goes now, delayed to its time


@dataclass(eq=False)
class SendSweep:
    emails: EmailRepository
    queue: SendQueue
    clock: Callable[[], float] = field(default=time.time)

    def run(self) -> dict[str, int]:
        """Enqueue what is due; the counts (also logged)."""
        now = int(self.clock())
        due = list(self.emails.due(now + AHEAD))
        self.queue.send([Turn(email_id, turn, max(0, wake - now)) for email_id, turn, wake in due])
        unheld = sum(self.emails.unhold(email_id, turn) for email_id, turn, _wake in due)
        counts = {"enqueued": len(due), "unheld": unheld}
        logger.info("sending sweep", extra=counts)
        return counts
