"""Ids and timestamps shaped like upstream's (MongoDB ObjectIds, ISO-8601 with milliseconds)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime


def new_id() -> str:
    """24 lowercase hex characters: 4 bytes of Unix time, then 8 random bytes (sorts by creation)."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def now_iso() -> str:
    """The current UTC time as the contract writes it: 2026-11-23T10:00:00.000Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_of(seconds: float) -> str:
    """An epoch time as the contract writes it (UTC, milliseconds, Z)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
