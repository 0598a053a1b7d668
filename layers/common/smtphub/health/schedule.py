"""When a server is probed next.

- A failing server (a failed check, manual or scheduled) is probed again after the backoff step of its
  rank: the n-th consecutive failure waits `backoff[n - 1]`, the last step for ever after (5 min, 15 min,
  1 h, 6 h, then daily by default). A disabled server stays on that schedule until a probe passes.
- An active server is probed every `interval_hours` (0: never), at a phase of its own within the interval
  (a hash of its id): 10,000 servers are spread evenly over the day, and a server keeps its phase however
  often it is checked by hand. After a check, the next probe is the first slot at least half an interval
  away, so between 0.5 and 1.5 intervals later.
- A manual check's failure disables the server (the contract); scheduled failures disable it at the
  `disable_after`-th in a row.
- A probe holds its server for `lease_seconds` (smtphub.smtps.state.HealthWrites.claim): long enough for one
  probe and its writes, after which a crashed worker's server is due again.
- A probe beyond its account's daily budget (smtphub.accounts.limits.ProbeBudget) waits for the next UTC
  day: early in it, within its first `DEFER_SPREAD` seconds at a phase of the server's own, so that those
  deferred go before the day's own, and no server waits for ever behind others.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smtphub.settings import DEFAULT_BACKOFF

DAY = 86_400
DEFER_SPREAD = 3_600  # the deferred probes of a day are spread over its first hour


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a server is probed next: about every `interval_hours` while it passes (0: no periodic probes),
    the next step of `backoff` after each failure; a scheduled probe disables it at its `disable_after`-th
    failure in a row, a manual check at its first."""

    interval_hours: int = 24
    backoff: tuple[int, ...] = DEFAULT_BACKOFF
    disable_after: int = 3
    lease_seconds: int = 600
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)  # tests move it

    def now(self) -> int:
        """The current time in the schedule's unit (whole seconds since the epoch)."""
        return int(self.clock())

    @property
    def interval(self) -> int:
        return self.interval_hours * 3600

    def phase(self, smtp_id: str) -> int:
        return _hash(smtp_id) % self.interval

    def _slot(self, smtp_id: str, now: int, gap: int) -> int | None:
        """The first time of the server's phase later than `now + gap`; None when probes are off."""
        if self.interval <= 0:
            return None
        slot = now - now % self.interval + self.phase(smtp_id)
        while slot <= now + gap:
            slot += self.interval
        return slot

    def first(self, smtp_id: str, now: int) -> int | None:
        """A new server's first probe: within one interval."""
        return self._slot(smtp_id, now, 0)

    def after_success(self, smtp_id: str, now: int) -> int | None:
        """After a passing check: between half an interval and one and a half from now."""
        return self._slot(smtp_id, now, self.interval // 2)

    def after_failure(self, failures: int, now: int) -> int:
        """After the `failures`-th consecutive failure (1 for the first)."""
        step = self.backoff[min(max(failures, 1), len(self.backoff)) - 1]
        return now + step

    def disables(self, failures: int, *, scheduled: bool) -> bool:
        """Whether the `failures`-th consecutive failure disables the server."""
        return failures >= (self.disable_after if scheduled else 1)

    def lease(self, now: int) -> int:
        return now + self.lease_seconds

    def next_day(self, smtp_id: str, now: int) -> int:
        """A probe over its account's daily budget: in the first hour of the next UTC day."""
        return now - now % DAY + DAY + _hash(smtp_id) % DEFER_SPREAD


def _hash(smtp_id: str) -> int:
    digest = hashlib.sha256(smtp_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")
