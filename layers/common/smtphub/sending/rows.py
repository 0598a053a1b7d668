"""The log rows of one e-mail's send: one per recipient per attempt (upstream's LogDTO and the reply that
decided it), their ids ordered by time."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from smtphub.emails.models import Email, LogEntry
from smtphub.sending import delivery
from smtphub.sending.delivery import Attempt


class Rows:
    """The log rows of one e-mail's job: one per recipient per attempt, ids ordered by time."""

    _lock = threading.Lock()
    _sequence = 0

    def __init__(self, email: Email, clock: Callable[[], float]) -> None:
        self.email = email
        self.clock = clock
        self.rows: list[LogEntry] = []

    def row(self, to: str, resultcode: str, smtp_id: str | None, code: int | None, message: str) -> None:
        now = self.clock()
        created = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.rows.append(
            LogEntry(
                id=_row_id(now),
                email_id=self.email.id,
                created=created,
                to=to,
                resultcode=resultcode,
                smtp_id=smtp_id,
                app_id=self.email.app_id,
                code=code,
                message=message or None,
            )
        )

    def all(self, resultcode: str, smtp_id: str | None, code: int | None, message: str) -> None:
        """One row for each recipient of the e-mail."""
        for to in self.email.recipients:
            self.row(to, resultcode, smtp_id, code, message)

    def attempt(self, smtp_id: str, attempt: Attempt, recipients: tuple[str, ...]) -> None:
        refused = {refusal.recipient: refusal for refusal in attempt.refused}
        for to in recipients:
            if to in refused:
                item = refused[to]
                self.row(to, delivery.RECIPIENT_REJECTED, smtp_id, item.code, item.message)
            else:
                self.row(to, attempt.resultcode, smtp_id, attempt.code, attempt.message)


def _row_id(now: float) -> str:
    """24 hex: epoch milliseconds (12), a per-container sequence (4), random (8): sorts by time."""
    with Rows._lock:
        Rows._sequence = (Rows._sequence + 1) % 0x10000
        sequence = Rows._sequence
    return f"{int(now * 1000):012x}{sequence:04x}{secrets.token_hex(4)}"
