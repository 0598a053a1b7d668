"""How long a check may take: per-step caps (`Limits`) under one deadline for the whole check."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of one check. Each wait is also cut to what is left of `total`."""

    total: float = 20.0
    dns: float = 5.0  # the lookup
    connect: float = 5.0  # each TCP connect (one per address tried)
    reply: float = 10.0  # each complete reply, however it trickles in
    max_line: int = 2048  # bytes in one reply line (RFC 5321 allows 512)
    max_reply_lines: int = 100

    @classmethod
    def within(cls, total: float) -> Limits:
        return cls(total=total, dns=min(5.0, total), connect=min(5.0, total), reply=min(10.0, total))


class Deadline:
    """The end of the whole check (or of what `name` says: "delivery"), on the monotonic clock, fixed when
    it is created."""

    def __init__(self, seconds: float, name: str = "check") -> None:
        self.seconds = seconds
        self.name = name
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.start) * 1000)
